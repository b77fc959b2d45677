import datetime
import io
from unittest import mock

import lxml.html
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from ropa.enums import ActivityRole, ActivityStatus, TransferMechanism
from ropa.exchange.export import (
    FORMATS,
    ONE_ORGANISATION,
    XLSX_CONTENT_TYPE,
    ExportError,
    export_register,
)
from tests.admin_pages import form_data
from tests.factories import (
    DataProtectionOfficerFactory,
    InternationalTransferFactory,
    OrganisationFactory,
    ProcessingActivityFactory,
    SecurityMeasureFactory,
)

pytestmark = pytest.mark.django_db

PROCESSOR = "processor"
HEADINGS = [
    "Name and contact details of controller",
    "Categories of processing",
    "Names of third countries or international organisations that personal data "
    "are transferred to (if applicable)",
    "Safeguards for exceptional transfers of personal data to third countries or "
    "international organisations (if applicable)",
    "General description of technical and organisational security measures "
    "(if possible)",
]
NO_ORGANISATION = ONE_ORGANISATION.format(label=FORMATS[PROCESSOR].label)

ALPHA = (
    "Alpha Retail AB, Kungsgatan 2, 111 43 Stockholm, privacy@alpha.example, "
    "+46 8 555 000 01\n"
    "Representative: Alpha Representative Ltd, 1 High Street, London, "
    "rep@alpha-rep.example, +44 20 7946 0000\n"
    "Data Protection Officer: Alex Officer, Box 1, 111 43 Stockholm, "
    "dpo@alpha.example, +46 8 555 000 02"
)
BETA = "Beta Clinic AB, Vasagatan 3, 411 24 Göteborg, privacy@beta.example"


@pytest.fixture
def processor():
    """Cloud Ops Ltd, a UK processor, with its DPO and its EU representative."""
    return OrganisationFactory(
        name="Cloud Ops Ltd",
        country="GB",
        address="10 Dock Road, Leeds",
        email="privacy@cloudops.example",
        phone="+44 113 496 0000",
        dpo=DataProtectionOfficerFactory(
            name="Pat Officer",
            address="10 Dock Road, Leeds",
            email="dpo@cloudops.example",
            phone="+44 113 496 0001",
        ),
        representative=OrganisationFactory(
            name="Cloud Ops Representative B.V.",
            country="NL",
            address="Keizersgracht 1, Amsterdam",
            email="eu@cloudops.example",
            phone="+31 20 000 0000",
        ),
    )


@pytest.fixture
def clients():
    """Alpha, with its representative and DPO; Beta, with neither."""
    alpha = OrganisationFactory(
        name="Alpha Retail AB",
        address="Kungsgatan 2,\n111 43 Stockholm",
        email="privacy@alpha.example",
        phone="+46 8 555 000 01",
        dpo=DataProtectionOfficerFactory(
            name="Alex Officer",
            address="Box 1, 111 43 Stockholm",
            email="dpo@alpha.example",
            phone="+46 8 555 000 02",
        ),
        representative=OrganisationFactory(
            name="Alpha Representative Ltd",
            country="GB",
            address="1 High Street, London",
            email="rep@alpha-rep.example",
            phone="+44 20 7946 0000",
        ),
    )
    beta = OrganisationFactory(
        name="Beta Clinic AB",
        address="Vasagatan 3, 411 24 Göteborg",
        email="privacy@beta.example",
    )
    return alpha, beta


@pytest.fixture
def payroll(processor, clients):
    """PA-0001: payroll run for both clients, with two transfers and security."""
    activity = ProcessingActivityFactory(
        reference="PA-0001",
        role=ActivityRole.PROCESSOR,
        name="Payroll",
        purpose="Calculating and paying the clients' employees' salaries.",
        organisations=[processor],
        client_controllers=[clients[1], clients[0]],
        security_description="Encrypted at rest and in transit.",
        security_measures=[SecurityMeasureFactory(name="Multi-factor authentication")],
    )
    InternationalTransferFactory(
        activity=activity, country="IN", mechanism=TransferMechanism.SCC
    )
    InternationalTransferFactory(
        activity=activity,
        to_international_organisation=True,
        mechanism=TransferMechanism.COMPELLING_INTERESTS,
        safeguards_documentation="Assessment memo SG-7",
    )
    return activity


def _export(processor=None, **options):
    out = io.BytesIO()
    export_register(fmt=PROCESSOR, out=out, controller=processor, **options)
    return out.getvalue()


