"""
The register as a document, as data: what the PDF and Word files print
(``ropa.exchange.document``), read from the register as the other exports
read it.
"""

import datetime

import pytest
from django.utils import timezone

from ropa.enums import ActivityStatus, TransferMechanism
from ropa.exchange.document import (
    ALL_CONTROLLERS,
    CONTROLLER_ELEMENTS,
    CONTROLLER_PART,
    FINGERPRINT,
    FINGERPRINT_NOTE,
    NONE_RECORDED,
    PROCESSOR_ELEMENTS,
    PROCESSOR_PART,
    build_document,
    statuses_of,
)
from ropa.exchange.document_annexes import (
    ANNEXES,
    ARRANGEMENTS,
    ORGANISATIONS,
    PROCESSORS,
    RETENTION,
    SECURITY,
    TRANSFERS,
    UNUSED,
    WHERE_THE_DATA_GOES,
)
from ropa.exchange.document_blocks import (
    FLOWS,
    MAP,
    NOT_RECORDED,
    Field,
    Gap,
    Heading,
    Picture,
    Text,
)
from ropa.exchange.snapshot import Register
from tests.factories import (
    DataProtectionOfficerFactory,
    GroupCompanyFactory,
    InternationalTransferFactory,
    JointControllerArrangementFactory,
    OrganisationFactory,
    ProcessingActivityFactory,
    ProcessorAgreementFactory,
    RecipientFactory,
)

pytestmark = pytest.mark.django_db


def document(controller=None, **options):
    return build_document(
        Register(controller=controller), exported_at=timezone.now(), **options
    )


def section(doc, reference):
    """The blocks of the activity ``reference``, up to the next section."""
    blocks = doc.blocks
    start = next(
        n
        for n, block in enumerate(blocks)
        if isinstance(block, Heading) and block.text.startswith(f"{reference} ")
    )
    end = next(
        (
            n
            for n, block in enumerate(blocks[start + 1 :], start + 1)
            if isinstance(block, Heading) and block.level <= 1
        ),
        len(blocks),
    )
    return blocks[start:end]


def element(blocks, heading):
    """The blocks under the element ``heading`` of a section."""
    start = blocks.index(Heading(2, heading))
    end = next(
        (
            n
            for n, block in enumerate(blocks[start + 1 :], start + 1)
            if isinstance(block, Heading)
        ),
        len(blocks),
    )
    return blocks[start + 1 : end]


def references(doc):
    """The references of the activities in the contents, in order."""
    return [
        heading.text.split()[0]
        for heading in doc.contents()
        if heading.key.startswith("activity-")
    ]


def position(blocks, heading):
    """Where the heading ``heading`` is among ``blocks``."""
    return next(
        n
        for n, block in enumerate(blocks)
        if isinstance(block, Heading) and block.text == heading
    )


def headings(blocks, level):
    return [
        block.text
        for block in blocks
        if isinstance(block, Heading) and block.level == level
    ]


def values(blocks, label):
    return [
        block.value
        for block in blocks
        if isinstance(block, Field) and block.label == label
    ]


def field_value(blocks, label):
    [value] = values(blocks, label)
    return value


def test_document_gives_each_record_the_elements_of_art30_in_the_articles_order():
    ProcessingActivityFactory(reference="PA-0001", name="To manage orders")
    ProcessingActivityFactory(
        reference="PA-0002", name="To host a client's CRM", processor_record=True
    )
    doc = document()

    assert headings(doc.blocks, 0) == [
        ORGANISATIONS,
        CONTROLLER_PART,
        PROCESSOR_PART,
        ANNEXES,
    ]
    assert headings(section(doc, "PA-0001"), 2) == [
        heading for _, heading in CONTROLLER_ELEMENTS
    ]
    assert headings(section(doc, "PA-0002"), 2) == [
        heading for _, heading in PROCESSOR_ELEMENTS
    ]
    # Each record in its part: the controller's before the processor's.
    parts = [
        block.text
        for block in doc.blocks
        if isinstance(block, Heading) and block.level in (0, 1)
    ]
    assert parts.index(CONTROLLER_PART) < parts.index("PA-0001 To manage orders")
    assert parts.index(PROCESSOR_PART) < parts.index("PA-0002 To host a client's CRM")
    assert parts.index("PA-0001 To manage orders") < parts.index(PROCESSOR_PART)


