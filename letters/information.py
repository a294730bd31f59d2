"""The one-page information sheet for the person, made from their agreement: printed
at the start of the service and whenever the agreement changes."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from checks.models import CheckForm
from letters.pdf import PersonPDF
from nattillsyn import clock
from people.models import Person


def information_sheet_pdf(person: Person) -> bytes:
    agreement = getattr(person, "agreement", None)
    tenant = person.tenant
    times = list(agreement.times.all()) if agreement is not None else []
    camera_times = [f"{agreed.time:%H:%M}" for agreed in times if agreed.form == CheckForm.CAMERA]
    visit_times = [f"{agreed.time:%H:%M}" for agreed in times if agreed.form == CheckForm.PHYSICAL]
    years = max(1, round(settings.AUDIT_RETENTION_DAYS / 365.25))
    with translation.override("sv"):
        pdf = PersonPDF()
        pdf.set_auto_page_break(False)  # one page, by design
        today = clock.now().astimezone(clock.STOCKHOLM)
        pdf.start_document(f"{tenant.name} · {person.name} · {today:%Y-%m-%d}")
        pdf.heading(_("Night supervision with a camera: information for %(name)s") % {"name": person.name}, size=18)
        lines: list[tuple[str, str]] = [
            (
                _("When"),
                (_("The camera is opened at %(times)s.") % {"times": ", ".join(camera_times)})
                if camera_times
                else _("No camera times are agreed at the moment."),
            ),
        ]
        if visit_times:
            lines.append(
                (_("Visits"), _("The night patrol visits you at %(times)s.") % {"times": ", ".join(visit_times)})
            )
        lines += [
            (
                _("What the camera does"),
                _(
                    "At the agreed times someone at the municipality's night supervision looks at the picture "
                    "for at most %(seconds)s seconds, to see that you are well. If you cannot be seen, they try "
                    "again after %(retry)s minutes and then send the night patrol."
                )
                % {"seconds": tenant.view_seconds, "retry": agreement.retry_delay_min if agreement else 15},
            ),
            (
                _("What the camera does not do"),
                _(
                    "Nothing is recorded: no picture or sound is saved. Nobody can look at other times: "
                    "between the checks the camera is turned away and locked. There is no sound."
                ),
            ),
            (
                _("What is logged"),
                ngettext(
                    "Every time someone looks: who, when and for how long. The log is kept for %(years)s year "
                    "and you may ask for it at any time.",
                    "Every time someone looks: who, when and for how long. The log is kept for %(years)s years "
                    "and you may ask for it at any time.",
                    years,
                )
                % {"years": years},
            ),
            (
                _("Pause a night"),
                _("Call us before the night if you do not want the camera tonight, or are away: nobody looks then."),
            ),
            (
                _("Withdraw your consent"),
                _(
                    "You, and everyone who lives with you, can withdraw consent at any time by telling us. "
                    "The camera stops at once and the night patrol visits you instead, as agreed."
                ),
            ),
            (
                _("Who to call"),
                (_("%(municipality)s: %(phone)s") % {"municipality": tenant.name, "phone": tenant.contact_phone})
                if tenant.contact_phone
                else tenant.name,
            ),
        ]
        for title, words in lines:
            pdf.paragraph(title, bold=True)
            pdf.set_y(pdf.get_y() - 2)
            pdf.paragraph(words)
        return bytes(pdf.output())
