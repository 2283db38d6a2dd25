"""The funder report as files to download: a PDF, a PowerPoint deck and its tables as zipped CSV, in one language."""

from __future__ import annotations

import csv
import io
import math
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from datetime import date
from xml.sax.saxutils import escape

import altair as alt
import pandas as pd
import vl_convert
from PIL import Image as PillowImage
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.util import Emu, Inches, Pt
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from dashboard.figures import FIGURES, SECTIONS, definition, in_section, label, unit
from dashboard.i18n import day, number, t
from dashboard.render import report_content as content
from queries.report import Report

# Colours: the charts' blue, a dark ink, a muted grey for secondary text, light rules and a pale header fill.
BLUE = "#0072B2"
NAVY = "#08306B"
INK = "#1A1A1A"
MUTED = "#595959"
RULE = "#BFBFBF"
PALE = "#EAF2F8"
PIXEL_SCALE = 2  # PNG pixels per CSS pixel: sharp in print and on a projector

TABLE_FILES = ("figures", "weekly", "municipalities", "outcomes", "delays")
KEY_FIGURES = {  # figures a page or slide shows large
    "headline": ("interventions", "reach_rate", "acceptance_rate", "within_24h_share"),
    "timeliness": ("median_hours", "p90_hours", "within_24h_share", "within_48h_share"),
}


# Shared by the PDF and the deck


def _png(chart: alt.TopLevelMixin, width_pixels: int, spec_change: Callable[[dict], None] | None = None) -> bytes:
    """A chart rendered to PNG at a width in CSS pixels."""
    spec = chart.to_dict()
    spec["width"] = width_pixels
    if spec_change:
        spec_change(spec)
    return vl_convert.vegalite_to_png(spec, scale=PIXEL_SCALE)


def _printed_map(height_pixels: int) -> Callable[[dict], None]:
    """A change to a map's spec: a height, and legends stacked under it, each on one line."""

    def change(spec: dict) -> None:
        # On screen each legend entry gets its own line, for phones; on paper that is taller than the map.
        spec["height"] = height_pixels
        spec["config"]["legend"].update(direction="horizontal", gradientLength=120,
                                        layout={"bottom": {"direction": "vertical", "anchor": "start"}})

    return change


def _map_pngs(report: Report, language: str, shapes: dict | None, width_pixels: int,
              height_pixels: int) -> list[tuple[str, bytes]]:
    """One PNG per police service's map."""
    return [(service, _png(chart, width_pixels, _printed_map(height_pixels)))
            for service, chart in content.map_charts(report, language, shapes)]


def _css_size(png: bytes) -> tuple[float, float]:
    """A rendered chart's size in CSS pixels."""
    with PillowImage.open(io.BytesIO(png)) as image:
        return image.width / PIXEL_SCALE, image.height / PIXEL_SCALE


def _fitted(png: bytes, width: float, height: float) -> tuple[float, float]:
    """The largest size within a box that keeps the image's proportions."""
    css_width, css_height = _css_size(png)
    factor = min(width / css_width, height / css_height)
    return css_width * factor, css_height * factor


def _period_text(report: Report, period: str, language: str) -> str:
    """A period's label followed by its dates, or its dates alone when that is its label."""
    label = content.period_label(report.periods[period], language)
    dates = content.dates_text(report.periods[period], language)
    return label if label == dates else f"{label} ({dates})"


def _footer(report: Report, language: str, produced: date) -> str:
    """The line at the foot of every page and slide: the date produced and what a suppressed count looks like."""
    return t("report.footer" + (".exact" if report.exact else ""), language, date=day(produced, language),
             threshold=report.threshold)


def _broken_down(report: Report) -> dict[str, bool]:
    """Which charts show more than their total: the others give way to a sentence saying so."""
    return {
        "trend": content.is_broken_down(report.weekly, "interventions"),
        "map": content.is_broken_down(report.municipalities, "interventions"),
        "delays": content.is_broken_down(report.delays, "members"),
        "outcomes": content.is_broken_down(report.outcomes, "members"),
        "funnel": report.figures["cohort"]["current"].value is not None,
    }


def _target_text(target_hours: float, language: str) -> str:
    """The outreach target in hours, as the delays caption states it."""
    return t("metrics.hours", language, value=number(target_hours, language, 0 if target_hours % 1 == 0 else 1))


