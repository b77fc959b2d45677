"""
The public privacy notice ("Why do we process your personal data?"), built
from the register.

The register is the single source of truth: every sentence of a purpose comes
from its activity's fields, so the notice cannot drift from the record.
``build_notice`` reads the register into plain data (a ``Notice`` of
``Section`` rows) with a fixed number of queries, whatever the number of
activities; ``render_notice`` turns that data into HTML or Markdown through
the templates in ``templates/ropa/``, which a designer may restyle.

What the notice shows:

- the active controller records marked for the notice, in the register's
  notice order. Drafts and retired activities never appear, and neither do
  processor records (Art. 30(2)): the controllers they act for inform the data
  subjects, not the processor;
- per purpose its public title and text, the opt-out information (Art. 21),
  the profiling statement (Art. 13(2)(f)), the controllership statement
  (Art. 26(2)) and the independent controllers the data is shared with;
- per purpose a details part, the "detailed information" of the notice: the
  responsible companies, categories of personal data, lawful bases (Art.
  13(1)(c) and (d)), recipients (Art. 13(1)(e)), retention (Art. 13(2)(a)),
  and, where recorded, transfers (Art. 13(1)(f)), the source of the data
  (Art. 14(2)(f)), the rights available and the essence of a joint controller
  arrangement (Art. 26(2)).

- per purpose the recipients that are joint controllers with us for part of
  the processing (a platform whose targeting tools we use: CJEU C-40/17
  Fashion ID), named with the scope of that arrangement (Art. 26(2));
- the opt-out information (where it states the right to object to direct
  marketing, Art. 21(4) asks for it to be shown clearly and apart from the
  rest) under a heading of its own.

Sample values never pass for facts. A value is a sample when its row is
marked ``is_sample`` (categories, lawful bases, retention rules) or, in a model
without that field (organisations, officers, recipients, arrangements, the
source of the data), when its text holds a note starting "Sample value"
(``SAMPLE_NOTE``). The notice drops the note, marks the value, and says once,
at the top, that it shows sample values (``Notice.sample_values``);
``render_notice --check`` refuses a notice that holds any.

The group's name completes the joint controllership statements ("companies
within the Infobric group"). It is ``settings.ROPA_GROUP_NAME`` when set;
otherwise it is derived from the register: the one group company without a
parent, without its legal form ("Infobric AB" gives "Infobric"). With no such
company, or several, the statements speak of "the group".
"""

import re
from collections import Counter
from dataclasses import dataclass, fields, is_dataclass, replace

from django.conf import settings
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.utils.text import slugify

from controllers.enums import JointScope
from controllers.models import JointControllerArrangement, Organisation
from ropa.enums import LawfulBasisChoice, Profiling, RecipientType
from ropa.models import (
    InternationalTransfer,
    LawfulBasis,
    ProcessingActivity,
    Recipient,
    RetentionRule,
)

HTML = "html"
MARKDOWN = "markdown"
NOTICE_FORMATS = (HTML, MARKDOWN)
TEMPLATES = {
    HTML: "ropa/privacy_notice.html",
    MARKDOWN: "ropa/privacy_notice.md",
}

# Art. 26(2): the essence of joint controllership, in the wording of the
# group's published notice. ``{group}`` is "the Infobric group" or "the group".
WHEN_JOINT_STATEMENT = (
    "Each company covered by this privacy policy is, as a starting point, "
    "responsible for its own use of your personal data for this purpose. "
    "Companies within {group} are, however, jointly responsible for the use of "
    "your personal data for this purpose where the companies jointly "
    "{joint_processing}."
)
# Completes the statement above when the activity does not say what the
# companies do together: the definition of joint controllers in Art. 26(1).
DEFAULT_JOINT_PROCESSING = "determine the purposes and means of the processing"
ALWAYS_JOINT_STATEMENT = (
    "The companies within {group} are jointly responsible for the processing of "
    "your personal data {purpose}."
)
# Completes the statement above when the activity does not say what the
# companies do together.
DEFAULT_ALWAYS_PURPOSE = "for this purpose"
SOLE_CONTROLLER_STATEMENT = (
    "{company} is responsible on its own for the use of your personal data for "
    "this purpose."
)