def test_document_keeps_the_reference_order():
    for reference in ("PA-0003", "PA-0001", "PA-0002"):
        ProcessingActivityFactory(reference=reference)
    assert references(document()) == ["PA-0001", "PA-0002", "PA-0003"]


def test_document_says_not_recorded_and_marks_the_art30_gap():
    ProcessingActivityFactory(reference="PA-0001", recipients=[], security_measures=[])
    blocks = section(document(), "PA-0001")
    headings_by_letter = dict(CONTROLLER_ELEMENTS)

    recipients = element(blocks, headings_by_letter["30(1)(d)"])
    assert Field("Recipients", NOT_RECORDED, missing=True) in recipients
    assert Gap("Art. 30 gap (30(1)(d)): no recipient is recorded.") in recipients
    security = element(blocks, headings_by_letter["30(1)(g)"])
    assert security[0] == Text(NOT_RECORDED, missing=True)
    assert any(isinstance(block, Gap) for block in security)
    # No transfer, and none needed: said as such (not "not recorded"), no gap.
    transfers = element(blocks, headings_by_letter["30(1)(e)"])
    assert transfers == [Text(NONE_RECORDED["30(1)(e)"], missing=True)]
    assert NONE_RECORDED["30(1)(e)"].startswith("No transfer to a third country")


def test_document_prints_the_transfer_mechanism_and_art49_safeguards():
    activity = ProcessingActivityFactory(reference="PA-0001")
    InternationalTransferFactory(
        activity=activity,
        country="IN",
        mechanism=TransferMechanism.COMPELLING_INTERESTS,
        safeguards_documentation="Assessment of 2024-02-01, kept by the DPO.",
    )
    transfers = element(
        section(document(), "PA-0001"), dict(CONTROLLER_ELEMENTS)["30(1)(e)"]
    )
    value = field_value(transfers, "Transfer to India (IN)")
    assert (
        "Mechanism: Compelling legitimate interests (Art. 49(1) second subparagraph)"
        in value
    )
    assert (
        "Suitable safeguards (Art. 49(1) second subparagraph): "
        "Assessment of 2024-02-01, kept by the DPO."
    ) in value


@pytest.mark.parametrize(
    ("options", "included"),
    [
        ({}, ["PA-0001"]),
        ({"drafts": True}, ["PA-0001", "PA-0002"]),
        ({"retired": True}, ["PA-0001", "PA-0003"]),
        ({"drafts": True, "retired": True}, ["PA-0001", "PA-0002", "PA-0003"]),
    ],
)
def test_document_leaves_drafts_and_retired_out_unless_asked(options, included):
    ProcessingActivityFactory(reference="PA-0001")
    ProcessingActivityFactory(reference="PA-0002", status=ActivityStatus.DRAFT)
    ProcessingActivityFactory(reference="PA-0003", status=ActivityStatus.RETIRED)
    doc = document(statuses=statuses_of(**options))
    assert references(doc) == included
    assert doc.activities == len(included)


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({}, "Active only (draft and retired records left out)"),
        ({"drafts": True}, "Active and draft (retired records left out)"),
        ({"drafts": True, "retired": True}, "Active, draft and retired"),
    ],
)
def test_cover_says_which_statuses_it_holds(options, text):
    doc = document(statuses=statuses_of(**options))
    assert Field("Statuses included", text) in doc.cover


def test_fingerprint_is_the_same_for_the_same_data_and_changes_with_an_edit():
    activity = ProcessingActivityFactory(reference="PA-0001", name="To manage orders")
    first = build_document(Register(), exported_at=timezone.now())
    later = build_document(
        Register(), exported_at=timezone.now() + datetime.timedelta(hours=3)
    )
    assert first.exported != later.exported
    assert first.fingerprint == later.fingerprint
    assert len(first.fingerprint) == 64

    activity.name = "To manage the orders"
    activity.save()
    assert document().fingerprint != first.fingerprint


