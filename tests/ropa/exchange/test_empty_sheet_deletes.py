"""
Child rows a file leaves out are deleted only with consent: from the command
line with ``--allow-deletes``, in the admin by confirming a preview that lists
them. A child sheet with only its heading row deletes nothing, anywhere: it is
taken as not in the file, and the report says so.

Each file is the register exported from here, edited in openpyxl as a person
edits it in a spreadsheet.
"""

from io import StringIO

import lxml.html
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from openpyxl import load_workbook

from ropa.exchange import layout
from ropa.exchange.export import export_register
from ropa.exchange.ours import EMPTY_CHILD_SHEET
from ropa.management.commands.import_register import DELETES_REFUSED
from ropa.models import LawfulBasis, RetentionRule
from tests.admin_pages import form_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sample_register")]

REGISTER_IMPORT = "admin:ropa_processingactivity_import_register"
CONFIRM_URL = "admin:ropa_processingactivity_import_register_confirm"
BASES_KEPT = EMPTY_CHILD_SHEET.format(
    sheet=layout.LAWFUL_BASES.name, records="lawful bases"
)


@pytest.fixture
def exported(tmp_path):
    """The register's XLSX export, as the DPO downloads it."""
    path = tmp_path / "register.xlsx"
    with path.open("wb") as out:
        export_register(fmt="xlsx", out=out)
    return path


def clear_sheet(path, title):
    """Delete every row of the sheet ``title`` but its heading row."""
    book = load_workbook(path)
    sheet = book[title]
    sheet.delete_rows(2, sheet.max_row)
    book.save(path)


def delete_row(path, title, reference, **cells):
    """
    Delete the first row of ``reference`` from the sheet ``title`` whose
    ``cells`` ({column: text}) are as given.
    """
    book = load_workbook(path)
    sheet = book[title]
    headings = [cell.value for cell in sheet[1]]
    row = next(
        line[0].row
        for line in sheet.iter_rows(min_row=2)
        if line[0].value == reference
        and all(
            line[headings.index(column)].value == text for column, text in cells.items()
        )
    )
    sheet.delete_rows(row)
    book.save(path)


def delete_basis(path, basis):
    """Delete the row of ``basis`` from the Lawful bases sheet."""
    delete_row(
        path,
        layout.LAWFUL_BASES.name,
        basis.activity.reference,
        Basis=basis.get_basis_display(),
    )


def upload(client, path):
    """Upload ``path`` on the register import page, as our own export."""
    page = client.get(reverse(REGISTER_IMPORT))
    data = {**form_data(page, containing="format", submit=None), "format": "ours"}
    data["file"] = SimpleUploadedFile(path.name, path.read_bytes())
    return client.post(reverse(REGISTER_IMPORT), data)


def run(*args):
    stdout = StringIO()
    call_command("import_register", *args, stdout=stdout, stderr=StringIO())
    return stdout.getvalue()


def first_basis(reference):
    return LawfulBasis.objects.filter(activity__reference=reference).order_by("pk")[0]


def kept_bases():
    return set(LawfulBasis.objects.values_list("pk", flat=True))


# ---------------------------------------------------------------------------
# A sheet with only its heading row
# ---------------------------------------------------------------------------


def test_command_leaves_the_rows_of_a_sheet_without_rows(exported):
    bases = kept_bases()
    clear_sheet(exported, layout.LAWFUL_BASES.name)

    stdout = run(str(exported))

    assert BASES_KEPT in stdout
    assert "Nothing to change." in stdout
    assert kept_bases() == bases


def test_command_with_allow_deletes_leaves_the_rows_of_a_sheet_without_rows(exported):
    bases = kept_bases()
    clear_sheet(exported, layout.LAWFUL_BASES.name)

    stdout = run(str(exported), "--allow-deletes")

    assert BASES_KEPT in stdout
    assert kept_bases() == bases


def test_admin_preview_of_a_sheet_without_rows_deletes_nothing(dpo_client, exported):
    bases = kept_bases()
    clear_sheet(exported, layout.RETENTION_RULES.name)
    rules = RetentionRule.objects.count()

    preview = upload(dpo_client, exported)

    document = lxml.html.document_fromstring(preview.content.decode())
    notes = [
        item.text_content() for item in document.xpath('//*[@id="import-notes"]/li')
    ]
    assert (
        EMPTY_CHILD_SHEET.format(
            sheet=layout.RETENTION_RULES.name, records="retention rules"
        )
        in notes
    )
    assert not document.xpath('//*[@id="import-changes"]')
    assert RetentionRule.objects.count() == rules
    assert kept_bases() == bases


# ---------------------------------------------------------------------------
# Rows left out of the file
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]], ids=["run", "dry-run"])
def test_command_refuses_to_delete_rows_without_allow_deletes(exported, dry_run):
    basis = first_basis("PA-0001")
    delete_basis(exported, basis)
    delete_row(exported, layout.RETENTION_RULES.name, "PA-0002")
    delete_row(exported, layout.RETENTION_RULES.name, "PA-0003")
    rules = RetentionRule.objects.count()

    with pytest.raises(CommandError) as refused:
        run(str(exported), *dry_run)

    assert str(refused.value) == DELETES_REFUSED.format(
        counts=f"1 row of '{layout.LAWFUL_BASES.name}', "
        f"2 rows of '{layout.RETENTION_RULES.name}'"
    )
    assert LawfulBasis.objects.filter(pk=basis.pk).exists()
    assert RetentionRule.objects.count() == rules


def test_command_deletes_rows_left_out_with_allow_deletes(exported):
    basis = first_basis("PA-0001")
    delete_basis(exported, basis)

    stdout = run(str(exported), "--allow-deletes")

    assert f"{layout.LAWFUL_BASES.name}: 0 new, 0 changed" in stdout
    assert "1 deleted" in stdout
    assert not LawfulBasis.objects.filter(pk=basis.pk).exists()


def test_admin_preview_lists_the_rows_a_confirmation_deletes(dpo_client, exported):
    basis = first_basis("PA-0001")
    delete_basis(exported, basis)

    preview = upload(dpo_client, exported)

    document = lxml.html.document_fromstring(preview.content.decode())
    listed = [
        [cell.text_content().strip() for cell in line.xpath("./td")[:4]]
        for line in document.xpath('//table[@id="import-changes"]/tbody/tr')
    ]
    assert ["deleted", layout.LAWFUL_BASES.name, "", f"PA-0001 / {basis.basis}"] in (
        listed
    )
    assert LawfulBasis.objects.filter(pk=basis.pk).exists()

    dpo_client.post(
        reverse(CONFIRM_URL),
        form_data(preview, form_id="import-confirm-form", submit="confirm"),
    )

    assert not LawfulBasis.objects.filter(pk=basis.pk).exists()
