"""The monthly report as a PDF meant for paper: A4 landscape, black on white, headed
and numbered pages, the same tables and charts as the page (fpdf2, pure Python)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from nattillsyn import clock
from reports.charts import Chart
from reports.figures import MonthlyFigures
from reports.tables import Table, cell

# The PDF core fonts (no font files to ship) cover Windows-1252: Swedish letters are
# there, a few typographic signs are not and get a plain stand-in.
STAND_INS = {"−": "-", "→": "->", "₂": "2", "≥": ">=", "≤": "<=", "\u00a0": " ", "\u202f": " ", "…": "..."}
ENCODING = "windows-1252"


def text(value: Any) -> str:
    shown = cell(value)
    if isinstance(shown, Decimal):
        shown = number_format(
            shown, decimal_pos=max(0, -int(shown.as_tuple().exponent)), use_l10n=True, force_grouping=True
        )
    elif isinstance(shown, int | float) and not isinstance(shown, bool):
        shown = number_format(shown, use_l10n=True, force_grouping=True)
    result = str(shown)
    for sign, stand_in in STAND_INS.items():
        result = result.replace(sign, stand_in)
    return result.encode(ENCODING, errors="replace").decode(ENCODING)


def _rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


class ReportPDF(FPDF):
    def __init__(self, heading: str) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.heading = heading
        self.core_fonts_encoding = ENCODING
        self.set_margins(12, 14, 12)
        self.set_auto_page_break(True, margin=14)

    def header(self) -> None:
        self.set_font("Helvetica", "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, text(self.heading), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font("Helvetica", "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, text(_("Page %(page)s of %(pages)s") % {"page": self.page_no(), "pages": "{nb}"}), align="R")
        self.set_text_color(0, 0, 0)

    def section(self, title: str) -> None:
        if self.get_y() > self.h - 40:
            self.add_page()
        self.ln(3)
        self.set_font("Helvetica", "B", 12)
        self.cell(0, 7, text(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font("Helvetica", "", 8.5)

    def table_of(self, table: Table, widths: Sequence[float] | None = None) -> None:
        self.section(table.title)
        rows = [*table.rows, *([table.footer] if table.footer else [])]
        if not rows:
            self.cell(0, 6, text(_("Nothing this month.")), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            return
        self.set_draw_color(170, 170, 170)
        with self.table(
            col_widths=widths,
            line_height=4.6,
            first_row_as_headings=True,
            headings_style=_headings_style(),
            borders_layout="HORIZONTAL_LINES",
            text_align="LEFT",
        ) as pdf_table:
            pdf_table.row([text(column) for column in table.columns])
            for row in rows:
                pdf_table.row([text(value) for value in row])

    def chart(self, chart: Chart, width_mm: float = 180) -> None:
        """Draw a reports.charts layout with the same geometry, scaled to millimetres."""
        if chart.empty:
            return
        scale = width_mm / chart.width
        height_mm = chart.height * scale + 8
        if self.get_y() + height_mm > self.h - 16:
            self.add_page()
        self.set_font("Helvetica", "B", 10)
        self.cell(0, 6, text(chart.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        x0, y0 = self.l_margin, self.get_y()
        self.set_draw_color(200, 200, 200)
        self.set_line_width(0.1)
        for x1, y1, x2, y2 in chart.gridlines:
            self.line(x0 + x1 * scale, y0 + y1 * scale, x0 + x2 * scale, y0 + y2 * scale)
        for rect in chart.rects:
            self.set_fill_color(*_rgb(rect.fill))
            self.rect(x0 + rect.x * scale, y0 + rect.y * scale, rect.width * scale, rect.height * scale, style="F")
        self.set_font("Helvetica", "", 6.5)
        for label in chart.labels:
            label_text = text(label.text)
            label_width = self.get_string_width(label_text)
            x = x0 + label.x * scale
            if label.anchor == "middle":
                x -= label_width / 2
            elif label.anchor == "end":
                x -= label_width
            self.text(x, y0 + label.y * scale, label_text)
        self.set_y(y0 + chart.height * scale + 2)
        if chart.legend:
            for fill, _css, name in chart.legend:
                self.set_fill_color(*_rgb(fill))
                self.rect(self.get_x(), self.get_y() + 1, 3, 3, style="F")
                self.set_x(self.get_x() + 4)
                self.cell(self.get_string_width(text(name)) + 5, 5, text(name))
            self.ln(6)
        self.set_fill_color(255, 255, 255)  # tables after a chart must not inherit a bar's colour
        self.set_font("Helvetica", "", 8.5)


def _headings_style() -> Any:
    from fpdf.fonts import FontFace

    return FontFace(emphasis="BOLD", fill_color=(235, 235, 235))


def monthly_pdf(report: MonthlyFigures, tables: Sequence[Table], charts: dict[str, Chart] | None = None) -> bytes:
    month_name = date_format(report.month, "F Y")
    heading = f"{report.tenant.name} - {_('Monthly report')} {report.month:%Y-%m}"
    pdf = ReportPDF(heading)
    pdf.set_title(text(f"{_('Monthly report')} {report.tenant.name} {report.month:%Y-%m}"))
    pdf.set_subject(f"{report.month:%Y-%m}")
    pdf.set_creator("Nattillsyn")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(
        0, 10, text(f"{_('Monthly report')}: {month_name} ({report.month:%Y-%m})"), new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.set_font("Helvetica", "", 11)
    generated = clock.now().astimezone(clock.STOCKHOLM).strftime("%Y-%m-%d %H:%M")
    pdf.cell(0, 6, text(f"{report.tenant.name} · {_('Created')} {generated}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    total = report.total
    pdf.section(_("In short"))
    for label, value in [
        (_("Persons with camera supervision"), total.persons_camera),
        (_("Persons with physical night checks only"), total.persons_physical_only),
        (_("Checks done"), total.done),
        (_("On time (first attempt opened within 5 minutes), %"), total.on_time_rate),
        (_("Retries"), total.retries),
        (_("Escalations"), total.escalated),
        (_("Physical visits made"), total.visits_made),
        (_("Physical visits avoided"), total.visits_avoided),
        (_("Camera faults"), total.faults),
        (_("Average view time (s)"), total.average_view_s),
    ]:
        pdf.cell(95, 5.5, text(label))
        pdf.cell(0, 5.5, text(value if value is not None else "–"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    by_slug = {table.slug: table for table in tables}
    pdf.table_of(by_slug["units"])
    if charts:
        pdf.section(_("Charts"))
        for key in ("on_time", "hours", "causes"):
            if key in charts:
                pdf.chart(charts[key])
    pdf.table_of(by_slug["causes"])
    pdf.table_of(by_slug["benefit"], widths=(55, 25, 18, 170))
    pdf.table_of(by_slug["nights"])
    pdf.table_of(by_slug["hours"], widths=(40, 40, 40, 40))
    return bytes(pdf.output())
