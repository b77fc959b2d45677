"""
The register as a Word document (DOCX, python-docx), for a DPO who edits it
before sending: the same document as the PDF (``ropa.exchange.document``).

- Headings are Word's built-in heading styles: a part is "Heading 1", an
  activity or annex "Heading 2", an element of Art. 30 "Heading 3", an
  entry of an annex "Heading 4"; parts, activities and annexes start a page.
- Fields are two-column tables (label, value), a table for each run of
  fields, a list's items as bullets; texts are paragraphs; an Art. 30 gap is
  a paragraph in red.
- The table of contents is a Word TOC field over headings 1-2, and each
  page's footer reads "Page X of Y" with PAGE and NUMPAGES fields: Word
  fills them in when it opens the file (the document asks it to update its
  fields) and keeps them right as the DPO edits.
- Pictures: Word shows an SVG picture only with a PNG beside it for older
  readers, and drawing a PNG from the charts' SVG takes a renderer with
  system libraries (cairo). So each picture is written as what it shows, in
  a table: for one activity, its data subjects, recipients and transfers
  (with their mechanism, a missing one said so); for the register, the
  recipients and destinations by number of activities; for the map, the
  destinations by number of activities and mechanism.
"""

from collections import Counter, defaultdict

from docx import Document as WordDocument
from docx.enum.text import WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor

from ropa.charts.svg import MUTED, WARNING
from ropa.exchange.document import build_document
from ropa.exchange.document_blocks import (
    FLOWS,
    Field,
    Gap,
    Heading,
    Picture,
    Text,
    printable,
)
from ropa.exchange.xlsx import xml_safe

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CONTENTS = "Contents"
CONTENTS_PLACEHOLDER = (
    "Word fills in the table of contents when it opens the document; if it "
    "does not, right-click here and choose Update Field."
)
TABLE_STYLE = "Table Grid"
LIST_STYLE = "List Bullet"
NO_MECHANISM = "no mechanism recorded"
NOTHING_TO_DRAW = "No transfer to a third country or an international organisation."


def _colour(hex_colour):
    return RGBColor.from_string(hex_colour.lstrip("#").upper())


def _text(text):
    """Text as Word holds it: a control character as a space, as in the blocks."""
    return xml_safe(printable(text))


def _field_code(paragraph, instruction, placeholder=""):
    """A Word field (``PAGE``, ``TOC …``) in ``paragraph``, updated by Word."""
    run = paragraph.add_run()
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    run._r.append(begin)
    run = paragraph.add_run()
    code = OxmlElement("w:instrText")
    code.set(qn("xml:space"), "preserve")
    code.text = f" {instruction} "
    run._r.append(code)
    run = paragraph.add_run()
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    run._r.append(separate)
    paragraph.add_run(placeholder)
    run = paragraph.add_run()
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run._r.append(end)


def _update_fields_on_open(word):
    """Ask Word to update the document's fields (its contents) when it opens it."""
    update = OxmlElement("w:updateFields")
    update.set(qn("w:val"), "true")
    word.settings.element.append(update)


def _header_and_footer(word, document):
    section = word.sections[0]
    header = section.header.paragraphs[0]
    header.text = _text(document.subject)
    footer = section.footer.paragraphs[0]
    footer.add_run(f"SHA-256 {document.fingerprint[:16]}…    Page ")
    _field_code(footer, "PAGE", "1")
    footer.add_run(" of ")
    _field_code(footer, "NUMPAGES", "1")
    for paragraph in (header, footer):
        for run in paragraph.runs:
            run.font.size = Pt(8)


class _Writer:
    """Writes the blocks into the Word document, a table per run of fields."""

    def __init__(self, word):
        self.word = word
        # The table the fields are written to, until another block comes.
        self.table = None
        self.previous = None

    def write(self, block):
        if isinstance(block, Field):
            self._field(block)
        else:
            self.table = None
        if isinstance(block, Heading):
            self._heading(block)
        elif isinstance(block, Text):
            self._paragraphs(self.word, block.text, missing=block.missing)
        elif isinstance(block, Gap):
            run = self.word.add_paragraph().add_run(_text(block.text))
            run.font.color.rgb = _colour(WARNING)
        elif isinstance(block, Picture):
            self._picture(block)
        self.previous = block

    def _heading(self, heading):
        paragraph = self.word.add_heading(_text(heading.text), level=heading.level + 1)
        after_part = isinstance(self.previous, Heading) and self.previous.level == 0
        if heading.level <= 1 and not after_part:
            paragraph.paragraph_format.page_break_before = True

    def _field(self, block):
        if self.table is None:
            self.table = self.word.add_table(rows=0, cols=2)
            self.table.style = TABLE_STYLE
        label, value = self.table.add_row().cells
        label.paragraphs[0].add_run(_text(block.label)).bold = True
        if block.listed:
            for position, item in enumerate(_text(block.value).split("\n")):
                paragraph = (
                    value.paragraphs[0] if position == 0 else value.add_paragraph()
                )
                paragraph.style = LIST_STYLE
                paragraph.add_run(item)
        else:
            self._paragraphs(value, block.value, missing=block.missing)

    def _paragraphs(self, container, text, *, missing=False):
        """Paragraphs of ``text`` (a blank line apart) in ``container``."""
        parts = [part.strip("\n") for part in _text(text).split("\n\n") if part.strip()]
        for position, part in enumerate(parts):
            # A new table cell holds an empty paragraph: the first part goes there.
            if position == 0 and container is not self.word:
                paragraph = container.paragraphs[0]
            else:
                paragraph = container.add_paragraph()
            run = paragraph.add_run(part)
            if missing:
                run.italic = True
                run.font.color.rgb = _colour(MUTED)

    def _picture(self, picture):
        caption = self.word.add_paragraph()
        run = caption.add_run(_text(picture.title))
        run.italic = True
        if picture.kind == FLOWS and len(picture.flows) == 1:
            rows = _flow_rows(picture.flows[0])
            header = None
        elif picture.kind == FLOWS:
            header = ("Recipient or destination", "Activities")
            rows = _register_rows(picture.flows)
        else:
            header = ("Destination", "Activities", "Mechanisms")
            rows = _map_rows(picture.flows)
        if not rows:
            self._paragraphs(self.word, NOTHING_TO_DRAW, missing=True)
            return
        table = self.word.add_table(rows=0, cols=len(rows[0]))
        table.style = TABLE_STYLE
        if header:
            for cell, text in zip(table.add_row().cells, header, strict=True):
                cell.paragraphs[0].add_run(text).bold = True
        for row in rows:
            for cell, text in zip(table.add_row().cells, row, strict=True):
                cell.paragraphs[0].add_run(_text(text))


