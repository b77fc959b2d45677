"""
A DPO migrates a colleague's filled UK ICO template through the admin, then
exports the controller's template and imports it back (issue #13), in a real
browser.
"""

import re

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from controllers.models import Organisation
from ropa.core.rows import ACTIONS, NEW, UNCHANGED
from ropa.core.uploads import folder
from ropa.enums import ActivityStatus, LawfulBasisChoice
from ropa.exchange import layout
from ropa.exchange.admin_import import NOTHING_TO_DO, RegisterImportForm
from ropa.exchange.export import FORMATS, ICO, ONE_ORGANISATION, default_filename
from ropa.exchange.ico import DRAFT_NOTE
from ropa.exchange.ico_layout import SHEET_NAME, TITLE
from ropa.exchange.plan import ICO as ICO_TEMPLATE
from ropa.exchange.plan import IMPORT_FORMATS, import_reason
from ropa.models import ProcessingActivity
from ropa.roles import DPO
from tests.e2e.conftest import (
    ACTIVITIES,
    at,
    change_url,
    fits_width,
    log_in,
    member_of,
    open_export_page,
)
from tests.e2e.test_dpo_journeys import table, texts
from tests.factories import PASSWORD
from tests.ropa.exchange import ico_files
from tests.ropa.exchange.ico_files import (
    CONTROLLER,
    HEADINGS,
    OFFICER,
    OWNER,
    fingerprint,
    import_command,
    write_northwind,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

FILE_NAME = "northwind-ropa.xlsx"
IMPORT_URL = "admin:ropa_processingactivity_import_register"
EXPORT_URL = "admin:ropa_processingactivity_export_register"
# The import page's choice of format, and of controller left to the file.
ICO_FORMAT = dict(IMPORT_FORMATS)[ICO_TEMPLATE]
FROM_THE_HEADER_BLOCK = RegisterImportForm.base_fields["controller"].empty_label
# How the preview names a new activity: its reference, its name (and a
# lawful basis, a transfer or a retention rule: "PA-0027 / legal_obligation").
ACTIVITY_KEY = re.compile(r"(?P<reference>PA-\d{4}) (?P<name>(?!/ ).+)")
# The bakery's rows, from row 10 of its template.
NORTHWIND_ACTIVITIES = (
    "Payroll",
    "Loyalty card",
    "Sickness absence management",
    "Answering customer enquiries",
)


@pytest.fixture(autouse=True)
def uploads(settings, tmp_path):
    """The folder uploads wait in (the live server's too), empty, for each test."""
    settings.ROPA_IMPORT_UPLOAD_DIR = str(tmp_path / "uploads")
    return folder()


def waiting(uploads):
    """The uploads waiting in the folder ``uploads`` for a confirmation."""
    return sorted(uploads.iterdir()) if uploads.exists() else []


def to_review(kind, name, row, column):
    """The preview's line for a record the import would create."""
    return (
        f"Would create, to review: {kind} '{name}' (from sheet '{SHEET_NAME}', "
        f"row {row}, column '{column}')"
    )


def import_template(page, path):
    """
    From the activity list, upload the filled ICO template at ``path`` on the
    import page, the controller left to its header block; wait for the preview.
    """
    page.goto(ACTIVITIES)
    fits_width(page)
    page.get_by_role("link", name="Import register", exact=True).click()
    page.wait_for_url(at(reverse(IMPORT_URL)))
    fits_width(page)
    form = page.locator("#import-register-form")
    form.get_by_label(ICO_FORMAT, exact=True).check()
    controller = form.locator("select[name=controller]")
    assert controller.input_value() == ""
    assert controller.locator("option:checked").inner_text() == FROM_THE_HEADER_BLOCK
    form.locator("input[type=file]").set_input_files(path)
    form.locator("input[type=submit]").click()
    page.wait_for_selector("#import-counts")
    fits_width(page)


def previewed_activities(page):
    """The new activities the preview lists: {name: (reference, row in the file)}."""
    found = {}
    for line in page.locator("#import-changes tbody tr.import-new").all():
        cells = texts(line.locator("td"))
        # A record's first line names it: action, sheet, row, record, column...
        if len(cells) >= 5 and (key := ACTIVITY_KEY.fullmatch(cells[3])):
            found[key["name"]] = (key["reference"], int(cells[2]))
    return found


def activity_counts(**counted):
    """The preview's counts of the activities' sheet: 0 for each action not given."""
    return {action.capitalize(): str(counted.get(action, 0)) for action in ACTIONS}


def test_dpo_migrates_a_filled_ico_template_to_draft_activities(
    browser_page, sample_register, tmp_path, uploads
):
    page = browser_page
    dpo = member_of(DPO)
    path = write_northwind(tmp_path / FILE_NAME)
    before = fingerprint()
    log_in(page, dpo.username, PASSWORD)

    import_template(page, path)

    assert table(page, "#import-counts")[layout.ACTIVITIES.name] == activity_counts(
        **{NEW: len(NORTHWIND_ACTIVITIES)}
    )
    created = texts(page.locator("#import-created li"))
    for line in (
        to_review("Organisation", CONTROLLER.name, 3, "Controller"),
        to_review(
            "Data protection officer", OFFICER.name, 3, "Data Protection Officer"
        ),
        to_review("Organisation", "Harbour Foods Ltd", 11, HEADINGS[2]),
        to_review(
            "Processor agreement",
            f"DPA-0001: {ico_files.PAYROLL_CONTRACT}",
            10,
            HEADINGS[6],
        ),
        to_review("Recipient", "Payroll Bureau Ltd", 10, HEADINGS[5]),
        to_review("Recipient", "Helpdesk Software Ltd", 13, HEADINGS[5]),
        f"Column '{OWNER}' is not a column of the template: its content (3 rows) is "
        "kept on each activity, under 'Kept from an import'.",
    ):
        assert line in created
    assert texts(page.locator("#import-notes li"))[0] == DRAFT_NOTE.format(
        controller=CONTROLLER.name
    )
    previewed = previewed_activities(page)
    assert {name: row for name, (_, row) in previewed.items()} == {
        name: row for row, name in enumerate(NORTHWIND_ACTIVITIES, start=10)
    }
    references = {name: reference for name, (reference, _) in previewed.items()}
    # The preview's counts, sheet by sheet, as the message after it says them.
    new_records = "; ".join(
        f"{group} {counted[NEW.capitalize()]} {NEW}"
        for group, counted in table(page, "#import-counts").items()
        if counted[NEW.capitalize()] != "0"
    )
    assert fingerprint() == before
    assert len(waiting(uploads)) == 1

    page.get_by_role("button", name="Confirm the import").click()
    page.wait_for_url(at(ACTIVITIES))
    fits_width(page)
    # Every record the preview counted as new, sheet by sheet.
    assert page.locator(".messagelist .success").inner_text() == (
        f"{import_reason(FILE_NAME)}: {new_records}."
    )
    assert f"Activities {len(NORTHWIND_ACTIVITIES)} {NEW}" in new_records
    assert waiting(uploads) == []

    # The list opens on the active register: the drafts are a filter away.
    assert page.locator("#result_list tbody tr", has_text=CONTROLLER.name).count() == 0
    page.locator("#changelist-filter").get_by_role(
        "link", name=ActivityStatus.DRAFT.label, exact=True
    ).click()
    page.wait_for_url(f"**status={ActivityStatus.DRAFT}**")
    fits_width(page)
    rows = page.locator("#result_list tbody tr")
    northwind = rows.filter(has_text=CONTROLLER.name)
    assert sorted(texts(northwind.locator("td.field-name"))) == sorted(
        NORTHWIND_ACTIVITIES
    )
    assert set(texts(northwind.locator("td.field-status"))) == {
        ActivityStatus.DRAFT.label
    }

    northwind.get_by_role("link", name=references["Payroll"], exact=True).click()
    payroll = ProcessingActivity.objects.get(reference=references["Payroll"])
    assert payroll.name == "Payroll"
    page.wait_for_url(at(change_url(payroll)))
    fits_width(page)
    page.get_by_text("Kept from an import", exact=True).click()
    notes = page.locator("#id_import_notes")
    notes.wait_for(state="visible")
    assert notes.input_value() == f"{OWNER}: Head of HR"
    basis = page.locator(
        "#lawful_bases-group .inline-related:not(.empty-form) select[name$=-basis]"
    )
    assert basis.count() == 1
    assert basis.locator("option:checked").inner_text() == (
        LawfulBasisChoice.LEGAL_OBLIGATION.label
    )
    assert page.locator("#id_status").input_value() == ActivityStatus.DRAFT

    controller = Organisation.objects.get(name=CONTROLLER.name)
    assert controller.dpo.email == OFFICER.email
    activities = ProcessingActivity.objects.filter(name__in=NORTHWIND_ACTIVITIES)
    # Each written under the reference its preview showed.
    assert {activity.name: activity.reference for activity in activities} == (
        references
    )
    for activity in activities:
        assert activity.status == ActivityStatus.DRAFT
        assert list(activity.organisations.all()) == [controller]
        record = activity.history.first()
        assert (record.history_user, record.history_change_reason) == (
            dpo,
            import_reason(FILE_NAME),
        )


def test_dpo_exports_a_controllers_ico_template_and_imports_it_back_unchanged(
    browser_page, sample_register, tmp_path, uploads
):
    page = browser_page
    import_command(write_northwind(tmp_path / FILE_NAME))
    controller = Organisation.objects.get(name=CONTROLLER.name)
    ico_label = FORMATS[ICO].label
    downloads = []
    page.on("download", lambda download: downloads.append(download))
    log_in(page, member_of(DPO).username, PASSWORD)

    page.goto(ACTIVITIES)
    fits_width(page)
    open_export_page(page)
    form = page.locator("#export-register-form")
    form.locator("select[name=format]").select_option(label=ico_label)
    form.locator("input[type=submit]").click()
    page.wait_for_url(f"**format={ICO}**")
    fits_width(page)
    controller_row = form.locator(
        ".form-row", has=page.locator("select[name=controller]")
    )
    assert texts(controller_row.locator(".errorlist li")) == [
        ONE_ORGANISATION.format(label=ico_label)
    ]
    assert downloads == []

    form.locator("select[name=controller]").select_option(label=controller.name)
    with page.expect_download() as download_info:
        form.locator("input[type=submit]").click()
    download = download_info.value
    assert download.failure() is None
    assert download.suggested_filename == default_filename(
        fmt=ICO, controller=controller
    )
    path = tmp_path / "exported" / download.suggested_filename
    download.save_as(path)

    sheet = load_workbook(path)[SHEET_NAME]
    assert sheet["A1"].value.startswith(f"{TITLE}, as it stood on ")
    assert [cell.value for cell in sheet[9]] == list(HEADINGS)
    assert [[cell.value for cell in sheet[row][:3]] for row in range(2, 7)] == [
        [None, "Controller", "Data Protection Officer"],
        ["Name", CONTROLLER.name, OFFICER.name],
        ["Address", CONTROLLER.address, OFFICER.address],
        ["Email", CONTROLLER.email, OFFICER.email],
        ["Telephone", CONTROLLER.telephone, OFFICER.telephone],
    ]
    purposes = [
        row[1].split("\n")[0] for row in sheet.iter_rows(min_row=10, values_only=True)
    ]
    assert sorted(purposes) == sorted(NORTHWIND_ACTIVITIES)
    before = fingerprint()

    import_template(page, path)

    assert page.locator("#content-main > p").first.inner_text() == NOTHING_TO_DO
    assert table(page, "#import-counts")[layout.ACTIVITIES.name] == activity_counts(
        **{UNCHANGED: len(NORTHWIND_ACTIVITIES)}
    )
    assert page.locator("#import-changes").count() == 0
    assert page.locator("#import-errors").count() == 0
    assert page.get_by_role("button", name="Confirm the import").count() == 0
    assert page.get_by_role("link", name="Upload another file").is_visible()
    assert fingerprint() == before
    assert waiting(uploads) == []
    assert len(downloads) == 1
