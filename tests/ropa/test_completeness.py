import datetime

import pytest

from ropa import completeness, stored_completeness
from ropa.completeness import RULES, RULES_BY_KEY, Gap
from ropa.enums import LawfulBasisChoice, SpecialCategoryCondition, TransferMechanism
from ropa.exchange.snapshot import Gaps, Register
from ropa.models import ProcessingActivity
from tests.factories import (
    GroupCompanyFactory,
    InternationalTransferFactory,
    JointControllerArrangementFactory,
    LawfulBasisFactory,
    OrganisationFactory,
    PersonalDataCategoryFactory,
    ProcessingActivityFactory,
    RecipientFactory,
    RetentionRuleFactory,
)

pytestmark = pytest.mark.django_db

# Before and after the EU-US Data Privacy Framework decision of 2023-07-10.
BEFORE_DPF = datetime.date(2023, 1, 1)
AFTER_DPF = datetime.date(2024, 1, 1)
# Before and after the end of the Brexit transition period.
GB_IN_EEA = datetime.date(2020, 6, 1)
GB_OUTSIDE_EEA = datetime.date(2021, 6, 1)
# The UK after Brexit: the EU-UK Trade and Cooperation Agreement's bridge, the
# renewal of the adequacy decision, and the day after the renewal's end.
TCA_BRIDGE = datetime.date(2021, 3, 15)
GB_RENEWED = datetime.date(2026, 6, 1)
GB_RENEWAL_LAPSED = datetime.date(2031, 12, 28)
# Brazil's decision, adopted on 2026-01-26 and published on 2026-01-28.
BR_ADOPTED = datetime.date(2026, 1, 26)
BR_PUBLISHED = datetime.date(2026, 1, 28)
# The European Patent Organisation's decision of July 2025.
BEFORE_EPO = datetime.date(2025, 7, 1)
AFTER_EPO = datetime.date(2025, 8, 1)


def _keys(gaps):
    return [gap.key for gap in gaps]


# One builder per rule: a record complete but for what the rule checks.


def _no_organisation(**kwargs):
    return ProcessingActivityFactory(organisations=[], **kwargs)


def _no_contact_details(**kwargs):
    return ProcessingActivityFactory(
        organisations=[OrganisationFactory(no_contact_details=True)], **kwargs
    )


def _no_representative(**kwargs):
    return ProcessingActivityFactory(
        organisations=[OrganisationFactory(outside_eea=True)], **kwargs
    )


def _representative_without_contact_details(**kwargs):
    representative = OrganisationFactory(no_contact_details=True)
    return ProcessingActivityFactory(
        organisations=[
            OrganisationFactory(outside_eea=True, representative=representative)
        ],
        **kwargs,
    )


def _joint_controller_without_contact_details(**kwargs):
    company = GroupCompanyFactory()
    partner = OrganisationFactory(no_contact_details=True)
    return ProcessingActivityFactory(
        organisations=[company],
        joint_arrangement=JointControllerArrangementFactory(parties=[company, partner]),
        **kwargs,
    )


def _client_controller_without_contact_details(**kwargs):
    return ProcessingActivityFactory(
        client_controllers=[OrganisationFactory(no_contact_details=True)], **kwargs
    )


def _joint_without_parties(**kwargs):
    company = GroupCompanyFactory()
    return ProcessingActivityFactory(
        organisations=[company],
        joint_arrangement=JointControllerArrangementFactory(parties=[company]),
        **kwargs,
    )


def _no_client_controller(**kwargs):
    return ProcessingActivityFactory(client_controllers=[], **kwargs)


def _no_purpose(**kwargs):
    return ProcessingActivityFactory(purpose="", **kwargs)


def _no_lawful_basis(**kwargs):
    return ProcessingActivityFactory(lawful_basis=False, **kwargs)


def _legitimate_interest_unstated(**kwargs):
    activity = ProcessingActivityFactory(lawful_basis=False, **kwargs)
    LawfulBasisFactory(
        activity=activity,
        basis=LawfulBasisChoice.LEGITIMATE_INTERESTS,
        legitimate_interest="",
    )
    return activity