# Art. 13(2)(f): profiling, and automated decisions with legal or similarly
# significant effects (Art. 22).
NO_PROFILING_STATEMENT = "No profiling takes place within the scope of this processing."
PROFILING_STATEMENT = (
    "Although some profiling of your data may take place, we do not, however, "
    "undertake profiling for so-called automated decision-making that has legal "
    "consequences or otherwise affects you significantly."
)
AUTOMATED_DECISIONS_STATEMENT = (
    "For this purpose we make decisions about you based solely on automated "
    "processing, including profiling, that have legal consequences for you or "
    "otherwise affect you significantly (Art. 22 GDPR)."
)
AUTOMATED_DECISIONS_RIGHTS = (
    "You have the right to obtain human intervention on our part, to express "
    "your point of view and to contest the decision."
)

# How the notice describes each type of recipient to the public.
RECIPIENT_KINDS = {
    RecipientType.INTERNAL: "within the group",
    RecipientType.EXTERNAL: "independent controller",
    RecipientType.PROCESSOR: "processor acting on our behalf",
}

ALL_DATA = "All personal data"

# A recipient that is a joint controller with us for one step of the processing
# (Art. 26), and an independent controller for the rest.
JOINT_RECIPIENT_KIND = (
    "independent controller, jointly responsible with us for part of the processing"
)
JOINT_RECIPIENT_STATEMENT = (
    "{recipient} and we are jointly responsible for part of this processing "
    "(Art. 26 GDPR): {scope}"
)

# The note by which a value of a model without an ``is_sample`` field says it
# is a sample: from "Sample value" to the end of its line.
SAMPLE_NOTE = re.compile(r"[ \t]*\(?\bSample value\b[^\n]*", re.IGNORECASE)

# The parts of the notice that can hold sample values, in the order the
# ``--check`` message names them.
SAMPLE_PARTS = (
    "company details",
    "data protection officer",
    "categories of personal data",
    "legal bases",
    "retention periods",
    "recipients",
    "joint controller arrangements",
    "sources of the data",
    "rights",
)

# Legal forms stripped from the parent company's name to name the group.
LEGAL_FORM = re.compile(
    r"[\s,]+(?:AB(?: \(publ\))?|ASA|AS|A/S|ApS|Oyj|Oy|GmbH|AG|Ltd\.?|Limited|plc|"
    r"PLC|B\.V\.|BV|N\.V\.|NV|S\.A\.S\.|SAS|S\.A\.|SA|SARL|S\.p\.A\.|SpA|Inc\.?|"
    r"LLC|ehf\.?|hf\.?|Sp\. z o\.o\.)$"
)


@dataclass(frozen=True)
class Company:
    """A controller covered by the notice, with its contacts (Art. 13(1)(a)-(b))."""

    name: str
    slug: str
    registration_number: str = ""
    address: str = ""
    email: str = ""
    phone: str = ""
    website: str = ""
    dpo_name: str = ""
    dpo_email: str = ""
    dpo_phone: str = ""
    # The registration number, address and phone are sample values.
    is_sample: bool = False
    dpo_is_sample: bool = False

    @property
    def address_inline(self):
        """The address on one line, its lines separated by commas."""
        return ", ".join(line.strip() for line in self.address.splitlines() if line)


@dataclass(frozen=True)
class NoticeRecipient:
    name: str
    kind: str
    description: str = ""
    # An independent controller (Art. 4(7)), not a group company or processor.
    independent: bool = False
    is_sample: bool = False


@dataclass(frozen=True)
class JointRecipient:
    """A recipient that is a joint controller with us for part of a purpose."""

    statement: str
    essence: str = ""
    is_sample: bool = False


@dataclass(frozen=True)
class CategoryEntry:
    name: str
    is_sample: bool = False


@dataclass(frozen=True)
class LawfulBasisEntry:
    basis: str
    explanation: str = ""
    legitimate_interest: str = ""
    special_category_condition: str = ""
    criminal_data_authority: str = ""
    is_sample: bool = False


@dataclass(frozen=True)
class RetentionEntry:
    data: str
    period: str
    is_sample: bool = False