# PDF

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 2 * cm
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN
POINTS_PER_PIXEL = TEXT_WIDTH / 620  # every full-width chart rendered 620 px wide: chart text about 9 pt
MAP_PIXELS = (340, 250)  # width, height of a map in its half-page column: its stacked legends are about 340 px wide
# Helvetica is always there but only knows Windows-1252: spaces Babel and the catalogue use that it lacks.
PRINTABLE = str.maketrans({"\u202f": "\u00a0", "\u2009": "\u00a0", "\u2007": "\u00a0", "\u2212": "-",
                           "\u2011": "-", "\u2264": "<=", "\u2265": ">=", "\u2248": "~", "\u2192": "->"})


def printable(text: str) -> str:
    """Text Helvetica can draw: unknown spaces and signs replaced, any other missing character by its base letter."""
    text = text.translate(PRINTABLE)
    if _drawable(text):
        return text
    return "".join(character if _drawable(character) else
                   (unicodedata.normalize("NFKD", character).encode("cp1252", "ignore").decode("cp1252") or "?")
                   for character in text)


def _drawable(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _markup(text: str) -> str:
    """Catalogue or data text as Paragraph markup."""
    return escape(printable(text))


def _styles() -> dict[str, ParagraphStyle]:
    """The report's paragraph styles: Helvetica throughout, one size per role."""
    body = ParagraphStyle("body", fontName="Helvetica", fontSize=9.5, leading=13.5, textColor=INK, spaceAfter=6)
    return {
        "body": body,
        "title": ParagraphStyle("title", body, fontName="Helvetica-Bold", fontSize=26, leading=31, textColor=NAVY,
                                spaceAfter=8),
        "subtitle": ParagraphStyle("subtitle", body, fontSize=13, leading=17, textColor=MUTED, spaceAfter=22),
        "h1": ParagraphStyle("h1", body, fontName="Helvetica-Bold", fontSize=15, leading=19, textColor=NAVY,
                             spaceBefore=16, spaceAfter=8, keepWithNext=1),
        "h2": ParagraphStyle("h2", body, fontName="Helvetica-Bold", fontSize=11, leading=14, spaceBefore=10,
                             spaceAfter=4, keepWithNext=1),
        "caption": ParagraphStyle("caption", body, fontName="Helvetica-Oblique", fontSize=8.5, leading=11.5,
                                  textColor=MUTED, spaceBefore=2, spaceAfter=10),
        "message": ParagraphStyle("message", body, fontSize=11.5, leading=16, spaceAfter=0),
        "field": ParagraphStyle("field", body, fontName="Helvetica-Bold", textColor=MUTED, spaceAfter=0),
        "value": ParagraphStyle("value", body, spaceAfter=0),
        "term": ParagraphStyle("term", body, fontName="Helvetica-Bold", spaceAfter=0),
        "figure_value": ParagraphStyle("figure_value", body, fontName="Helvetica-Bold", fontSize=20, leading=24,
                                       textColor=BLUE, spaceAfter=2),
        "figure_label": ParagraphStyle("figure_label", body, fontSize=8.5, leading=11, textColor=MUTED, spaceAfter=0),
        "cell": ParagraphStyle("cell", body, fontSize=8.5, leading=10.5, spaceAfter=0),
        "header": ParagraphStyle("header", body, fontName="Helvetica-Bold", fontSize=8, leading=10, spaceAfter=0),
        "header_right": ParagraphStyle("header_right", body, fontName="Helvetica-Bold", fontSize=8, leading=10,
                                       spaceAfter=0, alignment=TA_RIGHT),
        "service": ParagraphStyle("service", body, fontName="Helvetica-Bold", fontSize=9, leading=11, spaceAfter=2),
    }


def _image(png: bytes, width: float, max_height: float = PAGE_HEIGHT / 2) -> Image:
    """A chart at its print scale, narrowed to fit a width and a height."""
    css_width, css_height = _css_size(png)
    factor = min(POINTS_PER_PIXEL, width / css_width, max_height / css_height)
    image = Image(io.BytesIO(png), width=css_width * factor, height=css_height * factor)
    image.hAlign = "LEFT"
    return image


def _text_table(frame: pd.DataFrame, styles: dict[str, ParagraphStyle], widths: Sequence[float],
                text_columns: int = 1) -> Table:
    """A table of text: header row repeated on each page, light grid, the first columns left, numbers right."""
    header = [Paragraph(_markup(str(name)), styles["header"] if index < text_columns else styles["header_right"])
              for index, name in enumerate(frame.columns)]
    rows = [[Paragraph(_markup(str(value)), styles["cell"]) if index < text_columns else printable(str(value))
             for index, value in enumerate(row)] for row in frame.itertuples(index=False)]
    table = Table([header, *rows], colWidths=list(widths), repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONT", (0, 1), (-1, -1), "Helvetica", 8.5),
        ("TEXTCOLOR", (0, 0), (-1, -1), colors.HexColor(INK)),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(PALE)),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor(BLUE)),
        ("GRID", (0, 1), (-1, -1), 0.25, colors.HexColor(RULE)),
        ("ALIGN", (text_columns, 1), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
    ]))
    return table