def test_cover_prints_the_fingerprint_and_what_it_covers():
    ProcessingActivityFactory()
    doc = document()
    cover = doc.cover_blocks()
    assert Field(FINGERPRINT, doc.fingerprint) in cover
    assert Text(FINGERPRINT_NOTE) in cover


def test_cover_of_one_controller_names_it_its_dpo_and_representative():
    representative = OrganisationFactory(
        name="Rep GmbH", country="DE", address="Hauptstraße 1, Berlin", phone=""
    )
    controller = OrganisationFactory(
        name="Åsa Ström Inc.",
        country="US",
        address="1 Main Street, Boston",
        phone="+1 617 555 0100",
        dpo=DataProtectionOfficerFactory(
            name="Françoise Lefèvre", email="dpo@example.com", phone=""
        ),
        representative=representative,
    )
    ProcessingActivityFactory(organisations=[controller])
    doc = document(controller)

    assert doc.organisation == "Åsa Ström Inc."
    fields = {
        block.label: block.value for block in doc.cover if isinstance(block, Field)
    }
    assert fields["Controller"] == "Åsa Ström Inc."
    assert fields["Address"] == "1 Main Street, Boston"
    assert fields["Telephone"] == "+1 617 555 0100"
    assert fields["Data protection officer"] == "Françoise Lefèvre, dpo@example.com"
    assert fields["Representative (Art. 27)"] == (
        "Rep GmbH, Hauptstraße 1, Berlin, privacy@rep-gmbh.example"
    )
    assert fields["Activities"].startswith("1: 1 controller records")


def test_an_address_of_several_lines_reads_with_commas_between_them():
    representative = OrganisationFactory(
        name="Rep AB",
        country="SE",
        address="Järnvägsgatan 12\n262 32 Ängelholm\r\n\nSweden",
        phone="",
    )
    controller = OrganisationFactory(country="US", representative=representative)
    ProcessingActivityFactory(organisations=[controller])

    fields = {
        block.label: block.value
        for block in document(controller).cover
        if isinstance(block, Field)
    }

    assert fields["Representative (Art. 27)"] == (
        "Rep AB, Järnvägsgatan 12, 262 32 Ängelholm, Sweden, privacy@rep-ab.example"
    )


def test_cover_of_all_controllers_lists_them_and_the_organisations_part_details_them():
    first = GroupCompanyFactory(name="Jørgen Ødegård AS", country="NO")
    second = GroupCompanyFactory(name="Väinö Äärelä Oy", country="FI")
    ProcessingActivityFactory(organisations=[first])
    ProcessingActivityFactory(organisations=[second])
    doc = document()

    assert doc.organisation == ALL_CONTROLLERS
    assert field_value(doc.cover, "Controllers") == "Jørgen Ødegård AS\nVäinö Äärelä Oy"
    organisations = doc.blocks[: position(doc.blocks, CONTROLLER_PART)]
    assert headings(organisations, 3) == ["Jørgen Ødegård AS", "Väinö Äärelä Oy"]
    assert values(organisations, "Country") == ["Norway (NO)", "Finland (FI)"]


def test_annexes_list_agreements_arrangements_transfers_retention_and_measures():
    processor = OrganisationFactory(name="Hosting AB")
    agreement = ProcessorAgreementFactory(reference="DPA-0001", processor=processor)
    arrangement = JointControllerArrangementFactory(
        reference="JCA-0001", essence="Both companies answer any request."
    )
    activity = ProcessingActivityFactory(
        reference="PA-0001",
        name="To manage orders",
        processor_agreements=[agreement],
        joint_arrangement=arrangement,
        recipients=[RecipientFactory(name="Cloud Inc.", outside_eea=True)],
    )
    InternationalTransferFactory(activity=activity, country="IN")
    doc = document()
    annexes = doc.blocks[position(doc.blocks, ANNEXES) :]

    assert headings(annexes, 1) == [
        PROCESSORS,
        ARRANGEMENTS,
        TRANSFERS,
        RETENTION,
        SECURITY,
        WHERE_THE_DATA_GOES,
    ]
    assert "DPA-0001 Hosting AB" in headings(annexes, 3)
    # The agreement's and the arrangement's users.
    assert values(annexes, "Activities in this record") == ["PA-0001", "PA-0001"]
    assert (
        field_value(
            annexes,
            "Essence of the arrangement made available to data subjects (Art. 26(2))",
        )
        == "Both companies answer any request."
    )
    assert field_value(annexes, "PA-0001 To manage orders").startswith(
        "All data: 3 years after the end of the contract, then erase"
    )
    pictures = [block for block in annexes if isinstance(block, Picture)]
    assert [picture.kind for picture in pictures] == [FLOWS, MAP]
    assert [flow.reference for flow in pictures[0].flows] == ["PA-0001"]


