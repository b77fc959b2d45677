"""
Art. 30 completeness, computed from the record rather than typed in.

Each rule is a boolean SQL expression that is true when the record lacks
something Art. 30 asks for. The register's querysets annotate every rule as a
``gap_<key>`` column, so the admin list, its filter, the dashboard and the
review report read completeness from one query, and ``gaps_for`` turns the
columns of one record into readable gaps.

Conditional elements count only where they apply: transfers only where data
leaves the EEA, the Art. 9(2) condition only for special category data, the
Art. 10 authority only for criminal data, the legitimate interest only for
basis (f).

The lawful basis, the legitimate interest, the Art. 9(2) condition and the
Art. 10 authority are no letter of Art. 30: they are what a controller keeps
to demonstrate compliance (Art. 5(2)), and regulators' templates ask for them
beside the record (the ICO's columns 12 to 15). Their gaps name their own
article, and ``ART30_RULES`` leaves them out.
"""

from dataclasses import dataclass

from django.apps import apps
from django.db import models
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
)

from ropa.enums import ActivityRole, LawfulBasisChoice, TransferMechanism
from ropa.geography import (
    adequate_countries,
    adequate_organisations,
    eea_countries,
    in_force_since,
    scoped_countries,
)
from subjects.enums import Sensitivity

CONTROLLER = ActivityRole.CONTROLLER
PROCESSOR = ActivityRole.PROCESSOR


@dataclass(frozen=True)
class Gap:
    """One missing element of one record: of Art. 30, or an accountability extra."""

    key: str
    element: str
    title: str
    reason: str
    art30: bool = True

    def __str__(self):
        return f"Art. {self.element} {self.title}: {self.reason}"

    @property
    def label(self):
        """The element, short: "30(1)(b)" for a letter of Art. 30, else "Art. 9(2)"."""
        return self.element if self.art30 else f"Art. {self.element}"


@dataclass(frozen=True)
class Element:
    controller: str
    processor: str
    title: str
    # False for what Art. 5(2) accountability asks beside the record.
    art30: bool = True


A = Element("30(1)(a)", "30(2)(a)", "controller, processor and contact details")
B = Element("30(1)(b)", "30(2)(b)", "purposes of the processing")
C = Element("30(1)(c)", "", "categories of data subjects and personal data")
D = Element("30(1)(d)", "", "categories of recipients")
E = Element("30(1)(e)", "30(2)(c)", "transfers to third countries")
F = Element("30(1)(f)", "", "time limits for erasure")
G = Element("30(1)(g)", "30(2)(d)", "security measures")
# Asked of controllers only: a processor acts on its clients' bases.
LAWFUL_BASIS = Element("6(1)", "", "lawful basis", art30=False)
SPECIAL_CONDITION = Element(
    "9(2)", "", "condition for special category data", art30=False
)
CRIMINAL_AUTHORITY = Element(
    "10", "", "authority for criminal offence data", art30=False
)


def _model(name):
    app_label, model_name = name.split(".")
    return apps.get_model(app_label, model_name)


def _activity():
    return OuterRef("pk")


def _orgs(**filters):
    return _model("controllers.Organisation").objects.filter(
        activities=_activity(), **filters
    )


def _data_categories(**filters):
    return _model("subjects.PersonalDataCategory").objects.filter(
        activities=_activity(), **filters
    )


def _bases(**filters):
    return _model("ropa.LawfulBasis").objects.filter(activity=_activity(), **filters)


def _transfers(**filters):
    return _model("ropa.InternationalTransfer").objects.filter(
        activity=_activity(), **filters
    )


def _rules(**filters):
    return _model("ropa.RetentionRule").objects.filter(activity=_activity(), **filters)


def _links(name):
    """The activity's rows of the link table of its many-to-many field ``name``."""
    field = _model("ropa.ProcessingActivity")._meta.get_field(name)
    return field.remote_field.through.objects.filter(
        **{field.m2m_field_name(): _activity()}
    )


def _blank(field):
    return ExpressionWrapper(Q(**{field: ""}), output_field=BooleanField())


def _no_controller(on):
    return ~Exists(_links("organisations"))


def _no_contact_details(on):
    return Exists(_orgs(email="", phone=""))


