import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from ropa.exchange import layout
from ropa.exchange.export import export_register
from ropa.exchange.ico_layout import ARTICLE_6, BUSINESS_FUNCTION
from ropa.exchange.layout import CHILD_SHEETS
from ropa.exchange.plan import import_reason
from ropa.management.commands.import_register import PURGE_STALE_GONE
from ropa.models import ProcessingActivity
from tests.factories import GroupCompanyFactory, UserFactory
from tests.ropa.core.test_progress import Terminal
from tests.ropa.exchange.test_ico_import import PAYROLL, SUPPORT, write_template

# Every test runs over the sample register, loaded once for the module.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sample_register")]

FILE_NAME = "register.xlsx"


@pytest.fixture
def export(tmp_path):
    path = tmp_path / FILE_NAME
    with path.open("wb") as out:
        export_register(fmt="xlsx", out=out)
    return path


def set_cell(path, reference, column, value):
    workbook = load_workbook(path)
    sheet = workbook[layout.ACTIVITIES.name]
    headers = [cell.value for cell in sheet[1]]
    for cells in sheet.iter_rows(min_row=2):
        if cells[0].value == reference:
            cells[headers.index(column)].value = value
    workbook.save(path)


def run(*args):
    stdout, stderr = StringIO(), StringIO()
    call_command("import_register", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def test_import_register_applies_the_file_with_user_and_reason(export):
    user = UserFactory(username="dpo-import")
    set_cell(export, "PA-0004", "Business function", "Operations")

    stdout, _ = run(str(export), "--user", "dpo-import")

    assert "Activities: 0 new, 1 changed, 25 unchanged, 0 deleted, 0 invalid" in stdout
    assert "changed PA-0004 (sheet 'Activities', row 5): Business function" in stdout
    assert f"{import_reason(FILE_NAME)}." in stdout
    activity = ProcessingActivity.objects.get(reference="PA-0004")
    assert activity.business_function == "Operations"
    record = activity.history.first()
    assert (record.history_user, record.history_change_reason) == (
        user,
        import_reason(FILE_NAME),
    )


def test_import_register_without_user_records_the_reason(export):
    set_cell(export, "PA-0004", "Business function", "Operations")

    run(str(export))

    record = ProcessingActivity.objects.get(reference="PA-0004").history.first()
    assert (record.history_user, record.history_change_reason) == (
        None,
        import_reason(FILE_NAME),
    )


def test_import_register_dry_run_writes_nothing(export):
    set_cell(export, "PA-0004", "Business function", "Operations")

    stdout, _ = run(str(export), "--dry-run")

    assert "1 changed" in stdout
    assert "Dry run: nothing was written." in stdout
    activity = ProcessingActivity.objects.get(reference="PA-0004")
    assert activity.business_function != "Operations"


def test_import_register_unchanged_file(export):
    stdout, _ = run(str(export))

    assert "Nothing to change." in stdout


def test_import_register_reports_every_error_and_fails(export):
    set_cell(export, "PA-0002", "Status", "lost")
    set_cell(export, "PA-0026", "Recipients", "Nobody")

    with pytest.raises(CommandError, match=r"2 error\(s\): nothing was imported"):
        run(str(export))

    stderr = StringIO()
    with pytest.raises(CommandError):
        call_command("import_register", str(export), stdout=StringIO(), stderr=stderr)
    assert stderr.getvalue().splitlines() == [
        "Sheet 'Activities', row 3, column 'Status': 'lost' is not one of: Draft; "
        "Active; Retired.",
        "Sheet 'Activities', row 27, column 'Recipients': Unknown recipient: 'Nobody'.",
    ]
    assert not ProcessingActivity.objects.filter(status="lost").exists()


def test_import_register_bad_file_is_a_command_error(tmp_path):
    path = tmp_path / "notes.xlsx"
    path.write_text("not a workbook")

    with pytest.raises(CommandError, match="is not an Excel workbook"):
        run(str(path))


def test_import_register_missing_file(tmp_path):
    with pytest.raises(CommandError, match="No file"):
        run(str(tmp_path / "missing.xlsx"))


def test_import_register_unknown_user(export):
    with pytest.raises(CommandError, match="No user with the username 'ghost'"):
        run(str(export), "--user", "ghost")


def test_import_register_ico_takes_the_controller_its_header_names(tmp_path):
    controller = GroupCompanyFactory(name="Example Ltd")
    path = write_template(tmp_path / "ico.xlsx", rows=(PAYROLL,))

    out, _ = run(str(path), "--format", "ico")

    assert "Imported from ico.xlsx." in out
    activity = ProcessingActivity.objects.get(name="Payroll")
    assert list(activity.organisations.all()) == [controller]


def test_import_register_ico_unknown_controller(tmp_path):
    GroupCompanyFactory(name="Example Ltd")
    path = write_template(tmp_path / "ico.xlsx", rows=(PAYROLL,))

    with pytest.raises(CommandError, match="No organisation with the slug 'acme'"):
        run(str(path), "--format", "ico", "--controller", "acme")


def test_import_register_controller_only_with_ico(export):
    with pytest.raises(CommandError, match="--controller applies to --format ico"):
        run(str(export), "--controller", "example-ltd")


def test_import_register_ico_reports_what_it_created(tmp_path):
    controller = GroupCompanyFactory(name="Example Ltd")
    path = write_template(tmp_path / "ico.xlsx", rows=(PAYROLL, SUPPORT))

    stdout, _ = run(str(path), "--format", "ico", "--controller", "example-ltd")

    assert "Activities: 2 new" in stdout
    assert "Created 3 data subject categories: employees, Contractors, Customers" in (
        stdout
    )
    assert "Created 2 personal data categories: Bank details, Salary and tax" in (
        stdout
    )
    assert "new PA-0027 Payroll (sheet 'Controller', row 5)" in stdout
    assert "new PA-0028 Answering customer enquiries" in stdout
    imported = ProcessingActivity.objects.filter(reference__in=("PA-0027", "PA-0028"))
    assert set(imported.values_list("organisations", flat=True)) == {controller.pk}


def test_import_register_ico_dry_run_says_what_it_would_create(tmp_path):
    GroupCompanyFactory(name="Example Ltd")
    path = write_template(tmp_path / "ico.xlsx", rows=(PAYROLL,))

    stdout, _ = run(
        str(path), "--format", "ico", "--controller", "example-ltd", "--dry-run"
    )

    assert "Would create 2 data subject categories: employees, Contractors" in stdout
    assert not ProcessingActivity.objects.filter(name="Payroll").exists()


def test_import_register_ico_errors(tmp_path):
    GroupCompanyFactory(name="Example Ltd")
    bad = {**SUPPORT, ARTICLE_6: "Because", BUSINESS_FUNCTION: ""}
    path = write_template(tmp_path / "ico.xlsx", rows=(PAYROLL, bad))
    stderr = StringIO()

    with pytest.raises(CommandError, match="nothing was imported"):
        call_command(
            "import_register",
            str(path),
            "--format=ico",
            "--controller=example-ltd",
            stdout=StringIO(),
            stderr=stderr,
        )

    assert [line.split(":")[0] for line in stderr.getvalue().splitlines()] == [
        f"Sheet 'Controller', row 6, column '{BUSINESS_FUNCTION}'",
        f"Sheet 'Controller', row 6, column '{ARTICLE_6}'",
    ]
    assert not ProcessingActivity.objects.filter(name="Payroll").exists()


def test_import_register_purge_stale_points_to_clear_import_files():
    # An old cron line fails loudly, and says what to run instead.
    with pytest.raises(CommandError) as raised:
        run("--purge-stale")

    assert str(raised.value) == PURGE_STALE_GONE
    assert "clear_import_files" in PURGE_STALE_GONE


def test_import_register_needs_a_file():
    with pytest.raises(CommandError, match="Name the file to import"):
        run()


def bar_lines(text, label):
    """The redraws of the bar called ``label``, without their carriage returns."""
    return [line for line in text.split("\r") if line.startswith(f"{label} [")]


def test_import_register_shows_its_progress_on_a_terminal(export):
    set_cell(export, "PA-0004", "Business function", "Operations")
    stdout, stderr = StringIO(), Terminal()

    call_command("import_register", str(export), stdout=stdout, stderr=stderr)

    text = stderr.getvalue()
    assert text.startswith("\rReading [")
    assert re.search(r"\] 1/1  in \d:\d\d:\d\d\n$", bar_lines(text, "Reading")[-1])
    imported = {layout.ACTIVITIES.name, *(child.name for child in CHILD_SHEETS)}
    rows = sum(
        sheet.max_row - 1 for sheet in load_workbook(export) if sheet.title in imported
    )
    assert re.search(
        rf"\] {rows}/{rows}  in \d:\d\d:\d\d\n$", bar_lines(text, "Checking")[-1]
    )
    assert re.search(r"\] 1/1  in \d:\d\d:\d\d\n$", bar_lines(text, "Importing")[-1])
    assert f"{import_reason(FILE_NAME)}." in stdout.getvalue()


@pytest.mark.parametrize(
    ("stderr", "verbosity"),
    [
        (StringIO(), 1),  # not a terminal: cron, pipes, logs
        (Terminal(), 0),
    ],
)
def test_import_register_progress_stays_out_of_logs(export, stderr, verbosity):
    set_cell(export, "PA-0004", "Business function", "Operations")

    call_command(
        "import_register",
        str(export),
        verbosity=verbosity,
        stdout=StringIO(),
        stderr=stderr,
    )

    assert stderr.getvalue() == ""
    assert (
        ProcessingActivity.objects.get(reference="PA-0004").business_function
        == "Operations"
    )