def _special_without_condition(**kwargs):
    return ProcessingActivityFactory(
        personal_data_categories=[PersonalDataCategoryFactory(special=True)], **kwargs
    )


def _criminal_without_authority(**kwargs):
    return ProcessingActivityFactory(
        personal_data_categories=[PersonalDataCategoryFactory(criminal=True)],
        **kwargs,
    )


def _no_data_subjects(**kwargs):
    return ProcessingActivityFactory(data_subject_categories=[], **kwargs)


def _no_data_categories(**kwargs):
    return ProcessingActivityFactory(personal_data_categories=[], **kwargs)


def _no_recipients(**kwargs):
    return ProcessingActivityFactory(recipients=[], **kwargs)


def _transfer_not_recorded(**kwargs):
    return ProcessingActivityFactory(
        recipients=[RecipientFactory(outside_eea=True)], **kwargs
    )


def _adequacy_not_in_force(**kwargs):
    activity = ProcessingActivityFactory(**kwargs)
    # India has no adequacy decision: the record claims one that does not exist.
    InternationalTransferFactory(
        activity=activity, country="IN", mechanism=TransferMechanism.ADEQUACY
    )
    return activity


def _adequacy_scope_unrecorded(**kwargs):
    activity = ProcessingActivityFactory(**kwargs)
    # The EU-US Data Privacy Framework covers certified organisations only.
    InternationalTransferFactory(
        activity=activity,
        country="US",
        mechanism=TransferMechanism.ADEQUACY,
        adequacy_scope="",
    )
    return activity


def _recipient_location_unknown(**kwargs):
    return ProcessingActivityFactory(
        recipients=[RecipientFactory(country="")], **kwargs
    )


def _safeguards_undocumented(**kwargs):
    activity = ProcessingActivityFactory(**kwargs)
    InternationalTransferFactory(
        activity=activity,
        mechanism=TransferMechanism.COMPELLING_INTERESTS,
        safeguards_documentation="",
    )
    return activity


def _no_retention(**kwargs):
    return ProcessingActivityFactory(retention=False, **kwargs)


def _category_without_retention(**kwargs):
    covered, uncovered = PersonalDataCategoryFactory.create_batch(2)
    activity = ProcessingActivityFactory(
        personal_data_categories=[covered, uncovered], retention=False, **kwargs
    )
    RetentionRuleFactory(activity=activity, personal_data_category=covered)
    return activity


def _no_security(**kwargs):
    return ProcessingActivityFactory(
        security_measures=[], security_description="", **kwargs
    )


# rule key: (builder, element in a controller record, in a processor record).
# A processor element of None: the rule does not apply to processor records.
RULE_CASES = {
    "no_organisation": (_no_organisation, "30(1)(a)", "30(2)(a)"),
    "no_contact_details": (_no_contact_details, "30(1)(a)", "30(2)(a)"),
    "no_representative": (_no_representative, "30(1)(a)", "30(2)(a)"),
    "representative_without_contact_details": (
        _representative_without_contact_details,
        "30(1)(a)",
        "30(2)(a)",
    ),
    "joint_without_parties": (_joint_without_parties, "30(1)(a)", None),
    "joint_controller_without_contact_details": (
        _joint_controller_without_contact_details,
        "30(1)(a)",
        None,
    ),
    "no_client_controller": (_no_client_controller, None, "30(2)(a)"),
    "client_controller_without_contact_details": (
        _client_controller_without_contact_details,
        None,
        "30(2)(a)",
    ),
    "no_purpose": (_no_purpose, "30(1)(b)", "30(2)(b)"),
    # Accountability (Art. 5(2)) beside the record: no letter of Art. 30.
    "no_lawful_basis": (_no_lawful_basis, "6(1)", None),
    "legitimate_interest_unstated": (_legitimate_interest_unstated, "6(1)", None),
    "special_without_condition": (_special_without_condition, "9(2)", None),
    "criminal_without_authority": (_criminal_without_authority, "10", None),
    "no_data_subjects": (_no_data_subjects, "30(1)(c)", None),
    "no_data_categories": (_no_data_categories, "30(1)(c)", None),
    "no_recipients": (_no_recipients, "30(1)(d)", None),
    "transfer_not_recorded": (_transfer_not_recorded, "30(1)(e)", "30(2)(c)"),
    "adequacy_not_in_force": (_adequacy_not_in_force, "30(1)(e)", "30(2)(c)"),
    "adequacy_scope_unrecorded": (
        _adequacy_scope_unrecorded,
        "30(1)(e)",
        "30(2)(c)",
    ),
    "recipient_location_unknown": (
        _recipient_location_unknown,
        "30(1)(e)",
        "30(2)(c)",
    ),
    "safeguards_undocumented": (_safeguards_undocumented, "30(1)(e)", "30(2)(c)"),
    "no_retention": (_no_retention, "30(1)(f)", None),
    "category_without_retention": (_category_without_retention, "30(1)(f)", None),
    "no_security": (_no_security, "30(1)(g)", "30(2)(d)"),
}