def _representative_without_contact_details(on):
    return Exists(_orgs(representative__email="", representative__phone=""))


def _joint_controller_without_contact_details(on):
    responsible = _model("ropa.ProcessingActivity").organisations.through.objects
    # A party that is also a responsible organisation is no_contact_details'.
    return Exists(
        _model("controllers.Organisation")
        .objects.filter(
            joint_arrangements=OuterRef("joint_arrangement_id"), email="", phone=""
        )
        .exclude(
            pk__in=responsible.filter(
                processingactivity=OuterRef(OuterRef("pk"))
            ).values("organisation")
        )
    )


def _client_controller_without_contact_details(on):
    return Exists(
        _model("controllers.Organisation").objects.filter(
            processed_for_activities=_activity(), email="", phone=""
        )
    )


def _no_representative(on):
    # An organisation exempt under Art. 27(2) needs none.
    return Exists(
        _orgs(representative__isnull=True, art27_exempt=False).exclude(
            country__in=sorted(eea_countries(on))
        )
    )


def _joint_without_parties(on):
    arrangements = (
        _model("controllers.JointControllerArrangement")
        .objects.filter(pk=OuterRef("joint_arrangement_id"))
        .annotate(party_count=Count("parties"))
        .filter(Q(party_count__lt=2) | Q(responsibilities=""))
    )
    return Exists(arrangements)


def _no_client_controller(on):
    return ~Exists(_links("client_controllers"))


def _no_purpose(on):
    return _blank("purpose")


def _no_lawful_basis(on):
    return ~Exists(_bases())


def _legitimate_interest_unstated(on):
    return Exists(
        _bases(basis=LawfulBasisChoice.LEGITIMATE_INTERESTS, legitimate_interest="")
    )


def _special_without_condition(on):
    return Exists(_data_categories(sensitivity=Sensitivity.SPECIAL)) & ~Exists(
        _bases().exclude(special_category_condition="")
    )


def _criminal_without_authority(on):
    return Exists(_data_categories(sensitivity=Sensitivity.CRIMINAL)) & ~Exists(
        _bases().exclude(criminal_data_authority="")
    )


def _no_subjects(on):
    return ~Exists(_links("data_subject_categories"))


def _no_data_categories(on):
    return ~Exists(_links("personal_data_categories"))


def _no_recipients(on):
    return ~Exists(_links("recipients"))


def _transfer_not_recorded(on):
    recorded = _model("ropa.InternationalTransfer").objects.filter(
        activity=OuterRef(OuterRef("pk"))
    )
    recipients = (
        _model("ropa.Recipient")
        .objects.filter(activities=_activity())
        .exclude(country="")
        .exclude(country__in=sorted(eea_countries(on)))
        .exclude(country__in=recorded.values("country"))
    )
    return Exists(recipients)


def _adequacy_not_in_force(on):
    covered = Q(country__in=sorted(adequate_countries(on)))
    for name in sorted(adequate_organisations(on)):
        # Named in any case; SQLite folds the case of ASCII letters only.
        covered |= Q(country="", international_organisation__iexact=name)
    return Exists(_transfers(mechanism=TransferMechanism.ADEQUACY).exclude(covered))


def _adequacy_scope_unrecorded(on):
    return Exists(
        _transfers(
            mechanism=TransferMechanism.ADEQUACY,
            country__in=sorted(scoped_countries(on)),
            adequacy_scope="",
        )
    )


def _recipient_location_unknown(on):
    return Exists(
        _model("ropa.Recipient").objects.filter(activities=_activity(), country="")
    )


def _safeguards_undocumented(on):
    return Exists(
        _transfers(
            mechanism=TransferMechanism.COMPELLING_INTERESTS,
            safeguards_documentation="",
        )
    )


def _no_retention(on):
    return ~Exists(_rules())


def _category_without_retention(on):
    covered = _model("ropa.RetentionRule").objects.filter(
        activity=OuterRef(OuterRef("pk")), personal_data_category__isnull=False
    )
    uncovered = _data_categories().exclude(
        pk__in=covered.values("personal_data_category")
    )
    return (
        Exists(_rules())
        & ~Exists(_rules(personal_data_category__isnull=True))
        & Exists(uncovered)
    )