@dataclass(frozen=True)
class TransferEntry:
    destination: str
    mechanism: str


@dataclass(frozen=True)
class Details:
    """The detailed information of one purpose."""

    controllers: tuple[str, ...]
    personal_data_categories: tuple[CategoryEntry, ...]
    lawful_bases: tuple[LawfulBasisEntry, ...]
    recipients: tuple[NoticeRecipient, ...]
    retention: tuple[RetentionEntry, ...]
    joint_controllers: tuple[str, ...] = ()
    joint_arrangement_essence: str = ""
    joint_contact_point: str = ""
    transfers: tuple[TransferEntry, ...] = ()
    data_source: str = ""
    rights: str = ""
    data_source_is_sample: bool = False
    # The rights follow from the lawful bases: samples when a basis is one.
    rights_is_sample: bool = False


@dataclass(frozen=True)
class Section:
    """One purpose of the notice: one active processing activity."""

    anchor: str
    title: str
    text: str
    opt_out: str
    profiling: str
    controllership: str
    details: Details
    # Joint controllers (Art. 26) for this purpose, on this notice.
    is_joint: bool = False
    joint_recipients: tuple[JointRecipient, ...] = ()

    @property
    def shared_with(self):
        """
        The independent controllers that receive the data: the disclosures a
        reader looks for under the purpose. Every recipient, group companies and
        processors included, is listed in the details.
        """
        return tuple(
            recipient for recipient in self.details.recipients if recipient.independent
        )


@dataclass(frozen=True)
class Notice:
    group_name: str
    controller: Company | None
    companies: tuple[Company, ...]
    sections: tuple[Section, ...]

    @property
    def sample_values(self):
        """Each sample value the notice shows, as (part, where) pairs."""
        found = []
        for company in self.companies:
            if company.is_sample:
                found.append(("company details", company.name))
            if company.dpo_is_sample:
                found.append(("data protection officer", company.name))
        for section in self.sections:
            details = section.details
            entries = (
                ("categories of personal data", details.personal_data_categories),
                ("legal bases", details.lawful_bases),
                ("retention periods", details.retention),
                ("recipients", details.recipients),
                ("joint controller arrangements", section.joint_recipients),
            )
            found.extend(
                (part, section.title)
                for part, values in entries
                for value in values
                if value.is_sample
            )
            if details.data_source_is_sample:
                found.append(("sources of the data", section.title))
            if details.rights_is_sample:
                found.append(("rights", section.title))
        return tuple(found)

    def sample_summary(self):
        """The sample values counted by part: "26 legal bases, 5 recipients"."""
        counts = Counter(part for part, _ in self.sample_values)
        return ", ".join(
            f"{counts[part]} in {part}" for part in SAMPLE_PARTS if counts[part]
        )

    @property
    def publisher(self):
        """Who publishes this notice: the one company, or the group."""
        if self.controller:
            return self.controller.name
        return self.group_name


def strip_legal_form(name):
    """The company name without its legal form: "Infobric AB" → "Infobric"."""
    return LEGAL_FORM.sub("", name.strip())


def group_name():
    """The group's name for the statements; see the module docstring."""
    configured = settings.ROPA_GROUP_NAME.strip()
    if configured:
        return configured
    parents = list(
        Organisation.objects.group_companies()
        .filter(parent__isnull=True)
        .order_by("name")
        .values_list("name", flat=True)[:2]
    )
    if len(parents) == 1:
        return strip_legal_form(parents[0])
    return ""


def _the_group(name):
    return f"the {name} group" if name else "the group"


def notice_activities():
    """The activities the notice shows, in the notice's order, without prefetches."""
    return (
        ProcessingActivity.objects.active()
        .controller_records()
        .filter(in_notice=True)
        .order_by("notice_order", "reference")
    )


def notice_controllers():
    """The organisations responsible for at least one purpose of the notice."""
    return (
        Organisation.objects.filter(activities__in=notice_activities())
        .distinct()
        .order_by("name")
    )