ROLE_KWARGS = {"controller": {}, "processor": {"processor_record": True}}

GAP_CASES = [
    pytest.param(key, build, role, element, id=f"{role}-{key}")
    for key, (build, *elements) in RULE_CASES.items()
    for role, element in zip(ROLE_KWARGS, elements, strict=True)
    if element is not None
]

NOT_ASKED_CASES = [
    pytest.param(key, build, role, id=f"{role}-{key}")
    for key, (build, *elements) in RULE_CASES.items()
    for role, element in zip(ROLE_KWARGS, elements, strict=True)
    if element is None
]


def _org_with_representative():
    return OrganisationFactory(outside_eea=True, representative=OrganisationFactory())


def _with_basis(**basis_fields):
    def build():
        activity = ProcessingActivityFactory(lawful_basis=False)
        LawfulBasisFactory(activity=activity, **basis_fields)
        return activity

    return build


def _with_data(category_traits, **basis_fields):
    def build():
        activity = ProcessingActivityFactory(
            lawful_basis=False,
            personal_data_categories=[PersonalDataCategoryFactory(**category_traits)],
        )
        LawfulBasisFactory(activity=activity, **basis_fields)
        return activity

    return build


def _with_transfer(recipient=None, **transfer_fields):
    def build():
        activity = ProcessingActivityFactory()
        if recipient is not None:
            activity.recipients.set([RecipientFactory(**recipient)])
        InternationalTransferFactory(activity=activity, **transfer_fields)
        return activity

    return build


def _retention_per_category(all_data_rule):
    def build():
        categories = PersonalDataCategoryFactory.create_batch(2)
        activity = ProcessingActivityFactory(
            personal_data_categories=categories, retention=all_data_rule
        )
        rules_for = categories if not all_data_rule else categories[:1]
        for category in rules_for:
            RetentionRuleFactory(activity=activity, personal_data_category=category)
        return activity

    return build