def _no_security(on):
    return ~Exists(_links("security_measures")) & Q(security_description="")


@dataclass(frozen=True)
class Rule:
    key: str
    element: Element
    reason: str
    expression: object
    roles: tuple = (CONTROLLER, PROCESSOR)

    def gap(self, role):
        return Gap(
            key=self.key,
            element=getattr(self.element, role),
            title=self.element.title,
            reason=self.reason,
            art30=self.element.art30,
        )


RULES = (
    Rule("no_organisation", A, "no responsible organisation is named", _no_controller),
    Rule(
        "no_contact_details",
        A,
        "a responsible organisation has no e-mail or phone",
        _no_contact_details,
    ),
    Rule(
        "no_representative",
        A,
        "an organisation established outside the EEA, or whose country is not "
        "recorded, has no Art. 27 representative and no Art. 27(2) exemption",
        _no_representative,
    ),
    Rule(
        "representative_without_contact_details",
        A,
        "the Art. 27 representative of a responsible organisation has no e-mail "
        "or phone",
        _representative_without_contact_details,
    ),
    Rule(
        "joint_controller_without_contact_details",
        A,
        "a joint controller of the arrangement has no e-mail or phone",
        _joint_controller_without_contact_details,
        roles=(CONTROLLER,),
    ),
    Rule(
        "joint_without_parties",
        A,
        "the joint controller arrangement names fewer than two parties or does "
        "not allocate their responsibilities (Art. 26(1))",
        _joint_without_parties,
        roles=(CONTROLLER,),
    ),
    Rule(
        "no_client_controller",
        A,
        "no controller on whose behalf the processor acts is named",
        _no_client_controller,
        roles=(PROCESSOR,),
    ),
    Rule(
        "client_controller_without_contact_details",
        A,
        "a controller on whose behalf the processor acts has no e-mail or phone",
        _client_controller_without_contact_details,
        roles=(PROCESSOR,),
    ),
    Rule("no_purpose", B, "the purpose is not described", _no_purpose),
    Rule(
        "no_lawful_basis",
        LAWFUL_BASIS,
        "no Art. 6(1) lawful basis is recorded",
        _no_lawful_basis,
        roles=(CONTROLLER,),
    ),
    Rule(
        "legitimate_interest_unstated",
        LAWFUL_BASIS,
        "a legitimate interests basis does not state the interest pursued",
        _legitimate_interest_unstated,
        roles=(CONTROLLER,),
    ),
    Rule(
        "special_without_condition",
        SPECIAL_CONDITION,
        "special category data is processed without an Art. 9(2) condition",
        _special_without_condition,
        roles=(CONTROLLER,),
    ),
    Rule(
        "criminal_without_authority",
        CRIMINAL_AUTHORITY,
        "criminal offence data is processed without an Art. 10 authority",
        _criminal_without_authority,
        roles=(CONTROLLER,),
    ),
    Rule(
        "no_data_subjects",
        C,
        "no category of data subjects is recorded",
        _no_subjects,
        roles=(CONTROLLER,),
    ),
    Rule(
        "no_data_categories",
        C,
        "no category of personal data is recorded",
        _no_data_categories,
        roles=(CONTROLLER,),
    ),
    Rule(
        "no_recipients",
        D,
        "no recipient is recorded",
        _no_recipients,
        roles=(CONTROLLER,),
    ),
    Rule(
        "transfer_not_recorded",
        E,
        "a recipient outside the EEA has no transfer recorded for its country",
        _transfer_not_recorded,
    ),
    Rule(
        "adequacy_not_in_force",
        E,
        "a transfer relies on an adequacy decision that is not in force",
        _adequacy_not_in_force,
    ),
    Rule(
        "adequacy_scope_unrecorded",
        E,
        "a transfer relies on an adequacy decision limited to some recipients "
        "without recording that the recipient is covered",
        _adequacy_scope_unrecorded,
    ),
    # Art. 30(1)(d) names the recipients; what a recipient of unknown location
    # leaves open is (e): whether data leaves the EEA and needs a transfer
    # recorded. So it is asked of processor records too (30(2)(c)).
    Rule(
        "recipient_location_unknown",
        E,
        "a recipient's country is not recorded, so whether a transfer must be "
        "recorded cannot be told",
        _recipient_location_unknown,
    ),
    Rule(
        "safeguards_undocumented",
        E,
        "a transfer on compelling legitimate interests (Art. 49(1) second "
        "subparagraph) has no documentation of its safeguards",
        _safeguards_undocumented,
    ),
    Rule(
        "no_retention",
        F,
        "no retention rule is recorded",
        _no_retention,
        roles=(CONTROLLER,),
    ),
    Rule(
        "category_without_retention",
        F,
        "a category of personal data has no retention rule",
        _category_without_retention,
        roles=(CONTROLLER,),
    ),
    Rule(
        "no_security",
        G,
        "no security measure and no general description is recorded",
        _no_security,
    ),
)