def _figure_table(report: Report, section: str, language: str, styles: dict[str, ParagraphStyle]) -> Table:
    figure_width = 0.30 * TEXT_WIDTH
    table = content.figure_table(report, section, language)
    others = len(table.columns) - 1
    return _text_table(table, styles, [figure_width] + [(TEXT_WIDTH - figure_width) / others] * others)


def _chart_parts(heading: str | None, png: bytes | None, caption: str, styles: dict[str, ParagraphStyle],
                 language: str) -> list[Flowable]:
    """A subsection's heading, chart and caption; a sentence instead of a chart not broken down."""
    heading_part = [Paragraph(_markup(heading), styles["h2"])] if heading else []
    if png is None:
        return [*heading_part, Paragraph(_markup(t("report.not_broken_down", language)), styles["body"])]
    return [*heading_part, _image(png, TEXT_WIDTH), Paragraph(_markup(caption), styles["caption"])]


def _map_grid(maps: list[tuple[str, bytes]], styles: dict[str, ParagraphStyle]) -> Table:
    """The services' maps two to a row, each titled with its service code."""
    gap = 0.5 * cm
    column = (TEXT_WIDTH - gap) / 2
    cells = [[Paragraph(_markup(service), styles["service"]), _image(png, column, 12 * cm)] for service, png in maps]
    rows = [cells[index:index + 2] + [""] * (2 - len(cells[index:index + 2])) for index in range(0, len(cells), 2)]
    grid = Table(rows, colWidths=[column + gap / 2] * 2, hAlign="LEFT")
    grid.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                              ("RIGHTPADDING", (0, 0), (-1, -1), gap / 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 8)]))
    return grid


