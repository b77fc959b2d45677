"""
The sample register against the privacy notice it comes from.

Expectations are read from the notice as published (``ropa/fixtures/
sample_notice.txt``), not from ``ropa.sample``: the titles, texts, joint
purposes, profiling and opt-out statements the register must carry.
"""

import re
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command

import ropa
from controllers.enums import JointScope
from controllers.models import JointControllerArrangement, Organisation
from ropa.enums import (
    ActivityRole,
    ActivityStatus,
    DPIAStatus,
    LawfulBasisChoice,
    Profiling,
    RecipientType,
    SpecialCategoryCondition,
)
from ropa.geography import in_eea
from ropa.models import (
    LawfulBasis,
    ProcessingActivity,
    Recipient,
    RetentionRule,
    SecurityMeasure,
)
from ropa.rights import rights_information
from ropa.sample import SAMPLE_REASON
from ropa.sample.data import DIRECT_MARKETING_OBJECTION
from subjects.enums import Sensitivity, SpecialCategory
from subjects.models import DataSubjectCategory, PersonalDataCategory

pytestmark = pytest.mark.django_db

NOTICE = Path(ropa.__file__).resolve().parent / "fixtures" / "sample_notice.txt"

# Words the notice's PDF broke at a line end, as they appear in it.
HYPHENATION_ARTEFACTS = {
    "ar-chive": "archive",
    "com-pany": "company",
    "con-duct": "conduct",
    "cus-tomer": "customer",
    "custom-er": "customer",
    "digi-tal": "digital",
    "ex-ample": "example",
    "in-formation": "information",
    "joint-ly": "jointly",
    "newslet-ter": "newsletter",
    "other-wise": "otherwise",
    "partici-pation": "participation",
    "pat-terns": "patterns",
    "per-sonal": "personal",
    "pro-cess": "process",
    "pur-pose": "purpose",
    "reg-istering": "registering",
    "require-ment": "requirement",
    "under-take": "undertake",
}
# Hyphenated words the notice spells so.
HYPHENATED_WORDS = {
    "back-ups",
    "co-operation",
    "decision-making",
    "e-mail",
    "follow-up",
    "follow-ups",
    "so-called",
}
HYPHENATED = re.compile(r"\b[A-Za-z]+-[A-Za-z]+\b")

JOINT_STATEMENT = re.compile(
    r"^Each company covered by this privacy policy is, as a starting point, "
    r"responsible for its own use of your personal data for this purpose\. "
    r"Companies within the Infobric group are, however, jointly responsible for "
    r"the use of your personal data for this purpose where the companies jointly "
    r"(?P<processing>.+)\.$"
)
ALWAYS_JOINT_STATEMENT = re.compile(
    r"^The companies are jointly responsible for the processing of your personal "
    r"data in order to (?P<processing>.+)\.$"
)
# Words of the sentences the register keeps in fields of their own.
OPT_OUT_WORDS = ("unsubscribe", "opt out")
PROFILING_WORDS = ("profiling",)
JOINT_WORDS = ("jointly responsible",)
SOCIAL_NETWORKS = "Social networking platforms"
DIRECT_MARKETING = {
    "To communicate about us and our business",
    "To communicate offers and marketing via various channels",
    "To manage our newsletters",
}


def _repair(text):
    for broken, word in HYPHENATION_ARTEFACTS.items():
        text = re.sub(rf"\b{broken}\b", word, text)
    return text


def _read_notice():
    """The notice's purposes as (title, paragraphs), hyphenation repaired."""
    # Line 1 is the notice's title and line 2 its introduction; after them,
    # a line without a full stop is a purpose's heading and the lines up to
    # the next heading are its paragraphs.
    lines = _repair(NOTICE.read_text(encoding="utf-8")).splitlines()[2:]
    sections = []
    for line in lines:
        if line.endswith("."):
            sections[-1][1].append(line)
        else:
            sections.append((line, []))
    return [(title, tuple(paragraphs)) for title, paragraphs in sections]


def _sentences(paragraphs):
    # A full stop before a capital ends a sentence; "e.g. in" does not.
    return [
        sentence
        for paragraph in paragraphs
        for sentence in re.split(r"(?<=\.)\s+(?=[A-Z])", paragraph)
    ]


