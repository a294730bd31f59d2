"""Log review: a random sample to review (the review recorded and audited), and flags
for accesses that look unusual."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from accounts.models import Role
from audit.models import AccessReview, AuditAction, AuditEntry
from audit.records import record
from audit.review import sample_accesses, unusual_accesses
from nattillsyn import clock
from nattillsyn.clock import FakeClock
from nattillsyn.testing import TEST_PERSONNUMMER, Municipality, at_stockholm, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def views(home: Municipality, fake_clock: FakeClock) -> list[AuditEntry]:
    """Twenty camera views by the operator, of four persons, one of them 200 s long."""
    fake_clock.set(at_stockholm(2026, 11, 23, 23, 0))
    persons = [make_person(home, f"P{n}", personnummer=TEST_PERSONNUMMER[n]) for n in range(4)]
    operator = home.user(Role.OPERATOR)
    entries = []
    for n in range(20):
        entries.append(
            record(
                actor=operator,
                action=AuditAction.CAMERA_VIEW,
                tenant=home.tenant,
                person=persons[n % 4],
                duration_s=200.0 if n == 7 else 25.0,
                at=clock.now() + timedelta(minutes=n * 15),
            )
        )
    return entries


def test_a_sample_is_random_reproducible_and_within_the_period(home: Municipality, views: list[AuditEntry]) -> None:
    start, end = at_stockholm(2026, 11, 23, 0, 0), at_stockholm(2026, 11, 25, 0, 0)
    first = sample_accesses({home.tenant.id}, start, end, 5, seed=7)
    assert len(first) == 5 and {entry.id for entry in first} <= {entry.id for entry in views}
    assert [e.id for e in sample_accesses({home.tenant.id}, start, end, 5, seed=7)] == [e.id for e in first]
    assert (
        sample_accesses({home.tenant.id}, start, end, 50, seed=1)
        and len(sample_accesses({home.tenant.id}, start, end, 50, seed=1)) == 20
    )
    assert sample_accesses({home.tenant.id + 1000}, start, end, 5, seed=7) == []  # another municipality's


def test_the_auditor_reviews_a_sampled_access(client: Client, home: Municipality, views: list[AuditEntry]) -> None:
    client.force_login(home.user(Role.AUDITOR))
    drawn = client.get("/audit/review/")
    assert drawn.status_code == 302 and "seed=" in drawn["Location"]  # the sample has a URL of its own
    page = client.get("/audit/review/", {"date_from": "2026-11-23", "date_to": "2026-11-24", "count": 3, "seed": 5})
    assert page.content.decode().count('data-testid="sampled"') == 3
    entry = views[0]
    back = "/audit/review/?date_from=2026-11-23&date_to=2026-11-24&count=3&seed=5"
    response = client.post(
        f"/audit/review/entries/{entry.id}/", {"verdict": "follow_up", "note": "Ingen kontroll då", "next": back}
    )
    assert response.status_code == 302 and response["Location"] == back
    review = AccessReview.objects.get(entry=entry)
    assert review.verdict == "follow_up" and review.reviewer == home.user(Role.AUDITOR)
    assert AuditEntry.objects.filter(action=AuditAction.ACCESS_REVIEWED, detail__entry=entry.id).exists()
    assert client.post(f"/audit/review/entries/{entry.id}/", {"next": "https://evil.example/"}).status_code == 302
    assert AccessReview.objects.count() == 1  # no verdict: nothing recorded, and no open redirect
    assert (
        client.post(f"/audit/review/entries/{entry.id}/", {"next": "https://evil.example/"})["Location"]
        == "/audit/review/"
    )


def test_only_the_municipalitys_auditor_reviews(
    client: Client, home: Municipality, outsider: Municipality, views: list[AuditEntry]
) -> None:
    client.force_login(outsider.user(Role.AUDITOR))
    assert client.post(f"/audit/review/entries/{views[0].id}/", {"verdict": "ok"}).status_code == 404
    client.force_login(home.user(Role.OPERATOR))
    assert client.post(f"/audit/review/entries/{views[0].id}/", {"verdict": "ok"}).status_code == 403
    assert not AccessReview.objects.exists()


def test_it_flags_long_views_many_persons_and_attempts_outside_the_rules(
    client: Client, home: Municipality, views: list[AuditEntry], settings
) -> None:  # type: ignore[no-untyped-def]
    settings.AUDIT_FLAG_MANY_PERSONS = 3
    operator = home.user(Role.OPERATOR)
    from people.models import Person

    persons = list(Person.objects.filter(tenant=home.tenant))
    for minute, person in enumerate(persons):  # four persons within four minutes
        record(actor=operator, action=AuditAction.CHECK_OPENED, tenant=home.tenant, person=person,
               at=at_stockholm(2026, 11, 24, 3, minute))  # fmt: skip
    record(actor=operator, action=AuditAction.GRANT_REFUSED, tenant=home.tenant, person=persons[0],
           detail={"reason": "outside_check_window"}, at=at_stockholm(2026, 11, 24, 4, 0))  # fmt: skip
    flags = unusual_accesses({home.tenant.id}, at_stockholm(2026, 11, 23, 0, 0), at_stockholm(2026, 11, 25, 0, 0))
    kinds = sorted(flag.kind for flag in flags)
    assert kinds == ["long_view", "many_persons", "outside_rules"]
    assert next(flag for flag in flags if flag.kind == "long_view").entry_ids == (views[7].id,)
    client.force_login(home.user(Role.AUDITOR))
    page = client.get("/audit/flags/", {"date_from": "2026-11-23", "date_to": "2026-11-24"}).content.decode()
    assert page.count('data-testid="flag"') == 3
    bad = client.get("/audit/flags/", {"date_from": "2026-11-24", "date_to": "2026-11-01"}).content.decode()
    assert 'data-testid="field-error-date_to"' in bad
