"""
The import previews as a DPO reads them: what changed inside a long text,
and counts that agree with the rows listed and their errors.

Each file is the register exported from here (the sample register), edited
cell by cell with openpyxl as a person edits it in a spreadsheet, and
uploaded through the admin; the tests read the preview's HTML.
"""

import io
import tempfile

import lxml.html
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from ropa.core.rows import ACTIONS, UNCHANGED
from ropa.exchange import layout
from ropa.exchange.export import export_register

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("sample_register"),
]

REGISTER_IMPORT = "admin:ropa_processingactivity_import_register"
# PA-0008's purpose, past its 200th character: the words a DPO rewrites.
OLD_WORDS = "some profiling of your data may take place"
NEW_WORDS = "limited profiling of your data takes place"
# A wording pasted from a web page: text, never markup, in the preview.
PASTED_WORDS = "profiling of your data <em>never</em> takes place"


@pytest.fixture(autouse=True)
def uploads(settings, tmp_path):
    """The register import's uploads wait in a directory of this test's own."""
    settings.ROPA_IMPORT_UPLOAD_DIR = str(tmp_path / "uploads")


@pytest.fixture
def exported(tmp_path):
    """The register as the DPO downloads it, opened in openpyxl."""
    path = tmp_path / "register.xlsx"
    with path.open("wb") as out:
        export_register(fmt="xlsx", out=out)
    return load_workbook(path)


def cell(sheet, key, heading, *, header_row=1):
    """The cell of column ``heading`` in the row whose first cell is ``key``."""
    headings = [c.value for c in sheet[header_row]]
    row = next(
        line[0].row
        for line in sheet.iter_rows(min_row=header_row + 1)
        if line[0].value == key
    )
    return sheet.cell(row=row, column=headings.index(heading) + 1)


def rewrite(target, old, new):
    """Replace ``old`` by ``new`` in the text of ``target``, as a person types it."""
    text = target.value
    assert text.index(old) > 200, (
        "the words must be past the preview's first 200 characters"
    )
    target.value = text.replace(old, new)
    return text


def upload_register(client, book):
    out = io.BytesIO()
    book.save(out)
    return client.post(
        reverse(REGISTER_IMPORT),
        {
            "file": SimpleUploadedFile("register.xlsx", out.getvalue()),
            "format": "ours",
        },
    )


def html(response):
    return lxml.html.document_fromstring(response.content.decode())


def counts_table(document):
    """The preview's counts: {sheet: {action: number}}."""
    table = document.get_element_by_id("import-counts")
    actions = [th.text_content().strip().lower() for th in table.xpath("./thead//th")][
        1:
    ]
    return {
        line.xpath("./th")[0].text_content().strip(): dict(
            zip(
                actions,
                (int(td.text_content()) for td in line.xpath("./td")),
                strict=True,
            )
        )
        for line in table.xpath("./tbody/tr")
    }


def listed_rows(document):
    """The rows the preview lists, as (action, sheet, row, record) tuples."""
    tables = document.xpath('//table[@id="import-changes"]')
    if not tables:
        return []
    return [
        tuple(td.text_content().strip() for td in line.xpath("./td")[:4])
        for line in tables[0].xpath("./tbody/tr")
        # The first line of a row holds its action, sheet, row and record.
        if line.xpath("./td[1][@rowspan]")
    ]


def change_cell(document, record, column):
    """The preview's cell that shows what changes in ``column`` of ``record``."""
    table = document.get_element_by_id("import-changes")
    current = None
    for line in table.xpath("./tbody/tr"):
        cells = line.xpath("./td")
        if cells[0].get("rowspan"):
            current = cells[3].text_content().strip()
            cells = cells[4:]
        if current == record and cells[0].text_content().strip() == column:
            return cells[1]
    raise AssertionError(f"no change of {column} of {record} in the preview")


# ---------------------------------------------------------------------------
# The register import
# ---------------------------------------------------------------------------