def _prefetched(activities):
    # One query per relation, whatever the number of activities.
    return activities.select_related("joint_arrangement").prefetch_related(
        Prefetch(
            "organisations",
            queryset=Organisation.objects.select_related("dpo").order_by("name"),
        ),
        Prefetch(
            "joint_arrangement__parties",
            queryset=Organisation.objects.order_by("name"),
        ),
        # The arrangements of a recipient's organisation: one query, and none
        # when no recipient names an organisation.
        Prefetch(
            "recipients",
            queryset=Recipient.objects.select_related("organisation")
            .prefetch_related(
                Prefetch(
                    "organisation__joint_arrangements",
                    queryset=JointControllerArrangement.objects.order_by("reference"),
                )
            )
            .order_by("name"),
        ),
        "personal_data_categories",
        Prefetch("lawful_bases", queryset=LawfulBasis.objects.order_by("pk")),
        Prefetch(
            "retention_rules",
            queryset=RetentionRule.objects.select_related("personal_data_category"),
        ),
        Prefetch(
            "transfers",
            queryset=InternationalTransfer.objects.order_by(
                "country", "international_organisation"
            ),
        ),
    )


def joint_arrangement_for(activity, controller=None):
    """The activity's joint controller arrangement, if ``controller`` is a party."""
    arrangement = activity.joint_arrangement
    if arrangement is None or controller is None:
        return arrangement
    if any(party.slug == controller.slug for party in arrangement.parties.all()):
        return arrangement
    return None


def controllership_statement(activity, *, group, controller=None):
    """
    The Art. 26(2) statement of who is responsible for one purpose.

    An activity under a joint controller arrangement gets the arrangement's
    statement: "always" joint, or each company on its own as a starting point
    and jointly where the companies act together. On the notice of one company
    that is not a party to the arrangement, the purpose is that company's own.

    Without an arrangement the group notice states nothing: its introduction
    says that each company is responsible for its own use of the data unless a
    purpose states joint responsibility, which keeps the joint statements (the
    ones Art. 26(2) requires to be visible) from being buried in repetition.
    The notice of one company names it, as the only controller of the purpose.
    """
    arrangement = joint_arrangement_for(activity, controller)
    if arrangement is None:
        if controller is None:
            return ""
        return SOLE_CONTROLLER_STATEMENT.format(company=controller.name)
    joint_processing = activity.joint_processing.strip().rstrip(".").strip()
    if arrangement.joint_scope == JointScope.ALWAYS:
        purpose = f"in order to {joint_processing}" if joint_processing else ""
        return ALWAYS_JOINT_STATEMENT.format(
            group=_the_group(group), purpose=purpose or DEFAULT_ALWAYS_PURPOSE
        )
    return WHEN_JOINT_STATEMENT.format(
        group=_the_group(group),
        joint_processing=joint_processing or DEFAULT_JOINT_PROCESSING,
    )


def profiling_statement(activity):
    """
    The Art. 13(2)(f) statement on profiling for one purpose.

    "No profiling" and "profiling without automated decisions" are printed only
    when the activity asks for it (``profiling_in_notice``); the activity's own
    description, when filled, replaces the standard wording of the latter.
    Automated decisions with legal or similarly significant effects are always
    disclosed, with the logic and consequences from the description: Art.
    13(2)(f) leaves no choice there.
    """
    description = activity.profiling_description.strip()
    if activity.profiling == Profiling.AUTOMATED_DECISIONS:
        parts = (AUTOMATED_DECISIONS_STATEMENT, description, AUTOMATED_DECISIONS_RIGHTS)
        return " ".join(part for part in parts if part)
    if not activity.profiling_in_notice:
        return ""
    if activity.profiling == Profiling.PROFILING:
        return description or PROFILING_STATEMENT
    return NO_PROFILING_STATEMENT


def _inline(text):
    """Text shown within a line or a list item: whitespace collapsed."""
    return " ".join(text.split())


def without_sample_note(text):
    """``text`` without its sample note (``SAMPLE_NOTE``), and whether it had one."""
    stripped = SAMPLE_NOTE.sub("", text)
    return stripped.strip(), stripped != text