def _pdf_story(report: Report, language: str, scope: str, target_hours: float, shapes: dict | None
               ) -> list[Flowable]:
    """The report's paragraphs, tables and charts, in reading order."""
    styles = _styles()

    def para(text: str, style: str = "body") -> Paragraph:
        return Paragraph(_markup(text), styles[style])

    def h1(key: str) -> Paragraph:
        return para(t(key, language), "h1")

    def chart(heading_key: str | None, name: str, caption: str) -> list[Flowable]:
        heading = t(heading_key, language) if heading_key else None
        return _chart_parts(heading, pngs.get(name), caption, styles, language)

    shown = _broken_down(report)
    pngs = {name: _png(chart, 620) for name, chart in content.report_charts(report, language, target_hours).items()
            if shown[name]}
    maps = _map_pngs(report, language, shapes, *MAP_PIXELS) if shown["map"] else []
    messages = content.headline_messages(report, language)
    tables = content.tables(report, language)

    facts = [(t("report.period", language), _period_text(report, "current", language)),
             (t("report.scope", language), scope),
             *((t(f"report.column.{name}", language), _period_text(report, name, language))
               for name in content.compared_periods(report))]
    fact_table = Table([[para(label, "field"), para(value, "value")] for label, value in facts],
                       colWidths=[0.32 * TEXT_WIDTH, 0.68 * TEXT_WIDTH], hAlign="LEFT")
    fact_table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                    ("TOPPADDING", (0, 0), (-1, -1), 4), ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                                    ("LINEABOVE", (0, 0), (-1, 0), 0.8, colors.HexColor(BLUE)),
                                    ("LINEBELOW", (0, -1), (-1, -1), 0.8, colors.HexColor(BLUE))]))
    message_table = Table([[para(messages[section], "message")] for section in SECTIONS],
                          colWidths=[TEXT_WIDTH], hAlign="LEFT")
    message_table.setStyle(TableStyle([("LINEBEFORE", (0, 0), (0, -1), 3, colors.HexColor(BLUE)),
                                       ("LEFTPADDING", (0, 0), (-1, -1), 12), ("TOPPADDING", (0, 0), (-1, -1), 5),
                                       ("BOTTOMPADDING", (0, 0), (-1, -1), 7)]))
    legend_box = Table([[para(t("report.label.suppression", language), "h2")],
                        [para(content.legend(report, language))]], colWidths=[TEXT_WIDTH], hAlign="LEFT")
    legend_box.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), colors.HexColor(PALE)),
                                    ("LEFTPADDING", (0, 0), (-1, -1), 12), ("RIGHTPADDING", (0, 0), (-1, -1), 12),
                                    ("TOPPADDING", (0, 0), (-1, 0), 4), ("BOTTOMPADDING", (0, -1), (-1, -1), 6)]))

    story: list[Flowable] = [
        Spacer(1, 1.5 * cm),
        para(content.title(report, language), "title"),
        para(t("report.subtitle", language), "subtitle"),
        fact_table,
        Spacer(1, 14),
        para(content.intro(report, language)),
        para(t("report.section.headline", language), "h1"),
        message_table,
        Spacer(1, 16),
        _key_figure_strip(report, language, styles),
        Spacer(1, 20),
        legend_box,
        PageBreak(),
    ]

    # A heading is kept with its chart in one block: ReportLab's keepWithNext does not reach into a KeepTogether.
    place_widths = [0.11, 0.37, 0.17, 0.15, 0.20]
    map_parts = ([_map_grid(maps, styles), para(t("report.caption.map", language), "caption")] if maps
                 else [para(t("report.not_broken_down", language))])
    story += [
        h1("report.section.volume"),
        _figure_table(report, "volume", language, styles),
        KeepTogether(chart("report.section.trend", "trend", t("report.caption.trend", language))),
        KeepTogether([para(t("report.section.map", language), "h2"), *map_parts]),
        _text_table(tables["municipalities"], styles, [share * TEXT_WIDTH for share in place_widths], 2),
        KeepTogether([h1("report.section.outreach"),
                      *chart("report.section.funnel", "funnel", t("report.caption.funnel", language))]),
        _figure_table(report, "outreach", language, styles),
        KeepTogether([h1("report.section.timeliness"),
                      *chart("report.section.delays", "delays",
                             t("report.caption.delays", language, target=_target_text(target_hours, language)))]),
        _figure_table(report, "timeliness", language, styles),
        KeepTogether([h1("report.section.outcomes"),
                      *chart(None, "outcomes", t("report.caption.outcomes", language)),
                      _text_table(tables["outcomes"], styles, [0.5 * TEXT_WIDTH, 0.2 * TEXT_WIDTH])]),
    ]
    story.append(h1("report.section.definitions"))
    for section in SECTIONS:
        rows = [[para(label(figure.key, language), "term"), para(definition(figure.key, language))]
                for figure in in_section(section)]
        story.append(para(t(f"report.section.{section}", language), "h2"))
        story.append(_definition_table(rows))
    story += [para(t("report.label.suppression", language), "h2"),
              para(content.suppression_definition(report, language)), para(content.legend(report, language))]
    return story


def _key_figure_strip(report: Report, language: str, styles: dict[str, ParagraphStyle]) -> Table:
    """The headline's figures side by side, large, each over its label."""
    figures = KEY_FIGURES["headline"]
    cells = [[Paragraph(_markup(content.value_text(report.figures[key]["current"], unit(key), report.threshold,
                                                   language)), styles["figure_value"]),
              Paragraph(_markup(label(key, language)), styles["figure_label"])]
             for key in figures]
    strip = Table([cells], colWidths=[TEXT_WIDTH / len(figures)] * len(figures), hAlign="LEFT")
    strip.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 12),
                               ("LINEBEFORE", (1, 0), (-1, -1), 0.5, colors.HexColor(RULE))]))
    return strip