# Conditional elements, where they do not apply or are satisfied: no gap.
COMPLETE_CASES = [
    pytest.param(ProcessingActivityFactory, id="factory-controller-record"),
    pytest.param(
        lambda: ProcessingActivityFactory(processor_record=True),
        id="factory-processor-record",
    ),
    pytest.param(
        lambda: ProcessingActivityFactory(
            organisations=[
                OrganisationFactory(no_contact_details=True, phone="+46 8 1")
            ]
        ),
        id="contact-by-phone-only",
    ),
    pytest.param(
        lambda: ProcessingActivityFactory(organisations=[_org_with_representative()]),
        id="outside-eea-with-representative",
    ),
    pytest.param(
        lambda: ProcessingActivityFactory(
            organisations=[
                OrganisationFactory(
                    outside_eea=True,
                    representative=OrganisationFactory(
                        no_contact_details=True, phone="+49 30 1"
                    ),
                )
            ]
        ),
        id="representative-reached-by-phone",
    ),
    pytest.param(
        lambda: ProcessingActivityFactory(
            organisations=[
                OrganisationFactory(
                    outside_eea=True,
                    art27_exempt=True,
                    art27_exemption_reason="A public authority (Art. 27(2)(b)).",
                )
            ]
        ),
        id="outside-eea-exempt-under-art27-2",
    ),
    pytest.param(
        lambda: ProcessingActivityFactory(
            processor_record=True,
            client_controllers=[
                OrganisationFactory(no_contact_details=True, phone="+46 8 2")
            ],
        ),
        id="client-controller-reached-by-phone",
    ),
    pytest.param(
        lambda: ProcessingActivityFactory(
            joint_arrangement=JointControllerArrangementFactory()
        ),
        id="joint-arrangement-with-two-parties",
    ),
    pytest.param(
        _with_basis(legitimate_interests=True), id="legitimate-interest-stated"
    ),
    pytest.param(
        _with_basis(basis=LawfulBasisChoice.CONSENT, legitimate_interest=""),
        id="interest-not-asked-for-consent",
    ),
    pytest.param(
        _with_data(
            {"special": True},
            special_category_condition=SpecialCategoryCondition.EMPLOYMENT,
        ),
        id="special-data-with-condition",
    ),
    pytest.param(
        _with_data({"criminal": True}, criminal_data_authority="Swedish law"),
        id="criminal-data-with-authority",
    ),
    pytest.param(_with_data({"national_id": True}), id="national-id-needs-neither"),
    pytest.param(
        _with_transfer(recipient={"outside_eea": True}, country="IN"),
        id="recipient-outside-eea-with-transfer",
    ),
    pytest.param(
        lambda: ProcessingActivityFactory(recipients=[RecipientFactory(country="NO")]),
        id="recipient-in-eea",
    ),
    pytest.param(_with_transfer(adequacy=True), id="adequacy-in-force"),
    pytest.param(
        _with_transfer(
            country="US",
            mechanism=TransferMechanism.ADEQUACY,
            adequacy_scope="Listed in the Data Privacy Framework list.",
        ),
        id="scoped-adequacy-with-scope",
    ),
    pytest.param(
        _with_transfer(country="CH", mechanism=TransferMechanism.ADEQUACY),
        id="adequacy-for-the-whole-country-needs-no-scope",
    ),
    pytest.param(
        _with_transfer(
            country="",
            international_organisation="european patent ORGANISATION",
            mechanism=TransferMechanism.ADEQUACY,
        ),
        id="adequacy-for-an-international-organisation",
    ),
    pytest.param(
        _with_transfer(
            mechanism=TransferMechanism.COMPELLING_INTERESTS,
            safeguards_documentation="Assessment of 2024-03-01, filed as TIA-7.",
        ),
        id="compelling-interests-documented",
    ),
    pytest.param(
        _with_transfer(
            mechanism=TransferMechanism.DEROGATION, safeguards_documentation=""
        ),
        id="derogation-needs-no-documentation",
    ),
    pytest.param(
        _retention_per_category(all_data_rule=False), id="retention-per-category"
    ),
    pytest.param(
        _retention_per_category(all_data_rule=True),
        id="all-data-rule-covers-other-categories",
    ),
    pytest.param(
        lambda: ProcessingActivityFactory(
            security_measures=[], security_description="Encrypted at rest."
        ),
        id="security-description-only",
    ),
    pytest.param(
        lambda: ProcessingActivityFactory(
            processor_record=True,
            lawful_basis=False,
            data_subject_categories=[],
            personal_data_categories=[],
            recipients=[],
            retention=False,
        ),
        id="processor-record-not-asked-controller-elements",
    ),
]


def test_joint_arrangement_without_its_allocation_of_responsibilities_is_a_gap():
    company, partner = GroupCompanyFactory(), GroupCompanyFactory()
    arrangement = JointControllerArrangementFactory(
        parties=[company, partner], responsibilities=""
    )
    activity = ProcessingActivityFactory(
        organisations=[company], joint_arrangement=arrangement
    )

    assert activity.missing_elements() == [
        RULES_BY_KEY["joint_without_parties"].gap("controller")
    ]
    assert "Art. 26(1)" in str(activity.missing_elements()[0])
    assert list(ProcessingActivity.objects.incomplete()) == [activity]
    # The exports find it in the data they read, too.
    register = Register()
    gaps = Gaps(register.catalogue())
    [[row]] = list(register.activities())
    assert [gap.key for gap in gaps.of(row)] == ["joint_without_parties"]

    arrangement.responsibilities = "Each company answers its own customers."
    arrangement.save()

    assert activity.missing_elements() == []