def _statements(paragraphs, *words):
    return " ".join(
        sentence
        for sentence in _sentences(paragraphs)
        if any(word in sentence.lower() for word in words)
    )


SECTIONS = _read_notice()
TITLES = [title for title, _ in SECTIONS]
WHEN_JOINT = {
    title: match["processing"]
    for title, paragraphs in SECTIONS
    for paragraph in paragraphs
    if (match := JOINT_STATEMENT.match(paragraph))
}
ALWAYS_JOINT = {
    title: match["processing"]
    for title, paragraphs in SECTIONS
    for sentence in _sentences(paragraphs)
    if (match := ALWAYS_JOINT_STATEMENT.match(sentence))
}


def _notice_text_expected(paragraphs):
    """The description less the statements the notice prints from fields."""
    statements = (*OPT_OUT_WORDS, *PROFILING_WORDS, *JOINT_WORDS)
    return " ".join(
        sentence
        for sentence in _sentences(paragraphs[:1])
        if not any(word in sentence.lower() for word in statements)
    )


def _profiling_expected(paragraphs):
    statement = _statements(paragraphs, *PROFILING_WORDS)
    if not statement:
        return Profiling.NONE, False, ""
    if statement.startswith("No profiling"):
        return Profiling.NONE, True, statement
    return Profiling.PROFILING, True, statement


def _models(*, historical):
    return [
        model
        for label in ("controllers", "subjects", "ropa")
        for model in apps.get_app_config(label).get_models()
        if model.__name__.startswith("Historical") == historical
    ]


def _counts(*, historical):
    return {
        model._meta.label: model._default_manager.count()
        for model in _models(historical=historical)
    }


def _load(*args, **options):
    stdout = StringIO()
    call_command("load_sample_register", *args, stdout=stdout, **options)
    return stdout.getvalue()


@pytest.fixture
def loaded(sample_register):
    return sample_register


def test_notice_repair_leaves_only_real_hyphenations():
    raw = NOTICE.read_text(encoding="utf-8")
    repaired = _repair(raw)

    assert all(broken in raw for broken in HYPHENATION_ARTEFACTS)
    assert set(HYPHENATED.findall(repaired)) == HYPHENATED_WORDS


def test_load_sample_register_creates_the_notice_purposes_in_order(loaded):
    activities = ProcessingActivity.objects.order_by("notice_order")

    assert len(TITLES) == 26
    assert [(a.reference, a.notice_order, a.name) for a in activities] == [
        (f"PA-{position:04d}", position, title)
        for position, title in enumerate(TITLES, start=1)
    ]


def test_load_sample_register_copies_the_notice_text(loaded):
    activities = ProcessingActivity.objects.order_by("reference")

    assert [(a.name, a.notice_title, a.notice_text, a.purpose) for a in activities] == [
        (title, title, _notice_text_expected(paragraphs), paragraphs[0])
        for title, paragraphs in SECTIONS
    ]
    assert all(a.notice_text for a in activities)


def test_load_sample_register_publishes_active_controller_records(loaded):
    activities = ProcessingActivity.objects.all()

    assert {(a.status, a.role, a.in_notice) for a in activities} == {
        (ActivityStatus.ACTIVE, ActivityRole.CONTROLLER, True)
    }


def test_load_sample_register_names_every_group_company_on_each_activity(loaded):
    group = set(Organisation.objects.group_companies())

    assert {company.name for company in group} >= {
        "Infobric AB",
        "Infobric Ease AB",
        "Infobric Fleet AB",
        "Infobric Norge AS",
        "Infobric Finland Oy",
    }
    for activity in ProcessingActivity.objects.prefetch_related("organisations"):
        assert set(activity.organisations.all()) == group, activity.reference


def test_load_sample_register_group_companies_have_parent_dpo_and_contacts(loaded):
    parent = Organisation.objects.get(name="Infobric AB")
    companies = Organisation.objects.group_companies().exclude(pk=parent.pk)

    assert parent.parent is None
    assert {company.parent for company in companies} == {parent}
    for company in [parent, *companies]:
        assert company.dpo is not None
        assert company.email
        assert company.phone
        assert company.registration_number
        assert in_eea(company.country)


