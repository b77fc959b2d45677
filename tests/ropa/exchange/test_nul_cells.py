"""
A cell holding NUL, which PostgreSQL cannot store, or another control
character no spreadsheet cell can hold (XML 1.0 has no place for them; tab,
line feed and carriage return aside), is an error of its row and column in
every import, and nothing is written; one already stored never breaks an
export.

A list's import reads a CSV file typed with such a character (a workbook
cannot carry one: its XML would not be well-formed). The register import
reads its cells with the same reader (``ropa.exchange.reading``), which is
asserted directly.
"""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape
from openpyxl import load_workbook

from ropa.core.cells import CONTROL_REFUSED, NUL_REFUSED, CellError
from ropa.exchange import layout, reading
from ropa.exchange.export import export_register
from ropa.exchange.reading import Lookups
from ropa.models import ProcessingActivity
from subjects.models import DataSubjectCategory
from tests.admin_pages import form_data
from tests.factories import DataSubjectCategoryFactory, ProcessingActivityFactory

pytestmark = pytest.mark.django_db

CSV, XLSX = "0", "1"
LIST_IMPORT = "admin:subjects_datasubjectcategory_import"
LIST_EXPORT = "admin:subjects_datasubjectcategory_export"
#: Each character, and the reason a cell holding it is refused.
REFUSED = {
    "\x00": NUL_REFUSED,
    "\x07": CONTROL_REFUSED.format(code=0x07),
    "\x0b": CONTROL_REFUSED.format(code=0x0B),
    "\x1b": CONTROL_REFUSED.format(code=0x1B),
}
CHARACTERS = pytest.mark.parametrize(
    "character", REFUSED, ids=lambda character: f"U+{ord(character):04X}"
)


def categories_csv(**cells):
    """A CSV file of one data subject category, its cells as given."""
    row = {"name": "Visitors", "description": "", "vulnerable": "no"} | cells
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(row))
    writer.writeheader()
    writer.writerow(row)
    return out.getvalue().encode()


def preview(client, content, name="categories.csv"):
    page = client.get(reverse(LIST_IMPORT))
    data = {**form_data(page, containing="format", submit=None), "format": CSV}
    data["import_file"] = SimpleUploadedFile(name, content)
    return client.post(reverse(LIST_IMPORT), data)


# ---------------------------------------------------------------------------
# The import of an admin list
# ---------------------------------------------------------------------------


@CHARACTERS
@pytest.mark.parametrize("column", ["name", "description"])
def test_list_import_refuses_a_control_character_in_a_cell(
    dpo_client, character, column
):
    text = {"name": "Visitors", "description": "On site"}[column]
    content = categories_csv(**{column: f"{text[:2]}{character}{text[2:]}"})

    response = preview(dpo_client, content)

    assert "confirm_form" not in response.context
    [invalid] = response.context["result"].invalid_rows
    assert invalid.number == 1
    assert invalid.error_dict[column] == [REFUSED[character]]
    assert escape(REFUSED[character]) in response.content.decode()
    assert not DataSubjectCategory.objects.exists()


@CHARACTERS
def test_list_import_refuses_a_control_character_in_a_name_of_a_list(
    dpo_client, character
):
    DataSubjectCategoryFactory(name="Visitors")
    url = reverse("admin:ropa_processingactivity_import")
    page = dpo_client.get(url)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["reference", "data_subject_categories"])
    writer.writerow(["PA-0900", f"Visi{character}tors"])
    data = {**form_data(page, containing="format", submit=None), "format": CSV}
    data["import_file"] = SimpleUploadedFile("activities.csv", out.getvalue().encode())

    response = dpo_client.post(url, data)

    [invalid] = response.context["result"].invalid_rows
    assert invalid.error_dict["data_subject_categories"] == [REFUSED[character]]
    assert not ProcessingActivity.objects.filter(reference="PA-0900").exists()


@pytest.mark.parametrize("character", ["\t", "\n", "\r\n"], ids=repr)
def test_list_import_keeps_tabs_and_line_breaks(dpo_client, character):
    content = categories_csv(description=f"On{character}site")

    response = preview(dpo_client, content)

    assert "confirm_form" in response.context


# ---------------------------------------------------------------------------
# The register import's cell reader
# ---------------------------------------------------------------------------


@CHARACTERS
@pytest.mark.parametrize(
    "read",
    [
        reading.read_text,
        reading.read_reference,
        reading.read_whole_number,
        reading.read_country,
        reading.read_boolean(nullable=True),
        reading.read_many("subjects"),
        reading.read_one("organisations"),
        # The ICO template's cells, read as text.
        lambda value, lookups: reading.cell_text(value),
    ],
    ids=[
        "text",
        "reference",
        "number",
        "country",
        "yes-no",
        "names",
        "name",
        "ico-text",
    ],
)
def test_register_import_refuses_a_control_character_in_a_cell(read, character):
    with pytest.raises(CellError) as refused:
        read(f"PA{character}-0001", Lookups())

    assert str(refused.value) == REFUSED[character]


# ---------------------------------------------------------------------------
# Exports of a text stored with one
# ---------------------------------------------------------------------------


def test_list_export_leaves_out_a_stored_control_character(viewer_client):
    DataSubjectCategoryFactory(name="Visitors", description="On\x0bsite\x1b")

    page = viewer_client.get(reverse(LIST_EXPORT))
    data = {**form_data(page, containing="format", submit=None), "format": XLSX}
    response = viewer_client.post(reverse(LIST_EXPORT), data)

    assert response["Content-Disposition"].startswith("attachment;")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    headings = rows[0]
    [row] = rows[1:]
    assert row[headings.index("description")] == "Onsite"


def test_register_export_leaves_out_a_stored_control_character():
    ProcessingActivityFactory(name="Site\x0bvisits")
    out = io.BytesIO()

    export_register(fmt="xlsx", out=out)

    sheet = load_workbook(io.BytesIO(out.getvalue()))[layout.ACTIVITIES.name]
    names = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert names == ["Sitevisits"]