def test_rule_cases_cover_every_rule():
    assert set(RULE_CASES) == set(RULES_BY_KEY)


@pytest.mark.parametrize(("key", "build", "role", "element"), GAP_CASES)
def test_missing_elements_reports_rule(key, build, role, element):
    activity = build(**ROLE_KWARGS[role])

    gaps = activity.missing_elements()

    assert gaps == [RULES_BY_KEY[key].gap(role)]
    assert gaps[0].element == element


@pytest.mark.parametrize(("key", "build", "role", "element"), GAP_CASES)
def test_with_completeness_annotates_rule(key, build, role, element):
    activity = build(**ROLE_KWARGS[role])

    annotated = ProcessingActivity.objects.with_completeness().get(pk=activity.pk)

    assert getattr(annotated, f"gap_{key}") is True
    assert list(ProcessingActivity.objects.incomplete()) == [activity]
    assert not ProcessingActivity.objects.complete().exists()


@pytest.mark.parametrize(("key", "build", "role"), NOT_ASKED_CASES)
def test_missing_elements_rule_not_asked_of_role(key, build, role):
    activity = build(**ROLE_KWARGS[role])

    assert activity.missing_elements() == []
    assert list(ProcessingActivity.objects.complete()) == [activity]


@pytest.mark.parametrize("build", COMPLETE_CASES)
def test_missing_elements_none_where_conditions_hold(build):
    activity = build()

    assert activity.missing_elements() == []
    assert activity.is_complete
    assert list(ProcessingActivity.objects.complete()) == [activity]


def test_missing_elements_bare_controller_record_lists_every_element():
    activity = ProcessingActivityFactory(bare=True, purpose="")

    gaps = activity.missing_elements()

    assert _keys(gaps) == [
        "no_organisation",
        "no_purpose",
        "no_lawful_basis",
        "no_data_subjects",
        "no_data_categories",
        "no_recipients",
        "no_retention",
        "no_security",
    ]
    assert [gap.element for gap in gaps] == [
        "30(1)(a)",
        "30(1)(b)",
        "6(1)",
        "30(1)(c)",
        "30(1)(c)",
        "30(1)(d)",
        "30(1)(f)",
        "30(1)(g)",
    ]


def test_missing_elements_bare_processor_record_lists_its_elements():
    activity = ProcessingActivityFactory(bare=True, processor_record=True, purpose="")

    gaps = activity.missing_elements()

    assert [(gap.key, gap.element) for gap in gaps] == [
        ("no_organisation", "30(2)(a)"),
        ("no_client_controller", "30(2)(a)"),
        ("no_purpose", "30(2)(b)"),
        ("no_security", "30(2)(d)"),
    ]


def test_gap_str_reads_as_article_title_and_reason():
    gap = RULES_BY_KEY["no_recipients"].gap("controller")

    assert str(gap) == (
        "Art. 30(1)(d) categories of recipients: no recipient is recorded"
    )


def test_rules_have_unique_keys_and_elements_for_their_roles():
    assert len(RULES_BY_KEY) == len(RULES)
    for rule in RULES:
        for role in rule.roles:
            assert isinstance(rule.gap(role), Gap)
            assert rule.gap(role).element


# Dated completeness: the EEA and adequacy decisions change over time.


def _us_transfer_on_adequacy(**kwargs):
    activity = ProcessingActivityFactory(**kwargs)
    InternationalTransferFactory(
        activity=activity,
        country="US",
        mechanism=TransferMechanism.ADEQUACY,
        adequacy_scope="Listed in the Data Privacy Framework list.",
    )
    return activity


def _on_adequacy(country="", organisation=""):
    def build(**kwargs):
        activity = ProcessingActivityFactory(**kwargs)
        InternationalTransferFactory(
            activity=activity,
            country=country,
            international_organisation=organisation,
            mechanism=TransferMechanism.ADEQUACY,
        )
        return activity

    return build