def test_load_sample_register_links_when_joint_purposes_to_one_arrangement(loaded):
    joint = ProcessingActivity.objects.filter(
        joint_arrangement__joint_scope=JointScope.WHEN_JOINT
    )

    assert len(WHEN_JOINT) == 12
    assert {a.name: a.joint_processing for a in joint} == WHEN_JOINT
    assert len({a.joint_arrangement_id for a in joint}) == 1


def test_load_sample_register_shared_customer_register_is_always_joint(loaded):
    always = ProcessingActivity.objects.filter(
        joint_arrangement__joint_scope=JointScope.ALWAYS
    )
    arrangement = JointControllerArrangement.objects.get(joint_scope=JointScope.ALWAYS)

    assert {a.name: a.joint_processing for a in always} == ALWAYS_JOINT
    assert set(ALWAYS_JOINT) == {"To manage a shared customer register"}
    assert set(arrangement.parties.all()) == set(Organisation.objects.group_companies())


def test_load_sample_register_other_purposes_have_no_arrangement(loaded):
    alone = ProcessingActivity.objects.filter(joint_arrangement__isnull=True)
    stated_joint = {
        title for title, paragraphs in SECTIONS if _statements(paragraphs, *JOINT_WORDS)
    }

    assert stated_joint == set(WHEN_JOINT) | set(ALWAYS_JOINT)
    assert {a.name for a in alone} == set(TITLES) - stated_joint
    assert {a.joint_processing for a in alone} == {""}


def test_load_sample_register_states_profiling_as_the_notice_does(loaded):
    activities = ProcessingActivity.objects.all()

    assert {
        a.name: (a.profiling, a.profiling_in_notice, a.profiling_description)
        for a in activities
    } == {title: _profiling_expected(paragraphs) for title, paragraphs in SECTIONS}
    assert activities.filter(profiling=Profiling.PROFILING).count() == 2
    assert activities.filter(profiling_in_notice=True).count() == 3


def test_load_sample_register_keeps_opt_out_sentences(loaded):
    expected = {
        title: _statements(paragraphs, *OPT_OUT_WORDS) for title, paragraphs in SECTIONS
    }

    # The seed's sentence first; the Art. 21(2) statement follows it apart.
    assert {
        a.name: a.opt_out_information.split("\n\n")[0]
        for a in ProcessingActivity.objects.all()
    } == expected
    assert sum(1 for text in expected.values() if text) == 4


def test_load_sample_register_states_the_right_to_object_to_direct_marketing(
    loaded,
):
    stated = {
        a.name
        for a in ProcessingActivity.objects.all()
        if a.opt_out_information.endswith(f"\n\n{DIRECT_MARKETING_OBJECTION}")
    }

    assert stated == DIRECT_MARKETING


def test_load_sample_register_states_the_rights_its_lawful_bases_open(loaded):
    activities = ProcessingActivity.objects.prefetch_related("lawful_bases")

    assert {a.reference: a.rights_information for a in activities} == {
        a.reference: rights_information(b.basis for b in a.lawful_bases.all())
        for a in activities
    }
    assert len({a.rights_information for a in activities}) > 1


def test_load_sample_register_shares_with_social_networks_where_stated(loaded):
    recipient = Recipient.objects.get(name=SOCIAL_NETWORKS)
    stated = {
        title
        for title, paragraphs in SECTIONS
        if any("social networking platforms" in p for p in paragraphs)
    }

    assert recipient.recipient_type == RecipientType.EXTERNAL
    assert stated == {"To communicate offers and marketing via various channels"}
    assert {a.name for a in recipient.activities.all()} == stated


def test_load_sample_register_leaves_no_activity_incomplete(loaded):
    assert ProcessingActivity.objects.count() == 26
    assert ProcessingActivity.objects.incomplete().count() == 0


def test_load_sample_register_keeps_data_in_the_eea(loaded):
    countries = {str(r.country) for r in Recipient.objects.exclude(country="")}

    assert countries
    assert all(in_eea(country) for country in countries)


@pytest.mark.parametrize(
    "model",
    [
        DataSubjectCategory,
        PersonalDataCategory,
        LawfulBasis,
        RetentionRule,
        SecurityMeasure,
    ],
)
def test_load_sample_register_marks_filled_in_values_as_samples(loaded, model):
    assert model.objects.exists()
    assert not model.objects.filter(is_sample=False).exists()