def _company(organisation):
    dpo = organisation.dpo
    address, is_sample = without_sample_note(organisation.address)
    _, dpo_is_sample = without_sample_note(dpo.address) if dpo else ("", False)
    return Company(
        name=organisation.name,
        slug=organisation.slug,
        registration_number=organisation.registration_number,
        address=address,
        email=organisation.email,
        phone=organisation.phone,
        website=organisation.website,
        dpo_name=dpo.name if dpo else "",
        dpo_email=dpo.email if dpo else "",
        dpo_phone=dpo.phone if dpo else "",
        is_sample=is_sample,
        dpo_is_sample=dpo_is_sample,
    )


def _joint_arrangements(recipient, activity):
    """The arrangements that make ``recipient`` a joint controller of part of it."""
    if recipient.organisation is None:
        return []
    return [
        arrangement
        for arrangement in recipient.organisation.joint_arrangements.all()
        if arrangement.pk != activity.joint_arrangement_id
    ]


def _recipients(activity):
    entries = []
    for recipient in activity.recipients.all():
        description, is_sample = without_sample_note(recipient.description)
        joint = _joint_arrangements(recipient, activity)
        entries.append(
            NoticeRecipient(
                name=recipient.name,
                kind=JOINT_RECIPIENT_KIND
                if joint
                else RECIPIENT_KINDS.get(recipient.recipient_type, ""),
                description=_inline(description),
                independent=recipient.recipient_type == RecipientType.EXTERNAL,
                is_sample=is_sample,
            )
        )
    return tuple(entries)


def _joint_recipients(activity):
    entries = []
    for recipient in activity.recipients.all():
        for arrangement in _joint_arrangements(recipient, activity):
            scope, scope_sample = without_sample_note(arrangement.scope)
            essence, essence_sample = ("", False)
            if arrangement.essence_published:
                essence, essence_sample = without_sample_note(arrangement.essence)
            entries.append(
                JointRecipient(
                    statement=JOINT_RECIPIENT_STATEMENT.format(
                        recipient=recipient.name, scope=_inline(scope)
                    ),
                    essence=_inline(essence),
                    is_sample=scope_sample or essence_sample,
                )
            )
    return tuple(entries)


_BASIS_ORDER = {value: index for index, value in enumerate(LawfulBasisChoice.values)}


def _lawful_bases(activity):
    bases = sorted(activity.lawful_bases.all(), key=lambda b: _BASIS_ORDER[b.basis])
    return tuple(
        LawfulBasisEntry(
            basis=basis.get_basis_display(),
            explanation=_inline(basis.explanation),
            legitimate_interest=_inline(basis.legitimate_interest),
            special_category_condition=basis.get_special_category_condition_display()
            if basis.special_category_condition
            else "",
            criminal_data_authority=_inline(basis.criminal_data_authority),
            is_sample=basis.is_sample,
        )
        for basis in bases
    )


def _retention(activity):
    # The rule for all of the activity's data first, then one per category.
    rules = sorted(
        activity.retention_rules.all(),
        key=lambda rule: (
            rule.personal_data_category is not None,
            rule.personal_data_category.name if rule.personal_data_category else "",
        ),
    )
    return tuple(
        RetentionEntry(
            data=rule.personal_data_category.name
            if rule.personal_data_category
            else ALL_DATA,
            period=_inline(rule.period_text),
            is_sample=rule.is_sample,
        )
        for rule in rules
    )


def _details(activity, *, arrangement):
    essence = ""
    contact_point = ""
    joint_controllers = ()
    if arrangement is not None:
        joint_controllers = tuple(party.name for party in arrangement.parties.all())
        if arrangement.essence_published:
            essence = arrangement.essence.strip()
        contact_point = arrangement.contact_point.strip()
    data_source, data_source_is_sample = without_sample_note(activity.data_source)
    lawful_bases = _lawful_bases(activity)
    return Details(
        controllers=tuple(org.name for org in activity.organisations.all()),
        personal_data_categories=tuple(
            CategoryEntry(category.name, is_sample=category.is_sample)
            for category in activity.personal_data_categories.all()
        ),
        lawful_bases=lawful_bases,
        recipients=_recipients(activity),
        retention=_retention(activity),
        joint_controllers=joint_controllers,
        joint_arrangement_essence=essence,
        joint_contact_point=contact_point,
        transfers=tuple(
            TransferEntry(
                destination=transfer.destination,
                mechanism=transfer.get_mechanism_display(),
            )
            for transfer in activity.transfers.all()
        ),
        data_source=data_source,
        rights=activity.rights_information.strip(),
        data_source_is_sample=data_source_is_sample,
        rights_is_sample=bool(activity.rights_information.strip())
        and any(basis.is_sample for basis in lawful_bases),
    )