_gb_transfer_on_adequacy = _on_adequacy("GB")
_br_transfer_on_adequacy = _on_adequacy("BR")
_epo_transfer_on_adequacy = _on_adequacy(organisation="European Patent Organisation")


def _gb_recipient_without_transfer(**kwargs):
    return ProcessingActivityFactory(
        recipients=[RecipientFactory(country="GB")], **kwargs
    )


def _gb_organisation_without_representative(**kwargs):
    return ProcessingActivityFactory(
        organisations=[OrganisationFactory(country="GB")], **kwargs
    )


DATED_CASES = [
    pytest.param(_us_transfer_on_adequacy, AFTER_DPF, [], id="us-adequacy-2024"),
    pytest.param(
        _us_transfer_on_adequacy,
        BEFORE_DPF,
        ["adequacy_not_in_force"],
        id="us-adequacy-2023",
    ),
    # The Trade and Cooperation Agreement's bridge, then the 2021 decision,
    # then its renewal to 2031-12-27.
    pytest.param(_gb_transfer_on_adequacy, TCA_BRIDGE, [], id="gb-adequacy-tca-bridge"),
    pytest.param(_gb_transfer_on_adequacy, GB_OUTSIDE_EEA, [], id="gb-adequacy-2021"),
    pytest.param(
        _gb_transfer_on_adequacy, GB_RENEWED, [], id="gb-adequacy-renewed-2026"
    ),
    pytest.param(
        _gb_transfer_on_adequacy,
        GB_RENEWAL_LAPSED,
        ["adequacy_not_in_force"],
        id="gb-adequacy-lapsed-2032",
    ),
    pytest.param(
        _br_transfer_on_adequacy,
        BR_ADOPTED,
        ["adequacy_not_in_force"],
        id="br-adequacy-before-publication",
    ),
    pytest.param(_br_transfer_on_adequacy, BR_PUBLISHED, [], id="br-adequacy-2026"),
    pytest.param(
        _epo_transfer_on_adequacy,
        BEFORE_EPO,
        ["adequacy_not_in_force"],
        id="epo-adequacy-before-decision",
    ),
    pytest.param(_epo_transfer_on_adequacy, AFTER_EPO, [], id="epo-adequacy-2025"),
    pytest.param(_gb_recipient_without_transfer, GB_IN_EEA, [], id="gb-recipient-2020"),
    pytest.param(
        _gb_recipient_without_transfer,
        GB_OUTSIDE_EEA,
        ["transfer_not_recorded"],
        id="gb-recipient-2021",
    ),
    pytest.param(
        _gb_organisation_without_representative,
        GB_IN_EEA,
        [],
        id="gb-organisation-2020",
    ),
    pytest.param(
        _gb_organisation_without_representative,
        GB_OUTSIDE_EEA,
        ["no_representative"],
        id="gb-organisation-2021",
    ),
]


@pytest.mark.parametrize(("build", "on", "expected"), DATED_CASES)
def test_missing_elements_on_date(build, on, expected):
    activity = build()

    assert _keys(activity.missing_elements(on=on)) == expected


@pytest.mark.parametrize(("build", "on", "expected"), DATED_CASES)
def test_with_completeness_on_date(build, on, expected):
    activity = build()

    annotated = ProcessingActivity.objects.with_completeness(on=on).get()
    incomplete = list(ProcessingActivity.objects.incomplete(on=on))
    complete = list(ProcessingActivity.objects.complete(on=on))

    assert [
        rule.key
        for rule in RULES
        if "controller" in rule.roles and getattr(annotated, f"gap_{rule.key}")
    ] == expected
    assert (incomplete, complete) == (
        ([activity], []) if expected else ([], [activity])
    )


@pytest.mark.parametrize(("build", "on", "expected"), DATED_CASES)
def test_missing_elements_on_date_in_processor_record(build, on, expected):
    activity = build(processor_record=True)

    assert _keys(activity.missing_elements(on=on)) == expected


@pytest.mark.parametrize(("build", "on", "expected"), DATED_CASES)
def test_snapshot_gaps_on_date(build, on, expected):
    build()
    register = Register()

    [[row]] = list(register.activities())

    assert _keys(Gaps(register.catalogue(), on=on).of(row)) == expected