def test_register_preview_marks_the_changed_words_of_a_long_purpose(
    dpo_client, exported
):
    purpose = cell(exported[layout.ACTIVITIES.name], "PA-0008", "Purpose")
    rewrite(purpose, OLD_WORDS, NEW_WORDS)

    response = upload_register(dpo_client, exported)

    assert response.status_code == 200
    shown = change_cell(html(response), "PA-0008", "Purpose")
    assert [d.text_content() for d in shown.xpath(".//del")] == ["some", "may take"]
    assert [i.text_content() for i in shown.xpath(".//ins")] == ["limited", "takes"]
    # The change in its context: the words either side of it.
    assert "For this purpose, " in shown.text_content()
    assert " place by analysing your use" in shown.text_content()


def test_register_preview_does_not_show_an_unchanged_long_text_twice(
    dpo_client, exported
):
    purpose = cell(exported[layout.ACTIVITIES.name], "PA-0008", "Purpose")
    before = rewrite(purpose, OLD_WORDS, NEW_WORDS)

    response = upload_register(dpo_client, exported)

    page = html(response).text_content()
    # The text's opening words, unchanged, are left out of the change.
    assert before[:120] not in page
    assert page.count(before[-60:]) == 0


def test_register_preview_shows_a_pasted_tag_as_text(dpo_client, exported):
    purpose = cell(exported[layout.ACTIVITIES.name], "PA-0008", "Purpose")
    rewrite(purpose, OLD_WORDS, PASTED_WORDS)

    response = upload_register(dpo_client, exported)

    shown = change_cell(html(response), "PA-0008", "Purpose")
    assert shown.xpath(".//em") == []
    assert "<em>never</em>" in " ".join(i.text_content() for i in shown.xpath(".//ins"))


def test_register_preview_lists_every_row_it_counts_beside_its_errors(
    dpo_client, exported
):
    rewrite(
        cell(exported[layout.ACTIVITIES.name], "PA-0008", "Purpose"),
        OLD_WORDS,
        NEW_WORDS,
    )
    period = cell(exported[layout.RETENTION_RULES.name], "PA-0001", "Period")
    period.value = "three years"

    document = html(upload_register(dpo_client, exported))

    counts = counts_table(document)
    listed = listed_rows(document)
    assert counts[layout.ACTIVITIES.name]["changed"] == 1
    assert counts[layout.RETENTION_RULES.name]["invalid"] == 1
    assert [row[:3] for row in listed if row[0] == "invalid"] == [
        ("invalid", layout.RETENTION_RULES.name, str(period.row))
    ]
    for sheet, numbers in counts.items():
        for action in ACTIONS:
            if action != UNCHANGED:
                rows = [row for row in listed if row[:2] == (action, sheet)]
                assert numbers[action] == len(rows), (sheet, action)


def test_register_preview_counts_a_row_with_an_error_as_invalid(dpo_client, exported):
    sheet = exported[layout.LAWFUL_BASES.name]
    basis = cell(sheet, "PA-0003", "Basis")
    # Typed as a person says it, not as the register spells it.
    basis.value = "legitimate interest"
    rows_in_file = sheet.max_row - 1

    response = upload_register(dpo_client, exported)

    document = html(response)
    counts = counts_table(document)[layout.LAWFUL_BASES.name]
    assert counts["invalid"] == 1
    assert counts["deleted"] == 0
    assert sum(counts.values()) == rows_in_file
    assert listed_rows(document) == [
        ("invalid", layout.LAWFUL_BASES.name, str(basis.row), "PA-0003")
    ]
    assert len(response.context["errors"]) == 1


# ---------------------------------------------------------------------------
# A list's import (django-import-export)
# ---------------------------------------------------------------------------

LIST_EXPORT = "admin:ropa_processingactivity_export"
LIST_IMPORT = "admin:ropa_processingactivity_import"