def test_load_sample_register_reports_what_it_created(loaded):
    assert "processing activities: 26 created, 0 updated, 0 unchanged" in loaded
    assert f"{SAMPLE_REASON}: " in loaded


def test_load_sample_register_twice_writes_nothing(loaded):
    rows = _counts(historical=False)
    history = _counts(historical=True)

    output = _load()

    assert _counts(historical=False) == rows
    assert _counts(historical=True) == history
    assert "processing activities: 0 created, 0 updated, 26 unchanged" in output
    assert output.splitlines()[-1].startswith(
        "The sample register is already loaded: 0 created, 0 updated, "
    )


def test_load_sample_register_restores_a_changed_activity(loaded):
    activity = ProcessingActivity.objects.get(reference="PA-0001")
    purpose = activity.purpose
    activity.purpose = "Changed by hand."
    activity.save()
    activity.recipients.clear()

    output = _load()

    activity.refresh_from_db()
    assert activity.purpose == purpose
    assert activity.recipients.exists()
    assert "processing activities: 0 created, 1 updated, 25 unchanged" in output
    assert activity.history.latest().history_change_reason == SAMPLE_REASON


EMERGENCY = "To communicate in the event of an accident, illness, or similar event"


def test_load_sample_register_treats_emergency_health_data_as_special(loaded):
    activity = ProcessingActivity.objects.get(name=EMERGENCY)
    special = activity.personal_data_categories.filter(sensitivity=Sensitivity.SPECIAL)
    conditions = {
        basis.basis: basis.special_category_condition
        for basis in activity.lawful_bases.all()
    }

    assert [(c.special_category, c.is_sample) for c in special] == [
        (SpecialCategory.HEALTH, True)
    ]
    assert conditions[LawfulBasisChoice.VITAL_INTERESTS] == (
        SpecialCategoryCondition.VITAL_INTERESTS
    )
    assert activity.lawful_bases.filter(is_sample=False).count() == 0


def test_load_sample_register_keeps_accounting_records_by_each_company_law(loaded):
    rules = RetentionRule.objects.filter(
        personal_data_category__name="Invoicing details"
    )
    shown = {rule.period_text for rule in rules}

    assert rules.count() == 2
    [text] = shown
    assert (
        "Infobric Norge AS: 5 years after the end of the financial year "
        "(Norwegian Bookkeeping Act (bokføringsloven), § 13)."
    ) in text
    assert (
        "Infobric Finland Oy: vouchers and other accounting records 6 years after "
        "the end of the year in which the financial year ended; the financial "
        "statements and the books 10 years after the end of the financial year "
        "(Finnish Accounting Act (kirjanpitolaki 1336/1997), ch. 2 s. 10)."
    ) in text
    assert "Infobric AB, Infobric Ease AB and Infobric Fleet AB: 7 years" in text
    assert {rule.period for rule in rules} == {None}
    legal = RetentionRule.objects.get(
        activity__name="To fulfil legal obligations", personal_data_category=None
    )
    assert legal.period_text == text


def test_load_sample_register_makes_the_platforms_joint_controllers_for_targeting(
    loaded,
):
    platforms = Organisation.objects.get(name=SOCIAL_NETWORKS)
    [arrangement] = platforms.joint_arrangements.all()
    recipient = Recipient.objects.get(name=SOCIAL_NETWORKS)

    assert not platforms.is_group_company
    assert recipient.organisation == platforms
    assert set(arrangement.parties.all()) == {
        platforms,
        *Organisation.objects.group_companies(),
    }
    assert "targeting tools" in arrangement.scope
    assert "Not the platforms' own processing" in arrangement.scope
    assert arrangement.essence_published
    assert "Sample value" in arrangement.essence
    assert "Sample value" in arrangement.responsibilities


def test_load_sample_register_records_a_dpia_screening_where_it_profiles(loaded):
    profiling = ProcessingActivity.objects.exclude(profiling=Profiling.NONE)

    assert profiling.count() == 2
    assert {(a.name, a.dpia_required, a.dpia_status) for a in profiling} == {
        ("To conduct analyses to produce customer insights", False, ""),
        (
            "To communicate offers and marketing via various channels",
            True,
            DPIAStatus.COMPLETED,
        ),
    }
    assert all(
        a.dpia_reference.startswith("Sample value: screening SCR-") for a in profiling
    )