def _definition_table(rows: list[list]) -> Table:
    """Labels beside their definitions, a hairline between entries."""
    table = Table(rows, colWidths=[0.3 * TEXT_WIDTH, 0.7 * TEXT_WIDTH], hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("LINEBELOW", (0, 0), (-1, -2), 0.25, colors.HexColor(RULE)),
                               ("TOPPADDING", (0, 0), (-1, -1), 4), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
    return table


def _numbered_canvas(footer: str, header: str) -> type[Canvas]:
    """A canvas class that writes the footer, running header and "page / pages" once every page is laid out."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            for page_number, page in enumerate(self._pages, start=1):
                self.__dict__.update(page)
                self._decorate(page_number, len(self._pages))
                super().showPage()
            super().save()

        def _decorate(self, number: int, pages: int) -> None:
            self.saveState()
            self.setStrokeColor(colors.HexColor(RULE))
            self.setLineWidth(0.5)
            self.line(MARGIN, 1.5 * cm, PAGE_WIDTH - MARGIN, 1.5 * cm)
            self.setFont("Helvetica", 7.5)
            self.setFillColor(colors.HexColor(MUTED))
            self.drawString(MARGIN, 1.05 * cm, printable(footer))
            self.drawRightString(PAGE_WIDTH - MARGIN, 1.05 * cm, f"{number} / {pages}")
            if number == 1:
                self.setFillColor(colors.HexColor(BLUE))
                self.rect(0, PAGE_HEIGHT - 0.5 * cm, PAGE_WIDTH, 0.5 * cm, stroke=0, fill=1)
            else:
                self.drawString(MARGIN, PAGE_HEIGHT - 1.2 * cm, printable(header))
                self.line(MARGIN, PAGE_HEIGHT - 1.4 * cm, PAGE_WIDTH - MARGIN, PAGE_HEIGHT - 1.4 * cm)
            self.restoreState()

    return NumberedCanvas


def report_pdf(report: Report, language: str, scope: str, target_hours: float, shapes: dict | None,
               produced: date) -> bytes:
    """The report as an A4 PDF: title page with the headline messages, then each section's charts and tables."""
    buffer = io.BytesIO()
    title = content.title(report, language)
    period = content.period_label(report.periods["current"], language)
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
        title=printable(f"{title} · {period}"), subject=printable(t("report.subtitle", language)),
        lang="fr-CA" if language == "fr" else "en-CA",
    )
    canvas = _numbered_canvas(_footer(report, language, produced), f"{title} · {period}")
    document.build(_pdf_story(report, language, scope, target_hours, shapes), canvasmaker=canvas)
    return buffer.getvalue()


# PowerPoint

SLIDE_WIDTH, SLIDE_HEIGHT = Emu(12192000), Emu(6858000)  # PowerPoint's own 16:9, 13.333 × 7.5 in
SIDE = Inches(0.6)
CONTENT_WIDTH = SLIDE_WIDTH - 2 * SIDE
# Bands of a slide, top to bottom: title, accent rule, message, body, caption, footer.
TITLE_TOP, TITLE_HEIGHT = Inches(0.3), Inches(0.75)
ACCENT_TOP = Inches(1.1)
MESSAGE_TOP = Inches(1.2)
BODY_TOP, BODY_TOP_WITHOUT_MESSAGE, BODY_BOTTOM = Inches(1.8), Inches(1.4), Inches(6.5)
CAPTION_TOP, FOOTER_TOP = Inches(6.55), Inches(7.0)
TITLE_ONLY, TITLE_SLIDE = 5, 0  # layouts of python-pptx's default template
DEFINITION_POINTS = 14
SLIDE_MAP_PIXELS = (420, 240)  # width, height: a map's stacked legends are about 340 px wide


def _rgb(colour: str) -> RGBColor:
    return RGBColor.from_string(colour.lstrip("#"))


def _styled(run, size: float, colour: str, bold: bool = False) -> None:
    run.font.size, run.font.bold, run.font.color.rgb = Pt(size), bold, _rgb(colour)


def _text_box(slide, left: int, top: int, width: int, height: int, paragraphs: Sequence[str], size: float,
              colour: str = INK, bold: bool = False, align: PP_ALIGN = PP_ALIGN.LEFT, spacing: float = 0):
    """A wrapped text box, one paragraph per text given."""
    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    frame.margin_left = frame.margin_right = 0
    for index, text in enumerate(paragraphs):
        paragraph = frame.paragraphs[0] if index == 0 else frame.add_paragraph()
        paragraph.alignment = align
        paragraph.space_after = Pt(spacing)
        run = paragraph.add_run()
        run.text = text
        _styled(run, size, colour, bold)
    return box


def _rectangle(slide, left: int, top: int, width: int, height: int, colour: str) -> None:
    shape = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, left, top, width, height)
    shape.fill.solid()
    shape.fill.fore_color.rgb = _rgb(colour)
    shape.line.fill.background()