def page_form(response):
    """The page's form (not the header's log-out form) and what it posts."""
    document = html(response)
    (form,) = [f for f in document.forms if f.get("id") != "logout-form"]
    return form, dict(form.form_values())


def option(form, name, text):
    """The value of the option labelled ``text`` of the select ``name``."""
    (value,) = form.xpath(
        ".//select[@name=$name]/option[normalize-space()=$text]/@value",
        name=name,
        text=text,
    )
    return value


def exported_list(client):
    """The activity list as its export page downloads it, in openpyxl."""
    form, data = page_form(client.get(reverse(LIST_EXPORT)))
    data["format"] = option(form, "format", "xlsx")
    response = client.post(reverse(LIST_EXPORT), data)
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.content))


def upload_list(client, book):
    form, data = page_form(client.get(reverse(LIST_IMPORT)))
    data["format"] = option(form, "format", "xlsx")
    out = io.BytesIO()
    book.save(out)
    data["import_file"] = SimpleUploadedFile("activities.xlsx", out.getvalue())
    return client.post(reverse(LIST_IMPORT), data)


def preview_table(document):
    """The preview's rows as {reference: {heading: cell}}."""
    (table,) = document.xpath('//table[contains(@class, "import-preview")]')
    headings = [th.text_content().strip() for th in table.xpath("./thead/tr/th")]
    lines = {}
    for line in table.xpath(".//tr[td]"):
        cells = dict(zip(headings, line.xpath("./td"), strict=True))
        lines[cells["reference"].text_content().strip()] = cells
    return lines


@pytest.fixture
def private_temp_folder(tmp_path, monkeypatch):
    """Files a list's import keeps for its confirmation go to this test's folder."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


@pytest.mark.usefixtures("private_temp_folder")
def test_list_preview_marks_the_changed_words_of_a_long_purpose(dpo_client):
    book = exported_list(dpo_client)
    rewrite(cell(book.active, "PA-0008", "purpose"), OLD_WORDS, NEW_WORDS)

    response = upload_list(dpo_client, book)

    assert response.status_code == 200
    shown = preview_table(html(response))["PA-0008"]["purpose"]
    assert [d.text_content() for d in shown.xpath(".//del")] == ["some", "may take"]
    assert [i.text_content() for i in shown.xpath(".//ins")] == ["limited", "takes"]
    assert "For this purpose, " in shown.text_content()


@pytest.mark.usefixtures("private_temp_folder")
def test_list_preview_lists_and_counts_an_invalid_row_as_invalid(dpo_client):
    book = exported_list(dpo_client)
    rewrite(cell(book.active, "PA-0008", "purpose"), OLD_WORDS, NEW_WORDS)
    status = cell(book.active, "PA-0004", "status")
    status.value = "finished"

    response = upload_list(dpo_client, book)

    document = html(response)
    lines = preview_table(document)
    invalid = lines["PA-0004"]
    assert invalid["Action"].text_content().strip() == "invalid"
    # The row as the file numbers its data rows, below the headings.
    assert invalid["Row"].text_content().strip() == str(status.row - 1)
    assert "status: " in invalid["Errors"].text_content()
    assert "finished" in invalid["Errors"].text_content()
    assert lines["PA-0008"]["Action"].text_content().strip() == "changed"
    counts = counts_table_of_list(document)
    assert counts["invalid"] == 1
    assert counts["deleted"] == 0
    for action, number in counts.items():
        listed = [
            line
            for line in lines.values()
            if line["Action"].text_content().strip() == action
        ]
        assert number == len(listed), action
    assert sum(counts.values()) == len(lines) == book.active.max_row - 1


def counts_table_of_list(document):
    """A list preview's counts: {action: number}."""
    table = document.get_element_by_id("import-counts")
    actions = [th.text_content().strip().lower() for th in table.xpath("./thead//th")]
    numbers = [int(td.text_content()) for td in table.xpath("./tbody//td")]
    return dict(zip(actions, numbers, strict=True))