def _section(activity, *, group, controller):
    arrangement = joint_arrangement_for(activity, controller)
    return Section(
        anchor=slugify(activity.reference),
        title=activity.public_title.strip(),
        text=activity.public_text.strip(),
        opt_out=activity.opt_out_information.strip(),
        profiling=profiling_statement(activity),
        controllership=controllership_statement(
            activity, group=group, controller=controller
        ),
        details=_details(activity, arrangement=arrangement),
        is_joint=arrangement is not None,
        joint_recipients=_joint_recipients(activity),
    )


def build_notice(controller=None):
    """
    The privacy notice as plain data: of the whole group, or of one company.

    ``controller`` is an ``Organisation``; its notice holds the purposes it is
    responsible for. The queries are the same in number for any number of
    activities.
    """
    group = group_name()
    activities = notice_activities()
    if controller is not None:
        activities = activities.filter(organisations=controller)
    company = _company(controller) if controller is not None else None
    sections = []
    companies = {}
    for activity in _prefetched(activities):
        sections.append(_section(activity, group=group, controller=company))
        for organisation in activity.organisations.all():
            companies.setdefault(organisation.pk, organisation)
    if company is not None:
        covered = (company,)
    else:
        covered = tuple(
            _company(org) for org in sorted(companies.values(), key=lambda o: o.name)
        )
    return Notice(
        group_name=group,
        controller=company,
        companies=covered,
        sections=tuple(sections),
    )


# Backslash escapes (CommonMark: any ASCII punctuation) for characters that
# would start markup or raw HTML anywhere in a line, and for those that do so
# at the start of a line only.
_MARKDOWN_INLINE = re.compile(r"([\\`*_{}\[\]<>#|~!&])")
_MARKDOWN_LINE_START = re.compile(r"^([-+=])(?=[\s\-=]|$)", re.MULTILINE)
_MARKDOWN_ORDERED = re.compile(r"^(\d+)([.)])(?=\s|$)", re.MULTILINE)


def markdown_escape(text):
    """``text`` as literal Markdown: no markup, no raw HTML, no code blocks."""
    lines = "\n".join(line.strip() for line in text.splitlines())
    escaped = _MARKDOWN_INLINE.sub(r"\\\1", lines)
    escaped = _MARKDOWN_LINE_START.sub(r"\\\1", escaped)
    return _MARKDOWN_ORDERED.sub(r"\1\\\2", escaped)


# Identifiers used in links, never shown as text.
_VERBATIM_FIELDS = frozenset({"anchor", "slug"})


def _map_text(value, function):
    """``value`` with ``function`` applied to every string shown as text."""
    if isinstance(value, str):
        return function(value)
    if isinstance(value, tuple):
        return tuple(_map_text(item, function) for item in value)
    if is_dataclass(value):
        changes = {
            field.name: _map_text(getattr(value, field.name), function)
            for field in fields(value)
            if field.name not in _VERBATIM_FIELDS
        }
        return replace(value, **changes)
    return value


def notice_context(notice, *, notice_url=None):
    """The template context; ``notice_url`` links the notice of each company."""
    return {"notice": notice, "notice_url": notice_url}


def render_notice(notice, *, fmt=HTML, notice_url=None):
    """The notice as an HTML page or a Markdown document."""
    if fmt not in NOTICE_FORMATS:
        allowed = ", ".join(NOTICE_FORMATS)
        raise ValueError(f"Unknown format {fmt!r}: use one of {allowed}.")
    if fmt == MARKDOWN:
        # The Markdown template does not autoescape: every value is escaped
        # for Markdown here instead.
        notice = _map_text(notice, markdown_escape)
    text = render_to_string(
        TEMPLATES[fmt], notice_context(notice, notice_url=notice_url)
    )
    if fmt == MARKDOWN:
        text = re.sub(r"[ \t]+\n", "\n", text)
        text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return text