def _slide(deck, title: str, footer: str, message: str | None = None):
    """A title-only slide: its title, an optional one-line message under it, the footer and the slide number."""
    slide = deck.slides.add_slide(deck.slide_layouts[TITLE_ONLY])
    heading = slide.shapes.title
    heading.left, heading.top, heading.width, heading.height = SIDE, TITLE_TOP, CONTENT_WIDTH, TITLE_HEIGHT
    heading.text = title
    frame = heading.text_frame
    frame.vertical_anchor = MSO_ANCHOR.BOTTOM
    frame.margin_left = frame.margin_right = 0
    for paragraph in frame.paragraphs:
        paragraph.alignment = PP_ALIGN.LEFT
        for run in paragraph.runs:
            _styled(run, 28, NAVY, bold=True)
    _rectangle(slide, SIDE, ACCENT_TOP, Inches(1.2), Inches(0.06), BLUE)
    if message:
        _text_box(slide, SIDE, MESSAGE_TOP, CONTENT_WIDTH, Inches(0.5), [message], 18, MUTED)
    _text_box(slide, SIDE, FOOTER_TOP, CONTENT_WIDTH - Inches(1), Inches(0.3), [footer], 10, MUTED)
    _text_box(slide, SLIDE_WIDTH - SIDE - Inches(1), FOOTER_TOP, Inches(1), Inches(0.3), [str(len(deck.slides))], 10,
              MUTED, align=PP_ALIGN.RIGHT)
    return slide


def _picture(slide, png: bytes, left: int, top: int, width: int, height: int, centred: bool = True):
    """A chart fitted without distortion in a box, centred across it or at its left."""
    fitted_width, fitted_height = _fitted(png, width, height)
    offset = int((width - fitted_width) / 2) if centred else 0
    return slide.shapes.add_picture(io.BytesIO(png), left + offset, top, Emu(int(fitted_width)),
                                    Emu(int(fitted_height)))


def _slide_bars(spec: dict) -> None:
    """A bar chart's legend beside it: a slide is wide and low, a phone narrow and tall."""
    # The rows keep their height: any lower and the delays' target rule crosses the label of the bucket under it.
    spec["config"]["legend"]["orient"] = "right"


def _chart_slide(deck, title: str, footer: str, message: str | None, png: bytes | None, caption: str,
                 language: str, width: int = CONTENT_WIDTH, centred: bool = True):
    """A slide of one chart with its caption, or the sentence saying there are too few cases to show it."""
    slide = _slide(deck, title, footer, message)
    top = BODY_TOP if message else BODY_TOP_WITHOUT_MESSAGE
    if png is None:
        _text_box(slide, SIDE, Inches(3.4), width, Inches(1), [t("report.not_broken_down", language)], 20, MUTED,
                  align=PP_ALIGN.CENTER)
    else:
        _picture(slide, png, SIDE, top, width, BODY_BOTTOM - top, centred)
        _text_box(slide, SIDE, CAPTION_TOP, CONTENT_WIDTH, Inches(0.35), [caption], 12, MUTED)
    return slide


def _map_slide(deck, maps: list[tuple[str, bytes]], footer: str, language: str) -> None:
    """The services' maps side by side, each under its service code, or the sentence when there is nothing to map."""
    title = t("report.section.map", language)
    if not maps:
        _chart_slide(deck, title, footer, None, None, "", language)
        return
    slide = _slide(deck, title, footer)
    gap, label_height = Inches(0.3), Inches(0.4)
    column = int((CONTENT_WIDTH - gap * (len(maps) - 1)) / len(maps))
    top = BODY_TOP_WITHOUT_MESSAGE + label_height
    for index, (service, image) in enumerate(maps):
        picture = _picture(slide, image, SIDE + index * (column + gap), top, column, BODY_BOTTOM - top)
        _text_box(slide, picture.left, BODY_TOP_WITHOUT_MESSAGE, column, label_height, [service], 16, NAVY, bold=True)
    _text_box(slide, SIDE, CAPTION_TOP, CONTENT_WIDTH, Inches(0.35), [t("report.caption.map", language)], 12, MUTED)


def _key_figures(slide, report: Report, figures: Sequence[str], language: str, left: int, top: int,
                 width: int) -> None:
    """Large figures over their labels, stacked."""
    for index, figure in enumerate(figures):
        value = content.value_text(report.figures[figure]["current"], unit(figure), report.threshold, language)
        y = top + index * Inches(1.15)
        _text_box(slide, left, y, width, Inches(0.7), [value], 32, BLUE, bold=True)
        _text_box(slide, left, y + Inches(0.65), width, Inches(0.4), [label(figure, language)], 13, MUTED)


