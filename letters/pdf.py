"""Letters and information sheets for the person, on paper: A4 portrait, large print
(14 pt text, 13 pt tables), plain Swedish, black on white; fpdf2, as the reports.

Always made in Swedish (``translation.override("sv")``): the person reads it, whatever
language the member of staff who printed it uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from cameras.models import ClearPictureReason
from checks.models import EscalationCause, EscalationResult, Outcome
from letters.content import Letter, ViewReason
from people.models import AbsenceKind
from reports.pdf import ENCODING, text

BODY_PT = 14
TABLE_PT = 13
LINE_MM = 7.0


class PersonPDF(FPDF):
    """Portrait A4 for a person to read. Several letters may share one file (a batch for
    printing): each starts on a new page and numbers its own pages."""

    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.core_fonts_encoding = ENCODING
        self.set_margins(20, 18, 20)
        self.set_auto_page_break(True, margin=20)
        self.set_creator("Nattillsyn")
        self.document_first_page = 1
        self.footer_text = ""
        self._fitted: dict[tuple[str, float, str, float], str] = {}
        self._broken: dict[tuple[str, str], list[str]] = {}
        self._words: dict[tuple[str, str], str] = {}

    def words(self, kind: str, value: str, make: Any) -> str:
        """A label made once per batch (gettext per row of 10,000 letters adds up)."""
        key = (kind, value)
        found = self._words.get(key)
        if found is None:
            found = self._words[key] = str(make())
        return found

    def start_document(self, footer_text: str) -> None:
        self.add_page()
        self.document_first_page = self.page_no()
        self.footer_text = footer_text

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("Helvetica", "", 10)
        page = self.page_no() - self.document_first_page + 1
        self.cell(0, 5, text(f"{self.footer_text} · " + _("Page %(page)s") % {"page": page}), align="R")

    def heading(self, words: str, size: float = 20) -> None:
        self.set_font("Helvetica", "B", size)
        self.multi_cell(0, size * 0.5, text(words), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)

    def paragraph(self, words: str, *, bold: bool = False) -> None:
        """Text broken into lines; the breaking is cached, as every letter of a batch
        has the same paragraphs (multi_cell's line breaking was a third of the time)."""
        self.set_font("Helvetica", "B" if bold else "", BODY_PT)
        key = (words, self.font_style)
        lines = self._broken.get(key)
        if lines is None:
            lines = cast(list[str], self.multi_cell(0, LINE_MM, text(words), dry_run=True, output="LINES"))
            self._broken[key] = lines
        for line in lines:
            if self.get_y() + LINE_MM > self.h - 20:
                self.add_page()
            self.text(self.l_margin, self.get_y() + LINE_MM * 0.72, line)
            self.set_y(self.get_y() + LINE_MM)
        self.ln(2)

    def section(self, title: str) -> None:
        if self.get_y() > self.h - 50:
            self.add_page()
        self.ln(2)
        self.set_font("Helvetica", "B", 16)
        self.cell(0, 9, text(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def rows(
        self,
        columns: Sequence[str],
        widths: Sequence[float],
        rows: Iterable[Sequence[str]],
        second_lines: Iterable[str] | None = None,
    ) -> None:
        """A plain table: one line per row (and a second line under it, across the
        table, if given), each cell cut to its width. Drawn with text() and line(), not
        cell(): a month's letter has some 600 cells, and 10,000 letters through cell()'s
        line breaking took minutes."""
        seconds = iter(second_lines) if second_lines is not None else None
        height = LINE_MM * (2 if seconds is not None else 1)
        self._headings(columns, widths)
        for row in rows:
            if self.get_y() + height > self.h - 20:
                self.add_page()
                self._headings(columns, widths)
            self._row(row, widths)
            if seconds is not None:
                self._row([next(seconds)], [sum(widths)])
            self._rule(sum(widths))

    def _headings(self, columns: Sequence[str], widths: Sequence[float]) -> None:
        self.set_font("Helvetica", "B", TABLE_PT)
        self._row(columns, widths)
        self._rule(sum(widths))
        self.set_font("Helvetica", "", TABLE_PT)

    def _row(self, values: Sequence[str], widths: Sequence[float]) -> None:
        x, baseline = self.l_margin, self.get_y() + LINE_MM * 0.72
        for value, width in zip(values, widths, strict=True):
            self.text(x, baseline, self._fit(value, width - 1.5))
            x += width
        self.set_y(self.get_y() + LINE_MM)

    def _rule(self, width: float) -> None:
        self.set_draw_color(150, 150, 150)
        self.line(self.l_margin, self.get_y(), self.l_margin + width, self.get_y())

    def _fit(self, words: str, width: float) -> str:
        """``words`` in the PDF's encoding, cut with "..." to ``width`` mm in the current
        font. The same few strings come back thousands of times in a batch: cached."""
        key = (words, width, self.font_style, self.font_size_pt)
        fitted = self._fitted.get(key)
        if fitted is None:
            fitted = text(words)
            if self.get_string_width(fitted) > width:
                while fitted and self.get_string_width(fitted + "...") > width:
                    fitted = fitted[:-1]
                fitted = fitted.rstrip() + "..."
            self._fitted[key] = fitted
        return fitted


def _day(moment: datetime) -> str:
    return date_format(moment, "D j b")


def _long_day(moment: datetime) -> str:
    return date_format(moment, "j F Y")


REASON_WORDS = {
    ViewReason.SCHEDULED: lambda: _("Agreed check"),
    ViewReason.RETRY: lambda: _("New attempt"),
    ViewReason.INSTALLATION_TEST: lambda: _("Installation test"),
    ViewReason.TRAINING: lambda: _("Training"),
}


def _outcome(view_outcome: str, reason: str) -> str:
    if reason == ViewReason.INSTALLATION_TEST:
        return _("Camera tested")
    if not view_outcome:
        return _("No answer recorded")
    return str(Outcome(view_outcome).label)


def _clear_picture(view: Any) -> str:
    """The person chose a blurred picture and the operator switched to the clear one: why."""
    if not view.clear_picture_reason:
        return ""
    reason = ClearPictureReason(view.clear_picture_reason).label
    return " · " + _("clear picture shown: %(reason)s") % {"reason": reason}


def _who(view: Any) -> str:
    who = f"{view.operator_name}, {view.role.lower()}" if view.operator_name else view.role
    return f"{who}, {view.organisation}"


def write_letter(pdf: PersonPDF, letter: Letter, *, created: datetime) -> None:
    """One letter into ``pdf``, from a new page."""
    month_name = date_format(letter.month, "F Y")
    tenant = letter.tenant
    pdf.start_document(f"{tenant.name} · {letter.name}")
    pdf.set_font("Helvetica", "", 12)
    pdf.cell(0, 6, text(f"{tenant.name} · {_long_day(created)}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)
    # The address block sits where a window envelope shows it.
    pdf.set_font("Helvetica", "", BODY_PT)
    for line in (letter.name, *[part.strip() for part in letter.address.split(",") if part.strip()]):
        pdf.cell(0, LINE_MM, text(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(10)
    pdf.heading(_("Who looked in the camera in your home in %(month)s") % {"month": month_name})
    pdf.paragraph(
        _(
            "You have night supervision with a camera. This letter lists every time someone looked in the "
            "camera in your home during %(month)s, and every visit of the night patrol. Nothing is recorded: "
            "no picture is saved."
        )
        % {"month": month_name}
    )
    pdf.paragraph(
        _("In %(month)s: %(views)s camera views, %(visits)s visits, %(skipped)s times without supervision (absence).")
        % {
            "month": month_name,
            "views": len(letter.views),
            "visits": len(letter.visits),
            "skipped": len(letter.skipped),
        },
        bold=True,
    )
    pdf.section(_("Camera views"))
    if letter.views:
        pdf.rows(
            [_("Day"), _("Time"), _("How long"), _("Why"), _("Result")],
            [30, 18, 22, 45, 55],
            (
                [
                    pdf.words("day", view.at.date().isoformat(), lambda view=view: _day(view.at)),
                    view.at.strftime("%H:%M"),
                    ""
                    if view.seconds is None
                    else pdf.words(
                        "s", str(view.seconds), lambda view=view: _("%(seconds)s s") % {"seconds": view.seconds}
                    ),
                    pdf.words("reason", view.reason, REASON_WORDS[view.reason]),
                    pdf.words(
                        "outcome",
                        f"{view.reason}:{view.outcome}",
                        lambda view=view: _outcome(view.outcome, view.reason),
                    ),
                ]
                for view in letter.views
            ),
            second_lines=(
                pdf.words(
                    "who",
                    f"{_who(view)}|{view.clear_picture_reason}",
                    lambda view=view: _("Looked: %(who)s") % {"who": _who(view)} + _clear_picture(view),
                )
                for view in letter.views
            ),
        )
    else:
        pdf.paragraph(_("Nobody looked in the camera this month."))
    pdf.section(_("Visits by the night patrol"))
    if letter.visits:
        pdf.rows(
            [_("Day"), _("Time"), _("Why"), _("Result")],
            [30, 18, 61, 61],
            (
                [
                    _day(visit.at),
                    visit.at.strftime("%H:%M"),
                    _visit_cause(visit.cause),
                    str(EscalationResult(visit.result).label),
                ]
                for visit in letter.visits
            ),
        )
    else:
        pdf.paragraph(_("No visits this month."))
    pdf.section(_("Nights without supervision"))
    if letter.skipped:
        pdf.rows(
            [_("From"), _("To"), _("Why")],
            [55, 55, 60],
            (
                [
                    f"{_day(stretch.starts_at)} {stretch.starts_at:%H:%M}",
                    f"{_day(stretch.ends_at)} {stretch.ends_at:%H:%M}",
                    str(AbsenceKind(stretch.kind).label),
                ]
                for stretch in letter.skipped
            ),
        )
    else:
        pdf.paragraph(_("No nights were skipped this month."))
    pdf.ln(4)
    contact = (
        _("Questions? Call %(phone)s.") % {"phone": tenant.contact_phone}
        if tenant.contact_phone
        else _("Questions? Call the municipality.")
    )
    pdf.paragraph(
        contact + " " + _("You can pause the camera for a night, or withdraw your consent, whenever you wish.")
    )


def _visit_cause(cause: str) -> str:
    if cause == EscalationCause.PLANNED_VISIT:
        return _("Agreed visit")
    return str(EscalationCause(cause).label)


def letters_pdf(letters: Iterable[Letter], *, created: datetime) -> bytes:
    with translation.override("sv"):
        pdf = PersonPDF()
        for letter in letters:
            write_letter(pdf, letter, created=created)
        return bytes(pdf.output())