def test_element_a_says_a_dpo_and_a_needed_representative_not_recorded():
    # Art. 30(1)(a) names the DPO and the representative "where applicable":
    # a line left out cannot be told from a party forgotten.
    eea = OrganisationFactory(name="Acme AB", country="SE", dpo=None)
    abroad = OrganisationFactory(name="Acme Inc.", country="US", dpo=None)
    exempt = OrganisationFactory(
        name="Acme Ltd",
        country="US",
        art27_exempt=True,
        art27_exemption_reason="Occasional processing",
        dpo=None,
    )
    for reference, organisation in (
        ("PA-0001", eea),
        ("PA-0002", abroad),
        ("PA-0003", exempt),
    ):
        ProcessingActivityFactory(reference=reference, organisations=[organisation])
    doc = document()
    heading = dict(CONTROLLER_ELEMENTS)["30(1)(a)"]
    missing = Field("Data protection officer", NOT_RECORDED, missing=True)
    representative = "Representative (Art. 27)"

    in_the_eea = element(section(doc, "PA-0001"), heading)
    assert missing in in_the_eea
    assert values(in_the_eea, representative) == []
    outside = element(section(doc, "PA-0002"), heading)
    assert missing in outside
    assert Field(representative, NOT_RECORDED, missing=True) in outside
    assert values(element(section(doc, "PA-0003"), heading), representative) == []


def test_element_a_names_the_dpo_of_each_controller_or_says_it_is_missing():
    officer = DataProtectionOfficerFactory(
        name="Åsa Dpo", email="dpo@acme.example", phone=""
    )
    named = OrganisationFactory(name="Acme AB", country="SE", dpo=officer)
    unnamed = OrganisationFactory(name="Beta AB", country="SE", dpo=None)
    ProcessingActivityFactory(reference="PA-0001", organisations=[named, unnamed])
    blocks = element(
        section(document(), "PA-0001"), dict(CONTROLLER_ELEMENTS)["30(1)(a)"]
    )
    assert field_value(blocks, "Data protection officer") == (
        "Åsa Dpo, dpo@acme.example (for Acme AB)\nNot recorded (for Beta AB)"
    )


def test_empty_register_says_no_organisation_is_named():
    doc = document()
    organisations = doc.blocks[: position(doc.blocks, CONTROLLER_PART)]
    assert organisations == [
        Heading(0, ORGANISATIONS, key="organisations"),
        Text("None recorded."),
    ]


def test_annex_says_an_agreement_only_drafts_use_serves_no_activity_of_the_record():
    # The agreement is in force, so annex 1 lists it (as the XLSX export
    # does); the draft using it is left out, and the annex says so rather
    # than "not recorded".
    agreement = ProcessorAgreementFactory(reference="DPA-0001")
    ProcessingActivityFactory(reference="PA-0001")
    ProcessingActivityFactory(
        reference="PA-0002",
        status=ActivityStatus.DRAFT,
        processor_agreements=[agreement],
    )
    doc = document()
    annexes = doc.blocks[position(doc.blocks, ANNEXES) :]
    assert Field("Activities in this record", UNUSED) in annexes
    with_drafts = document(statuses=statuses_of(drafts=True))
    annexes = with_drafts.blocks[position(with_drafts.blocks, ANNEXES) :]
    assert values(annexes, "Activities in this record") == ["PA-0002"]