def _rows(data):
    """The Template sheet's rows as a reader sees them, trailing empty cells cut."""
    worksheet = load_workbook(io.BytesIO(data))["Template"]
    rows = []
    for values in worksheet.iter_rows(values_only=True):
        cells = ["" if value is None else value for value in values]
        while cells and cells[-1] == "":
            cells.pop()
        rows.append(cells)
    return rows


def _records(data):
    """The rows below the headings, keyed by heading."""
    rows = _rows(data)
    assert rows[8] == HEADINGS
    return [dict(zip(HEADINGS, row, strict=False)) for row in rows[9:]]


# ---------------------------------------------------------------------------
# The file
# ---------------------------------------------------------------------------


def test_processor_export_header_block_names_the_processor_its_dpo_and_representative(
    processor,
):
    rows = _rows(_export(processor))
    assert rows[0][0].startswith(
        "Record of categories of processing activities carried out on behalf of "
        "controllers (GDPR Art. 30(2)), as it stood on "
    )
    assert rows[1:6] == [
        ["", "Processor", "Data Protection Officer", "Representative"],
        ["Name", "Cloud Ops Ltd", "Pat Officer", "Cloud Ops Representative B.V."],
        [
            "Address",
            "10 Dock Road, Leeds",
            "10 Dock Road, Leeds",
            "Keizersgracht 1, Amsterdam",
        ],
        [
            "Email",
            "privacy@cloudops.example",
            "dpo@cloudops.example",
            "eu@cloudops.example",
        ],
        ["Telephone", "+44 113 496 0000", "+44 113 496 0001", "+31 20 000 0000"],
    ]


def test_processor_export_puts_the_section_and_headings_where_the_ico_template_does(
    processor,
):
    rows = _rows(_export(processor))
    assert rows[6] == []
    assert rows[7] == ["Article 30 Record of Processing Activities"]
    assert rows[8] == HEADINGS
    assert load_workbook(io.BytesIO(_export(processor)))["Template"].freeze_panes == (
        "A10"
    )


def test_processor_export_row_names_every_client_controller_with_its_contacts(
    processor, payroll
):
    [record] = _records(_export(processor))
    assert record == {
        "Name and contact details of controller": f"{ALPHA}\n\n{BETA}",
        "Categories of processing": (
            "Payroll\n\nCalculating and paying the clients' employees' salaries."
        ),
        HEADINGS[2]: (
            "India (Standard contractual clauses (Art. 46(2)(c))); "
            "World Health Organization (Compelling legitimate interests "
            "(Art. 49(1) second subparagraph))"
        ),
        HEADINGS[3]: "World Health Organization: Assessment memo SG-7",
        HEADINGS[4]: (
            "Encrypted at rest and in transit.\n\nMeasures: Multi-factor authentication"
        ),
    }


def test_processor_export_holds_only_the_organisations_current_processor_records(
    processor, clients, payroll
):
    ProcessingActivityFactory(reference="PA-0002", organisations=[processor])
    ProcessingActivityFactory(
        reference="PA-0003",
        role=ActivityRole.PROCESSOR,
        name="Retired hosting",
        status=ActivityStatus.RETIRED,
        organisations=[processor],
        client_controllers=[clients[0]],
    )
    ProcessingActivityFactory(
        reference="PA-0004",
        role=ActivityRole.PROCESSOR,
        name="Another processor's mailing",
        client_controllers=[clients[0]],
    )
    ProcessingActivityFactory(
        reference="PA-0005",
        role=ActivityRole.PROCESSOR,
        name="Backups",
        purpose="",
        organisations=[processor],
        client_controllers=[clients[1]],
    )
    records = _records(_export(processor))
    assert [record["Categories of processing"] for record in records] == [
        "Payroll\n\nCalculating and paying the clients' employees' salaries.",
        "Backups",
    ]
    assert records[1]["Name and contact details of controller"] == BETA


def test_processor_export_as_of_a_day_shows_the_record_as_it_stood(processor, clients):
    alpha, beta = clients
    day = timezone.localdate() - datetime.timedelta(days=30)
    then = datetime.datetime.combine(
        day, datetime.time(12), tzinfo=timezone.get_default_timezone()
    )
    with mock.patch("django.utils.timezone.now", return_value=then):
        activity = ProcessingActivityFactory(
            role=ActivityRole.PROCESSOR,
            name="Old payroll",
            purpose="",
            organisations=[processor],
            client_controllers=[beta],
        )
    activity.name = "Payroll"
    activity._change_reason = "Renamed in a test"
    activity.save()
    activity.client_controllers.set([alpha, beta])
    ProcessingActivityFactory(
        role=ActivityRole.PROCESSOR, organisations=[processor], name="New hosting"
    )

    [record] = _records(_export(processor, as_of=day))
    assert record["Categories of processing"] == "Old payroll"
    assert record["Name and contact details of controller"] == BETA
    assert _rows(_export(processor, as_of=day))[0][0].endswith(
        f", as of {day.isoformat()}"
    )
    now = _records(_export(processor))
    assert [record["Categories of processing"] for record in now] == [
        "Payroll",
        "New hosting\n\nTo deliver the service the customer ordered.",
    ]