def _definition_columns(entries: list[tuple[str, str]], lines_per_column: float) -> list[list[tuple[str, str]]]:
    """Definitions in an even number of columns of about the same height, none taller than `lines_per_column`."""
    characters_per_line = 95 * 12 / DEFINITION_POINTS
    heights = [1 + math.ceil(len(text) / characters_per_line) + 0.6 for _label, text in entries]
    count = math.ceil(sum(heights) / lines_per_column)
    count += count % 2  # two columns a slide
    target = sum(heights) / count
    columns: list[list[tuple[str, str]]] = [[]]
    used = 0.0
    for entry, height in zip(entries, heights):
        if columns[-1] and used + height / 2 > target and len(columns) < count:
            columns.append([])
            used = 0.0
        columns[-1].append(entry)
        used += height
    return columns


def _definitions_box(slide, entries: list[tuple[str, str]], left: int, width: int) -> None:
    """Each label in bold, its definition on the line under it."""
    box = slide.shapes.add_textbox(left, BODY_TOP_WITHOUT_MESSAGE, width, BODY_BOTTOM - BODY_TOP_WITHOUT_MESSAGE)
    frame = box.text_frame
    frame.word_wrap = True
    frame.margin_left = frame.margin_right = 0
    for index, (term, text) in enumerate(entries):
        paragraph = frame.paragraphs[0] if index == 0 else frame.add_paragraph()
        paragraph.space_after = Pt(8)
        heading = paragraph.add_run()
        heading.text = term
        _styled(heading, DEFINITION_POINTS, NAVY, bold=True)
        paragraph.add_line_break()
        body = paragraph.add_run()
        body.text = text
        _styled(body, DEFINITION_POINTS, INK)


def _title_slide(deck, report: Report, language: str, scope: str, footer: str, produced: date) -> None:
    """The opening slide: title, subtitle, period, scope and date, in the layout's own placeholders."""
    slide = deck.slides.add_slide(deck.slide_layouts[TITLE_SLIDE])
    title, subtitle = slide.shapes.title, slide.placeholders[1]
    title.left, title.top, title.width, title.height = SIDE, Inches(1.5), CONTENT_WIDTH, Inches(1.4)
    subtitle.left, subtitle.top, subtitle.width, subtitle.height = SIDE, Inches(3.1), CONTENT_WIDTH, Inches(2.8)
    title.text = content.title(report, language)
    title.text_frame.vertical_anchor = MSO_ANCHOR.BOTTOM
    for paragraph in title.text_frame.paragraphs:
        paragraph.alignment = PP_ALIGN.LEFT
        for run in paragraph.runs:
            _styled(run, 44, NAVY, bold=True)
    lines = [(t("report.subtitle", language), 24, INK),
             (t("report.field", language, label=t("report.period", language),
                value=_period_text(report, "current", language)), 18, MUTED),
             (scope, 18, MUTED),
             (t("report.produced", language, date=day(produced, language)), 18, MUTED)]
    frame = subtitle.text_frame
    frame.word_wrap = True
    frame.vertical_anchor = MSO_ANCHOR.TOP
    for index, (text, size, colour) in enumerate(lines):
        paragraph = frame.paragraphs[0] if index == 0 else frame.add_paragraph()
        paragraph.alignment = PP_ALIGN.LEFT
        paragraph.space_after = Pt(18 if index == 0 else 4)
        run = paragraph.add_run()
        run.text = text
        _styled(run, size, colour)
    _rectangle(slide, 0, 0, SLIDE_WIDTH, Inches(0.25), BLUE)
    _rectangle(slide, SIDE + Inches(0.08), Inches(3.0), Inches(1.2), Inches(0.06), BLUE)
    _text_box(slide, SIDE, FOOTER_TOP, CONTENT_WIDTH, Inches(0.3), [footer], 10, MUTED)