def _transfer_line(transfer):
    """``United States: Recipient; mechanism; gap``, as the picture labels it."""
    mechanism = transfer.mechanism or (NO_MECHANISM if transfer.needs_mechanism else "")
    parts = [part for part in (transfer.recipient, mechanism, transfer.gap) if part]
    if not parts:
        return transfer.country_name
    return f"{transfer.country_name}: {'; '.join(parts)}"


def _flow_rows(flow):
    """One activity's picture as rows: whose data, to whom, where."""
    return [
        ("Data subjects", "\n".join(flow.subjects) or "None recorded"),
        ("Activity", f"{flow.reference} {flow.name}"),
        ("Recipients", "\n".join(flow.recipients) or "None recorded"),
        (
            "Outside the EEA",
            "\n".join(_transfer_line(transfer) for transfer in flow.transfers)
            or "No transfer",
        ),
    ]


def _register_rows(flows):
    """The register's picture as rows: recipients, then destinations, by use."""
    recipients = Counter()
    destinations = Counter()
    for flow in flows:
        recipients.update(set(flow.recipients))
        destinations.update(
            {
                transfer.country_name
                for transfer in flow.transfers
                if transfer.third_country
            }
        )
    return [
        *(
            (f"Recipient: {name}", str(count))
            for name, count in sorted(recipients.items(), key=_most_first)
        ),
        *(
            (f"Outside the EEA: {name}", str(count))
            for name, count in sorted(destinations.items(), key=_most_first)
        ),
    ]


def _map_rows(flows):
    """The map as rows: each destination, its activities and their mechanisms."""
    activities = defaultdict(set)
    mechanisms = defaultdict(Counter)
    for flow in flows:
        for transfer in flow.transfers:
            if not transfer.third_country:
                continue
            activities[transfer.country_name].add(flow.reference)
            mechanism = transfer.mechanism or (
                NO_MECHANISM if transfer.needs_mechanism else "no mechanism needed"
            )
            mechanisms[transfer.country_name][mechanism] += 1
    counts = {name: len(references) for name, references in activities.items()}
    return [
        (
            name,
            str(count),
            "\n".join(
                f"{mechanism}: {number}"
                for mechanism, number in sorted(mechanisms[name].items())
            ),
        )
        for name, count in sorted(counts.items(), key=_most_first)
    ]


def _most_first(item):
    name, count = item
    return (-count, name.casefold())


def render_docx(document, out):
    """Write ``document`` as a Word document to the binary file ``out``."""
    word = WordDocument()
    properties = word.core_properties
    properties.title = _text(f"{document.title}: {document.organisation}")
    properties.author = _text(document.organisation)
    properties.subject = _text(document.subject)
    properties.keywords = "GDPR, Art. 30, record of processing activities"
    properties.comments = f"Fingerprint (SHA-256): {document.fingerprint}"
    _header_and_footer(word, document)
    _update_fields_on_open(word)

    word.add_heading(_text(document.title), level=0)
    word.add_paragraph(_text(document.organisation), style="Subtitle")
    writer = _Writer(word)
    for block in document.cover_blocks():
        writer.write(block)
    word.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    word.add_paragraph(CONTENTS, style="TOC Heading")
    _field_code(word.add_paragraph(), 'TOC \\o "1-2" \\h \\z \\u', CONTENTS_PLACEHOLDER)
    writer = _Writer(word)
    for block in document.blocks:
        writer.write(block)
    word.save(out)


def write_docx(out, register, summary, exported_at, bar, *, statuses):
    """The register as a Word document (``ropa.exchange.export.FORMATS``)."""
    document = build_document(
        register, exported_at=exported_at, statuses=statuses, progress=bar
    )
    render_docx(document, out)
    summary.rows = {
        "controller records": document.controller_records,
        "processor records": document.processor_records,
    }