RULES_BY_KEY = {rule.key: rule for rule in RULES}
# The rules of the letters of Art. 30, without the accountability extras.
ART30_RULES = tuple(rule for rule in RULES if rule.element.art30)


def column(rule):
    return f"gap_{rule.key}"


def annotations(on=None):
    """The ``gap_<key>`` annotations of every rule, evaluated on a date."""
    return {
        column(rule): ExpressionWrapper(
            rule.expression(on), output_field=BooleanField()
        )
        for rule in RULES
    }


def incomplete_q(on=None, rules=RULES):
    """
    Matches records that lack any element that applies to them, on a date
    (of ``rules``: ``ART30_RULES`` leaves the accountability extras out).

    Each rule becomes one subquery of the records lacking that element,
    independent of the outer row, so the database evaluates it once for the
    whole table (a semi- or anti-join, then a hashed ``IN``) instead of once
    per record: at 10,000 records that is the difference between a filter that
    answers in a fraction of a second and one that takes seconds. The
    expressions are the rules' own, so the filter and the ``gap_<key>``
    columns cannot disagree. Needs no annotations.
    """
    activities = _model("ropa.ProcessingActivity")._default_manager
    condition = Q(pk__in=[])
    for rule in rules:
        lacking = activities.filter(role__in=rule.roles).filter(rule.expression(on))
        condition |= Q(pk__in=lacking.values("pk"))
    return condition


def gaps_from_row(role, row):
    """The gaps of a record of ``role`` from its ``gap_<key>`` values."""
    return [
        rule.gap(role) for rule in RULES if role in rule.roles and row.get(column(rule))
    ]


def gaps_for(activity, on=None):
    """
    The gaps of one activity.

    Reads the ``gap_<key>`` annotations when the activity came from
    ``with_completeness()`` (no query), else its stored gaps where they are
    current, else computes them with the rules in one query.
    """
    columns = [column(rule) for rule in RULES]
    if on is None and all(hasattr(activity, name) for name in columns):
        row = {name: getattr(activity, name) for name in columns}
    elif activity.pk is not None and (
        (stored := current_gaps(activity, on)) is not None
    ):
        # A one-row read instead of the rules' 19 subqueries, which cost the
        # record's page more to build than to run.
        row = {column(rule): rule.key in stored for rule in RULES}
    else:
        row = (
            type(activity)
            .objects.with_completeness(on)
            .values(*columns)
            .get(pk=activity.pk)
        )
    return gaps_from_row(activity.role, row)


# The stored gaps (``ropa.stored_completeness`` keeps them up to date) are read
# here, below the models, so that a record's own page can use them.


def fresh_q(on=None, prefix=""):
    """Matches stored rows that are current for ``on`` (today by default)."""
    return Q(
        **{
            f"{prefix}computed_generation": models.F(f"{prefix}generation"),
            f"{prefix}geography_as_of": in_force_since(on),
        }
    )


def current_gaps(activity, on=None):
    """
    The keys of the gaps stored for ``activity`` if they are current for
    ``on`` and were computed for the role it has, else None. Read afresh, not
    from a stored row cached on the instance: a change since may have put it
    out of date. (A form shown again with its errors holds a role not saved.)
    """
    stored = (
        _model("ropa.StoredCompleteness")
        .objects.filter(fresh_q(on), pk=activity.pk)
        .values_list("gaps", "activity__role")
        .first()
    )
    if stored is None or stored[1] != activity.role:
        return None
    return set(stored[0].split())