# The querysets and the per-record method agree.


def test_incomplete_and_complete_agree_with_missing_elements():
    activities = [
        build(**ROLE_KWARGS[role])
        for _key, build, role, _el in (case.values for case in GAP_CASES)
    ]
    activities += [build() for (build,) in (case.values for case in COMPLETE_CASES)]
    activities += [
        build(**ROLE_KWARGS[role])
        for _key, build, role in (case.values for case in NOT_ASKED_CASES)
    ]

    expected_incomplete = {a.pk for a in activities if a.missing_elements()}

    assert {a.pk for a in ProcessingActivity.objects.incomplete()} == (
        expected_incomplete
    )
    assert {a.pk for a in ProcessingActivity.objects.complete()} == (
        {a.pk for a in activities} - expected_incomplete
    )
    assert len(expected_incomplete) == len(GAP_CASES)


def test_with_completeness_lists_each_activity_once():
    ProcessingActivityFactory(
        organisations=OrganisationFactory.create_batch(2, no_contact_details=True),
        personal_data_categories=PersonalDataCategoryFactory.create_batch(
            2, special=True
        ),
    )

    assert ProcessingActivity.objects.incomplete().count() == 1


def test_missing_elements_of_annotated_activity_costs_no_query(
    django_assert_num_queries,
):
    activity = _no_recipients()
    annotated = ProcessingActivity.objects.with_completeness().get(pk=activity.pk)

    with django_assert_num_queries(0):
        gaps = annotated.missing_elements()

    assert _keys(gaps) == ["no_recipients"]


def test_missing_elements_of_plain_activity_costs_one_query(
    django_assert_num_queries,
):
    activity = ProcessingActivity.objects.get(pk=_no_recipients().pk)
    # Its stored gaps, current: one row read.
    stored_completeness.refresh()

    with django_assert_num_queries(1):
        gaps = activity.missing_elements()

    assert _keys(gaps) == ["no_recipients"]


def test_missing_elements_of_activity_changed_since_its_gaps_were_stored_cost_two(
    django_assert_num_queries,
):
    activity = ProcessingActivity.objects.get(pk=_no_recipients().pk)

    # The stored row, out of date; then the rules.
    with django_assert_num_queries(2):
        gaps = activity.missing_elements()

    assert _keys(gaps) == ["no_recipients"]


def test_missing_elements_on_date_of_annotated_activity_queries_that_date(
    django_assert_num_queries,
):
    activity = _us_transfer_on_adequacy()
    annotated = ProcessingActivity.objects.with_completeness().get(pk=activity.pk)

    # Annotated for today; another date reads its stored row (not current for
    # that date), then the rules.
    with django_assert_num_queries(2):
        gaps = annotated.missing_elements(on=BEFORE_DPF)

    assert _keys(gaps) == ["adequacy_not_in_force"]


def test_gaps_from_row_skips_rules_of_other_role():
    row = {completeness.column(rule): True for rule in RULES}

    controller_keys = _keys(completeness.gaps_from_row("controller", row))
    processor_keys = _keys(completeness.gaps_from_row("processor", row))

    assert "no_client_controller" not in controller_keys
    assert "no_lawful_basis" not in processor_keys
    assert len(controller_keys) + len(processor_keys) == sum(
        len(rule.roles) for rule in RULES
    )


def test_organisation_without_a_recorded_country_lacks_its_representative():
    organisation = OrganisationFactory(country="")
    activity = ProcessingActivityFactory(organisations=[organisation])

    assert activity.missing_elements() == [
        RULES_BY_KEY["no_representative"].gap("controller")
    ]
    assert "whose country is not recorded" in str(activity.missing_elements()[0])
    assert list(ProcessingActivity.objects.incomplete()) == [activity]
    # The exports find it in the data they read, too.
    register = Register()
    gaps = Gaps(register.catalogue())
    [[row]] = list(register.activities())
    assert [gap.key for gap in gaps.of(row)] == ["no_representative"]

    organisation.country = "SE"
    organisation.save()

    assert activity.missing_elements() == []
