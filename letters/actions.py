"""Producing letters "who looked at me" and information sheets; each one audited."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction

from accounts.models import Tenant
from audit.models import AuditAction
from audit.records import record
from letters.content import month_letters
from letters.information import information_sheet_pdf
from letters.models import BatchState, LetterBatch
from letters.pdf import PersonPDF, letters_pdf, write_letter
from nattillsyn import clock
from people.models import Person

# Persons read and written per round of a batch: five queries a round, and the page's
# progress moves every round.
BATCH_CHUNK = 500


@transaction.atomic
def produce_letter(person: Person, *, actor: Any, month: date) -> bytes:
    """The letter for one person and month, on request (the person or their representative asked)."""
    letter = month_letters(person.tenant, month, [person.id])[0]
    pdf = letters_pdf([letter], created=clock.now())
    record(
        actor=actor,
        action=AuditAction.LETTER_PRODUCED,
        tenant=person.tenant_id,
        person=person,
        detail={"month": f"{month:%Y-%m}", "views": len(letter.views), "batch": None},
    )
    return pdf


@transaction.atomic
def request_batch(tenant: Tenant, *, actor: Any, month: date) -> LetterBatch:
    """A month's letters for everyone of the municipality, made by ``produce_letters``."""
    batch = LetterBatch.objects.create(
        tenant=tenant,
        month=month.replace(day=1),
        requested_by=actor,
        requested_at=clock.now(),
        total=Person.objects.filter(tenant=tenant).count(),
    )
    record(
        actor=actor,
        action=AuditAction.LETTER_PRODUCED,
        tenant=tenant,
        obj=batch,
        detail={"month": f"{month:%Y-%m}", "batch": batch.id, "requested": batch.total},
    )
    return batch


def claim_batch() -> LetterBatch | None:
    """The oldest waiting batch, taken by a conditional update so two runs never make the same one."""
    for batch_id in (
        LetterBatch.objects.filter(state=BatchState.QUEUED).order_by("requested_at").values_list("id", flat=True)
    ):
        if LetterBatch.objects.filter(id=batch_id, state=BatchState.QUEUED).update(
            state=BatchState.RUNNING, started_at=clock.now()
        ):
            return LetterBatch.objects.select_related("tenant", "requested_by").get(id=batch_id)
    return None


def run_batch(batch: LetterBatch) -> LetterBatch:
    """Make every letter of the batch into one PDF for printing (each letter from a new
    page), a chunk of persons at a time; each person's letter is audited on their log."""
    tenant = batch.tenant
    person_ids = list(Person.objects.filter(tenant=tenant).order_by("name", "id").values_list("id", flat=True))
    LetterBatch.objects.filter(id=batch.id).update(total=len(person_ids), done=0)
    created = clock.now()
    try:
        with _swedish():
            pdf = PersonPDF()
            for offset in range(0, len(person_ids), BATCH_CHUNK):
                chunk = person_ids[offset : offset + BATCH_CHUNK]
                letters = month_letters(tenant, batch.month, chunk)
                for letter in letters:
                    write_letter(pdf, letter, created=created)
                with transaction.atomic():
                    for letter in letters:
                        record(
                            actor=batch.requested_by,
                            action=AuditAction.LETTER_PRODUCED,
                            tenant=tenant,
                            person=letter.person_id,
                            obj=batch,
                            detail={"month": f"{batch.month:%Y-%m}", "views": len(letter.views), "batch": batch.id},
                        )
                    LetterBatch.objects.filter(id=batch.id).update(done=offset + len(chunk))
            directory = settings.LETTERS_DIR / str(tenant.id)
            directory.mkdir(parents=True, exist_ok=True)
            file_name = f"{tenant.id}/letters-{batch.month:%Y-%m}-{batch.id}.pdf"
            pdf.output(str(settings.LETTERS_DIR / file_name))
    except Exception as exc:
        LetterBatch.objects.filter(id=batch.id).update(
            state=BatchState.FAILED, finished_at=clock.now(), error=str(exc)[:300]
        )
        raise
    LetterBatch.objects.filter(id=batch.id).update(state=BatchState.DONE, finished_at=clock.now(), file_name=file_name)
    batch.refresh_from_db()
    return batch


def _swedish() -> Any:
    from django.utils import translation

    return translation.override("sv")


@transaction.atomic
def produce_information_sheet(person: Person, *, actor: Any) -> bytes:
    """The information sheet from the person's agreement, to print and hand over."""
    sheet = information_sheet_pdf(person)
    agreement = getattr(person, "agreement", None)
    record(
        actor=actor,
        action=AuditAction.INFORMATION_SHEET_PRODUCED,
        tenant=person.tenant_id,
        person=person,
        detail={"agreement_updated_at": agreement.updated_at.isoformat() if agreement is not None else None},
    )
    return sheet


@transaction.atomic
def record_batch_download(batch: LetterBatch, *, actor: Any) -> None:
    """The printed file holds every person's log for the month: who took it is logged."""
    record(
        actor=actor,
        action=AuditAction.AUDIT_LOG_READ,
        tenant=batch.tenant_id,
        obj=batch,
        detail={"extract": "letters", "month": f"{batch.month:%Y-%m}", "letters": batch.done},
    )