def report_pptx(report: Report, language: str, scope: str, target_hours: float, shapes: dict | None,
                produced: date) -> bytes:
    """The report as a 16:9 deck, one message per slide, every text editable and every chart a picture."""
    deck = Presentation()
    deck.slide_width, deck.slide_height = SLIDE_WIDTH, SLIDE_HEIGHT
    footer = _footer(report, language, produced)
    messages = content.headline_messages(report, language)
    charts = content.report_charts(report, language, target_hours)
    shown = _broken_down(report)

    def png(name: str, width_pixels: int, change: Callable[[dict], None] | None = None) -> bytes | None:
        return _png(charts[name], width_pixels, change) if shown[name] else None

    _title_slide(deck, report, language, scope, footer, produced)

    slide = _slide(deck, t("report.section.headline", language), footer)
    _text_box(slide, SIDE, BODY_TOP, Inches(7.4), BODY_BOTTOM - BODY_TOP,
              [messages[section] for section in SECTIONS], 24, INK, spacing=24)
    _key_figures(slide, report, KEY_FIGURES["headline"], language, Inches(8.9), BODY_TOP_WITHOUT_MESSAGE,
                 Inches(3.8))

    _chart_slide(deck, t("report.section.trend", language), footer, messages["volume"], png("trend", 900),
                 t("report.caption.trend", language), language)

    maps = _map_pngs(report, language, shapes, *SLIDE_MAP_PIXELS) if shown["map"] else []
    _map_slide(deck, maps, footer, language)

    _chart_slide(deck, t("report.section.funnel", language), footer, messages["outreach"],
                 png("funnel", 640, _slide_bars), t("report.caption.funnel", language), language)

    target = _target_text(target_hours, language)
    slide = _chart_slide(deck, t("report.section.delays", language), footer, messages["timeliness"],
                         png("delays", 520, _slide_bars), t("report.caption.delays", language, target=target),
                         language, width=Inches(8.4), centred=False)
    _key_figures(slide, report, KEY_FIGURES["timeliness"], language, Inches(9.4), BODY_TOP, Inches(3.3))

    _chart_slide(deck, t("report.section.outcomes", language), footer, None, png("outcomes", 640, _slide_bars),
                 t("report.caption.outcomes", language), language)

    entries = [(label(figure.key, language), definition(figure.key, language)) for figure in FIGURES]
    entries.append((t("report.label.suppression", language), content.suppression_definition(report, language)))
    columns = _definition_columns(entries, lines_per_column=22)
    gap = Inches(0.5)
    column_width = int((CONTENT_WIDTH - gap) / 2)
    heading = t("report.section.definitions", language)
    for first in range(0, len(columns), 2):
        slide = _slide(deck, heading if first == 0 else t("report.slide.continued", language, title=heading), footer)
        for index, column in enumerate(columns[first:first + 2]):
            _definitions_box(slide, column, SIDE + index * (column_width + gap), column_width)

    slide = _slide(deck, t("report.slide.closing", language), footer)
    _text_box(slide, SIDE, BODY_TOP, CONTENT_WIDTH, BODY_BOTTOM - BODY_TOP,
              [content.intro(report, language), content.legend(report, language)], 20, INK,
              spacing=18)

    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


# CSV


def csv_names(language: str) -> dict[str, str]:
    """Each table's file name inside the zip, in the language."""
    return {name: t(f"report.file.{name}", language) + ".csv" for name in TABLE_FILES}


def _csv_bytes(frame: pd.DataFrame, delimiter: str) -> bytes:
    """A text table as CSV with a byte-order mark, which spreadsheet programs need to read UTF-8."""
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter)
    writer.writerow(frame.columns)
    writer.writerows(frame.astype(str).itertuples(index=False))
    return text.getvalue().encode("utf-8-sig")


def report_csv_zip(report: Report, language: str) -> bytes:
    """Every table of the report as CSV in a zip, with a note saying which period it covers and what markers mean."""
    # French spreadsheets read `,` as the decimal separator.
    delimiter = ";" if language == "fr" else ","
    names = csv_names(language)
    tables = content.tables(report, language, plain=True)
    readme = [
        content.title(report, language),
        t("report.subtitle", language),
        "",
        t("report.field", language, label=t("report.period", language),
          value=_period_text(report, "current", language)),
        *(t("report.field", language, label=t(f"report.column.{name}", language),
            value=_period_text(report, name, language)) for name in content.compared_periods(report)),
        "",
        t("report.field", language, label=t("report.label.suppression", language),
          value=content.legend(report, language)),
        content.suppression_definition(report, language),
        "",
        t("report.readme.files", language),
        *(f"- {names[name]}" for name in TABLE_FILES),
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in TABLE_FILES:
            archive.writestr(names[name], _csv_bytes(tables[name], delimiter))
        archive.writestr(t("report.file.readme", language) + ".txt", "\r\n".join(readme).encode("utf-8-sig"))
    return buffer.getvalue()