def test_processor_export_without_an_organisation_is_refused():
    with pytest.raises(ExportError) as raised:
        _export()
    assert str(raised.value) == NO_ORGANISATION


# Register as it stands, for one organisation, whatever its number of records:
#   catalogue: organisations, processor agreements, joint arrangements, the
#     agreements' sub-processors, the arrangements' parties, DPOs, data
#     subject categories, personal data categories, recipients, security
#     measures, usernames (11);
#   the chunk: activities, 7 many-to-many tables, lawful bases, transfers,
#     retention rules (11).
QUERIES = 22


@pytest.mark.parametrize("count", [1, 3])
def test_processor_export_queries_do_not_grow_with_its_records(
    django_assert_num_queries, processor, clients, count
):
    for _ in range(count):
        activity = ProcessingActivityFactory(
            role=ActivityRole.PROCESSOR,
            organisations=[processor],
            client_controllers=list(clients),
        )
        InternationalTransferFactory(activity=activity)
    with django_assert_num_queries(QUERIES):
        data = _export(processor)
    assert len(_records(data)) == count


# ---------------------------------------------------------------------------
# The admin's export page and the command
# ---------------------------------------------------------------------------


def _page_url():
    return reverse("admin:ropa_processingactivity_export_register")


def _submitted(client, **choices):
    """
    The export form as the browser submits it after the user picks
    ``choices``, each among the options the page renders; the response and
    the downloaded file (None when the page is shown again).
    """
    page = client.get(_page_url())
    document = lxml.html.document_fromstring(page.content)
    for name, value in choices.items():
        options = document.xpath(
            '//form[@id="export-register-form"]//select[@name=$name]/option/@value',
            name=name,
        )
        assert value in options, (name, options)
    data = {**form_data(page, form_id="export-register-form", submit=None), **choices}
    response = client.get(_page_url(), data)
    try:
        body = b"".join(response.streaming_content) if response.streaming else None
    finally:
        response.close()
    return response, body


def test_export_page_downloads_the_processor_record(viewer_client, processor, payroll):
    response, body = _submitted(
        viewer_client, format=PROCESSOR, controller="cloud-ops-ltd"
    )
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="ropa-register-cloud-ops-ltd-{today}-processor.xlsx"'
    )
    rows = _rows(body)
    assert rows[2][:2] == ["Name", "Cloud Ops Ltd"]
    [record] = _records(body)
    assert record["Name and contact details of controller"] == f"{ALPHA}\n\n{BETA}"


def test_export_page_asks_for_the_processor(viewer_client, processor):
    response, body = _submitted(viewer_client, format=PROCESSOR)
    assert response.status_code == 200
    assert body is None
    assert response.context["form"].errors == {"controller": [NO_ORGANISATION]}


def test_export_register_command_writes_the_processor_record(
    tmp_path, processor, payroll
):
    path = tmp_path / "processor.xlsx"
    out = io.StringIO()
    call_command(
        "export_register",
        "--format",
        PROCESSOR,
        "--controller",
        "cloud-ops-ltd",
        "--output",
        str(path),
        stdout=out,
    )
    assert out.getvalue().strip() == (
        "Exported the register of Cloud Ops Ltd as it stands (processor): "
        f"Template 1. Written to {path}."
    )
    data = path.read_bytes()
    assert _rows(data)[2][:4] == [
        "Name",
        "Cloud Ops Ltd",
        "Pat Officer",
        "Cloud Ops Representative B.V.",
    ]
    [record] = _records(data)
    assert record["Name and contact details of controller"] == f"{ALPHA}\n\n{BETA}"


def test_export_register_command_refuses_the_processor_record_without_organisation(
    tmp_path,
):
    path = tmp_path / "processor.xlsx"
    with pytest.raises(CommandError) as raised:
        call_command(
            "export_register",
            "--format",
            PROCESSOR,
            "--output",
            str(path),
            stdout=io.StringIO(),
        )
    assert str(raised.value) == NO_ORGANISATION
    assert list(tmp_path.iterdir()) == []
