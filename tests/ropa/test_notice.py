import re
from collections import Counter
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

import ropa
from controllers.enums import JointScope
from ropa import notice
from ropa.enums import ActivityStatus, LawfulBasisChoice, Profiling
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

GROUP = "Infobric"
PAGE_TITLE = "Why do we process your personal data?"


@pytest.fixture(autouse=True)
def group_name(settings):
    settings.ROPA_GROUP_NAME = GROUP
    return GROUP


def _joint_activity(scope, *, joint_processing="conduct webinars", **kwargs):
    arrangement = JointControllerArrangementFactory(joint_scope=scope)
    return ProcessingActivityFactory(
        joint_arrangement=arrangement,
        joint_processing=joint_processing,
        organisations=list(arrangement.parties.all()),
        **kwargs,
    )


def _sections():
    return {section.title: section for section in notice.build_notice().sections}


def _markdown(**options):
    out = StringIO()
    call_command("render_notice", format=notice.MARKDOWN, stdout=out, **options)
    return out.getvalue()


# ---------------------------------------------------------------------------
# A well-formedness and accessibility check of the page, with html.parser
# ---------------------------------------------------------------------------

VOID_ELEMENTS = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    ]
)
# Elements a <p> cannot contain: the HTML parser would close the <p> first.
BLOCK_ELEMENTS = frozenset(
    [
        "address",
        "article",
        "aside",
        "div",
        "dl",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "main",
        "nav",
        "ol",
        "p",
        "section",
        "table",
        "ul",
    ]
)
REQUIRED_PARENTS = {"li": {"ul", "ol"}, "dt": {"dl"}, "dd": {"dl"}}


class PageStructure(HTMLParser):
    """Reads a page into the facts the accessibility checks need."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.doctype = ""
        self.lang = None
        self.stack = []
        self.problems = []
        self.ids = []
        self.labelled_by = []
        self.fragments = []
        self.headings = []
        self.tags = Counter()

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        self._open(tag, dict(attrs))
        if tag not in VOID_ELEMENTS:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self._open(tag, dict(attrs))
        if tag not in VOID_ELEMENTS:
            self.problems.append(f"<{tag}/> is not a void element")

    def handle_endtag(self, tag):
        if tag in VOID_ELEMENTS:
            self.problems.append(f"</{tag}> closes a void element")
        elif not self.stack or self.stack[-1] != tag:
            current = self.stack[-1] if self.stack else "nothing"
            self.problems.append(f"</{tag}> at {self.getpos()} closes <{current}>")
        else:
            self.stack.pop()

    def close(self):
        super().close()
        if self.stack:
            self.problems.append(f"unclosed elements: {self.stack}")

    def _open(self, tag, attrs):
        self.tags[tag] += 1
        parent = self.stack[-1] if self.stack else None
        if tag == "html":
            self.lang = attrs.get("lang")
        if tag in BLOCK_ELEMENTS and "p" in self.stack:
            self.problems.append(f"<{tag}> inside <p> at {self.getpos()}")
        if tag in REQUIRED_PARENTS and parent not in REQUIRED_PARENTS[tag]:
            self.problems.append(f"<{tag}> inside <{parent}> at {self.getpos()}")
        if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self.headings.append(int(tag[1]))
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if "aria-labelledby" in attrs:
            self.labelled_by.extend(attrs["aria-labelledby"].split())
        href = attrs.get("href") or ""
        if href.startswith("#"):
            self.fragments.append(href[1:])


def html_problems(page):
    """What makes ``page`` malformed or inaccessible; empty when it is fine."""
    structure = PageStructure()
    structure.feed(page)
    structure.close()
    problems = list(structure.problems)
    if structure.doctype.lower() != "doctype html":
        problems.append(f"doctype is {structure.doctype!r}")
    if not structure.lang:
        problems.append("<html> has no lang")
    for tag in ("h1", "main", "header", "title"):
        if structure.tags[tag] != 1:
            problems.append(f"{structure.tags[tag]} <{tag}> elements")
    duplicates = [i for i, count in Counter(structure.ids).items() if count > 1]
    if duplicates:
        problems.append(f"duplicate ids: {duplicates}")
    ids = set(structure.ids)
    missing = [i for i in structure.labelled_by + structure.fragments if i not in ids]
    if missing:
        problems.append(f"aria-labelledby or links to missing ids: {missing}")
    previous = 0
    for level in structure.headings:
        if level > previous + 1:
            problems.append(f"heading level jumps from h{previous} to h{level}")
        previous = level
    return problems


VALID_PAGE = (
    '<!DOCTYPE html><html lang="en"><head><title>T</title></head><body>'
    '<header></header><main><h1 id="a">T</h1>'
    '<section aria-labelledby="b"><h2 id="b">S</h2><p><a href="#a">x</a><br></p>'
    "</section></main></body></html>"
)


def test_html_problems_accepts_a_valid_page():
    assert html_problems(VALID_PAGE) == []


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('<html lang="en">', "<html>", "no lang"),
        ("<!DOCTYPE html>", "", "doctype"),
        ("</section>", "", "closes <section>"),
        ("<br>", "<ul></ul>", "inside <p>"),
        ("<br>", "<li>x</li>", "<li> inside <p>"),
        ('id="b"', 'id="a"', "duplicate ids"),
        ('aria-labelledby="b"', 'aria-labelledby="c"', "missing ids"),
        ('href="#a"', 'href="#z"', "missing ids"),
        ("<main>", "<div>", "0 <main>"),
        ("<h2 id", "<h1 id", "2 <h1>"),
        ('<h2 id="b">S</h2>', '<h3 id="b">S</h3>', "jumps"),
    ],
)
def test_html_problems_reports_each_fault(old, new, problem):
    problems = html_problems(VALID_PAGE.replace(old, new, 1))

    assert any(problem in text for text in problems), problems


# ---------------------------------------------------------------------------
# The controllership statement (Art. 26(2))
# ---------------------------------------------------------------------------


def test_controllership_when_joint_uses_the_seed_wording():
    activity = _joint_activity(
        JointScope.WHEN_JOINT, joint_processing="conduct follow-ups and evaluations"
    )

    statement = notice.controllership_statement(activity, group=GROUP)

    assert statement == (
        "Each company covered by this privacy policy is, as a starting point, "
        "responsible for its own use of your personal data for this purpose. "
        "Companies within the Infobric group are, however, jointly responsible for "
        "the use of your personal data for this purpose where the companies "
        "jointly conduct follow-ups and evaluations."
    )


def test_controllership_when_joint_drops_a_final_full_stop():
    activity = _joint_activity(JointScope.WHEN_JOINT, joint_processing="run events. ")

    statement = notice.controllership_statement(activity, group=GROUP)

    assert statement.endswith("where the companies jointly run events.")


def test_controllership_when_joint_without_joint_processing_uses_art_26_wording():
    activity = _joint_activity(JointScope.WHEN_JOINT, joint_processing="")

    statement = notice.controllership_statement(activity, group=GROUP)

    assert statement == notice.WHEN_JOINT_STATEMENT.format(
        group="the Infobric group",
        joint_processing=notice.DEFAULT_JOINT_PROCESSING,
    )


def test_controllership_always_joint():
    activity = _joint_activity(
        JointScope.ALWAYS, joint_processing="manage the shared customer register"
    )

    statement = notice.controllership_statement(activity, group=GROUP)

    assert statement == (
        "The companies within the Infobric group are jointly responsible for the "
        "processing of your personal data in order to manage the shared customer "
        "register."
    )


def test_controllership_always_joint_without_joint_processing():
    activity = _joint_activity(JointScope.ALWAYS, joint_processing="")

    statement = notice.controllership_statement(activity, group=GROUP)

    assert statement == (
        "The companies within the Infobric group are jointly responsible for the "
        "processing of your personal data for this purpose."
    )


@pytest.mark.parametrize("scope", [JointScope.ALWAYS, JointScope.WHEN_JOINT])
def test_controllership_without_group_name_speaks_of_the_group(scope):
    activity = _joint_activity(scope)

    statement = notice.controllership_statement(activity, group="")

    assert "within the group" in statement
    assert "the  group" not in statement


def test_controllership_without_arrangement_states_nothing_on_the_group_notice():
    activity = ProcessingActivityFactory()

    assert notice.controllership_statement(activity, group=GROUP) == ""


def test_controllership_without_arrangement_names_the_company_on_its_notice():
    company = GroupCompanyFactory(name="Infobric Ease AB")
    activity = ProcessingActivityFactory(organisations=[company])

    statement = notice.controllership_statement(
        activity, group=GROUP, controller=company
    )

    assert statement == (
        "Infobric Ease AB is responsible on its own for the use of your personal "
        "data for this purpose."
    )


def test_controllership_on_the_notice_of_a_party_is_joint():
    activity = _joint_activity(JointScope.WHEN_JOINT)
    party = activity.joint_arrangement.parties.first()

    statement = notice.controllership_statement(activity, group=GROUP, controller=party)

    assert statement == notice.controllership_statement(activity, group=GROUP)
    assert "jointly conduct webinars" in statement


def test_controllership_on_the_notice_of_a_non_party_is_its_own():
    activity = _joint_activity(JointScope.WHEN_JOINT)
    outsider = GroupCompanyFactory(name="Outsider AB")
    activity.organisations.add(outsider)

    statement = notice.controllership_statement(
        activity, group=GROUP, controller=outsider
    )

    assert statement == notice.SOLE_CONTROLLER_STATEMENT.format(company="Outsider AB")


def test_build_notice_shows_joint_details_only_where_joint():
    joint = _joint_activity(JointScope.ALWAYS, name="Shared register")
    ProcessingActivityFactory(name="Own purpose")

    sections = _sections()

    parties = tuple(party.name for party in joint.joint_arrangement.parties.all())
    assert sections["Shared register"].details.joint_controllers == parties
    assert sections["Shared register"].details.joint_arrangement_essence == (
        joint.joint_arrangement.essence
    )
    assert sections["Shared register"].is_joint
    assert sections["Own purpose"].details.joint_controllers == ()
    assert sections["Own purpose"].controllership == ""
    assert not sections["Own purpose"].is_joint


def test_build_notice_of_a_non_party_shows_no_joint_details():
    activity = _joint_activity(JointScope.WHEN_JOINT)
    outsider = GroupCompanyFactory()
    activity.organisations.add(outsider)

    (section,) = notice.build_notice(controller=outsider).sections

    assert not section.is_joint
    assert section.details.joint_controllers == ()
    assert section.details.joint_arrangement_essence == ""


def test_build_notice_keeps_an_unpublished_essence_off_the_notice():
    activity = _joint_activity(JointScope.ALWAYS, name="Shared register")
    arrangement = activity.joint_arrangement
    arrangement.essence_published = False
    arrangement.save()

    assert _sections()["Shared register"].details.joint_arrangement_essence == ""


# ---------------------------------------------------------------------------
# The group's name
# ---------------------------------------------------------------------------


def test_group_name_comes_from_the_setting():
    GroupCompanyFactory(name="Parent Holding AB")

    assert notice.group_name() == GROUP


def test_group_name_derives_from_the_parent_company(settings):
    settings.ROPA_GROUP_NAME = ""
    parent = GroupCompanyFactory(name="Infobric AB")
    GroupCompanyFactory(name="Infobric Ease AB", parent=parent)
    OrganisationFactory(name="Supplier AB")

    assert notice.group_name() == "Infobric"


@pytest.mark.parametrize("parents", [0, 2])
def test_group_name_is_empty_without_one_parent_company(settings, parents):
    settings.ROPA_GROUP_NAME = ""
    GroupCompanyFactory.create_batch(parents)

    assert notice.group_name() == ""


@pytest.mark.parametrize(
    ("name", "group"),
    [
        ("Infobric AB", "Infobric"),
        ("Infobric AB (publ)", "Infobric"),
        ("Nordic Tools Oy", "Nordic Tools"),
        ("Acme GmbH", "Acme"),
        ("Acme Ltd", "Acme"),
        ("Acme, Inc.", "Acme"),
        ("Absolute Nabla", "Absolute Nabla"),
    ],
)
def test_strip_legal_form(name, group):
    assert notice.strip_legal_form(name) == group


# ---------------------------------------------------------------------------
# The profiling statement (Art. 13(2)(f), Art. 22)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profiling", "in_notice", "description", "expected"),
    [
        (Profiling.NONE, True, "", notice.NO_PROFILING_STATEMENT),
        (Profiling.NONE, False, "", ""),
        (Profiling.PROFILING, True, "", notice.PROFILING_STATEMENT),
        (
            Profiling.PROFILING,
            True,
            "We analyse your visits.",
            "We analyse your visits.",
        ),
        (Profiling.PROFILING, False, "We analyse your visits.", ""),
    ],
)
def test_profiling_statement(profiling, in_notice, description, expected):
    activity = ProcessingActivityFactory(
        profiling=profiling,
        profiling_in_notice=in_notice,
        profiling_description=description,
    )

    assert notice.profiling_statement(activity) == expected


@pytest.mark.parametrize("in_notice", [True, False])
def test_profiling_statement_always_discloses_automated_decisions(in_notice):
    activity = ProcessingActivityFactory(
        profiling=Profiling.AUTOMATED_DECISIONS,
        profiling_in_notice=in_notice,
        profiling_description="A credit score decides the payment terms.",
    )

    assert notice.profiling_statement(activity) == (
        f"{notice.AUTOMATED_DECISIONS_STATEMENT} A credit score decides the payment "
        f"terms. {notice.AUTOMATED_DECISIONS_RIGHTS}"
    )


# ---------------------------------------------------------------------------
# Which purposes, in which order, with which texts
# ---------------------------------------------------------------------------


def test_build_notice_orders_by_notice_order_then_reference():
    ProcessingActivityFactory(reference="PA-0003", name="Third", notice_order=2)
    ProcessingActivityFactory(reference="PA-0002", name="Second", notice_order=1)
    ProcessingActivityFactory(reference="PA-0001", name="First", notice_order=1)
    ProcessingActivityFactory(reference="PA-0009", name="Zeroth", notice_order=0)

    titles = [section.title for section in notice.build_notice().sections]

    assert titles == ["Zeroth", "First", "Second", "Third"]


@pytest.mark.parametrize(
    "excluded",
    [
        {"status": ActivityStatus.DRAFT},
        {"status": ActivityStatus.RETIRED},
        {"in_notice": False},
        {"processor_record": True},
    ],
    ids=["draft", "retired", "not-in-notice", "processor-record"],
)
def test_build_notice_leaves_out(excluded):
    ProcessingActivityFactory(name="Shown")
    ProcessingActivityFactory(name="Hidden", **excluded)

    assert list(_sections()) == ["Shown"]


def test_build_notice_uses_the_public_title_and_text():
    ProcessingActivityFactory(
        name="CRM-SALES-01", notice_title="To manage orders", notice_text="Orders."
    )
    ProcessingActivityFactory(name="Newsletter", purpose="To send the newsletter.")

    sections = _sections()

    assert sections["To manage orders"].text == "Orders."
    assert sections["Newsletter"].text == "To send the newsletter."


def test_build_notice_carries_opt_out_and_recipients():
    platforms = RecipientFactory(
        name="Social networking platforms", description="  Meta,\n LinkedIn "
    )
    hosting = RecipientFactory(name="Hosting provider", processor=True, description="")
    group = RecipientFactory(name="Group companies", internal=True, description="")
    ProcessingActivityFactory(
        name="Marketing",
        opt_out_information="Unsubscribe at any time.",
        recipients=[platforms, hosting, group],
    )

    section = _sections()["Marketing"]

    shared = notice.NoticeRecipient(
        "Social networking platforms",
        "independent controller",
        "Meta, LinkedIn",
        independent=True,
    )
    assert section.opt_out == "Unsubscribe at any time."
    assert section.details.recipients == (
        notice.NoticeRecipient("Group companies", "within the group"),
        notice.NoticeRecipient("Hosting provider", "processor acting on our behalf"),
        shared,
    )
    assert section.shared_with == (shared,)


def test_build_notice_details_list_data_bases_retention_and_transfers():
    contact = PersonalDataCategoryFactory(name="Contact details")
    usage = PersonalDataCategoryFactory(name="Usage data")
    company = GroupCompanyFactory(name="Infobric AB")
    activity = ProcessingActivityFactory(
        name="Analyses",
        organisations=[company],
        personal_data_categories=[usage, contact],
        lawful_basis=False,
        retention=False,
        data_source="Our web analytics.",
    )
    LawfulBasisFactory(activity=activity, legitimate_interests=True)
    LawfulBasisFactory(activity=activity, basis=LawfulBasisChoice.CONSENT)
    RetentionRuleFactory(activity=activity, personal_data_category=usage, period=13)
    RetentionRuleFactory(activity=activity, by_criteria=True)
    InternationalTransferFactory(activity=activity)

    details = _sections()["Analyses"].details

    assert details.controllers == ("Infobric AB",)
    assert details.personal_data_categories == (
        notice.CategoryEntry("Contact details"),
        notice.CategoryEntry("Usage data"),
    )
    assert [basis.basis for basis in details.lawful_bases] == [
        LawfulBasisChoice.CONSENT.label,
        LawfulBasisChoice.LEGITIMATE_INTERESTS.label,
    ]
    assert details.lawful_bases[1].legitimate_interest == (
        "Keeping customers informed of our products."
    )
    assert details.retention == (
        notice.RetentionEntry(notice.ALL_DATA, "Until the customer unsubscribes."),
        notice.RetentionEntry("Usage data", "13 years after the end of the contract"),
    )
    assert details.transfers == (
        notice.TransferEntry("India", "Standard contractual clauses (Art. 46(2)(c))"),
    )
    assert details.data_source == "Our web analytics."


def test_build_notice_lists_the_companies_covered():
    first = GroupCompanyFactory(name="B Company AB")
    second = GroupCompanyFactory(name="A Company AB")
    ProcessingActivityFactory(organisations=[first])
    ProcessingActivityFactory(organisations=[first, second])

    companies = notice.build_notice().companies

    assert [company.name for company in companies] == ["A Company AB", "B Company AB"]
    assert companies[0].dpo_email == second.dpo.email


def test_build_notice_of_one_company_holds_its_purposes_only():
    mine = GroupCompanyFactory(name="Mine AB")
    ProcessingActivityFactory(name="Ours", organisations=[mine])
    ProcessingActivityFactory(name="Theirs")

    built = notice.build_notice(controller=mine)

    assert [section.title for section in built.sections] == ["Ours"]
    assert built.controller.name == "Mine AB"
    assert [company.name for company in built.companies] == ["Mine AB"]


def test_notice_controllers_are_the_companies_with_a_published_purpose():
    published = GroupCompanyFactory(slug="published")
    drafting = GroupCompanyFactory(slug="drafting")
    ProcessingActivityFactory(organisations=[published])
    ProcessingActivityFactory(organisations=[drafting], status=ActivityStatus.DRAFT)

    assert list(notice.notice_controllers()) == [published]


# ---------------------------------------------------------------------------
# The public page
# ---------------------------------------------------------------------------


def test_page_is_public_and_not_cached(client):
    ProcessingActivityFactory(name="To manage orders")

    response = client.get(reverse("privacy-notice"))

    assert response.status_code == 200
    assert "To manage orders" in response.text
    assert "no-cache" in response["Cache-Control"]
    assert "max-age=0" in response["Cache-Control"]


def test_page_is_well_formed_and_accessible(client):
    company = GroupCompanyFactory(address="Box 1\n111 22 Stockholm", phone="+46 8 1")
    joint = _joint_activity(
        JointScope.WHEN_JOINT,
        name="Webinars",
        profiling=Profiling.PROFILING,
        profiling_in_notice=True,
        opt_out_information="Unsubscribe at any time.\n\nOr write to us.",
        rights_information="You may object.",
        data_source="Registration form.",
    )
    joint.organisations.add(company)
    InternationalTransferFactory(activity=joint)
    ProcessingActivityFactory(
        name="Orders", notice_text="Line one.\nLine two.\n\nSecond paragraph."
    )
    ProcessingActivityFactory(name="Bare", bare=True)

    response = client.get(reverse("privacy-notice"))

    assert html_problems(response.text) == []


def test_page_of_one_company_is_well_formed_and_accessible(client):
    company = GroupCompanyFactory(slug="infobric-ab")
    ProcessingActivityFactory(organisations=[company])

    response = client.get(reverse("privacy-notice"), {"controller": "infobric-ab"})

    assert html_problems(response.text) == []


def test_page_without_purposes_is_well_formed(client):
    response = client.get(reverse("privacy-notice"))

    assert "No purposes are published" in response.text
    assert html_problems(response.text) == []


def test_page_shows_each_purpose_in_order_with_its_statements(client):
    ProcessingActivityFactory(name="First", notice_order=1, notice_text="Text one.")
    second = _joint_activity(JointScope.ALWAYS, name="Second", notice_order=2)

    page = client.get(reverse("privacy-notice")).text

    assert page.index(">First</h2>") < page.index(">Second</h2>")
    assert "<p>Text one.</p>" in page
    assert notice.controllership_statement(second, group=GROUP) in page


def test_page_escapes_register_text(client):
    ProcessingActivityFactory(name="<script>alert(1)</script>")

    page = client.get(reverse("privacy-notice")).text

    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_page_shows_a_saved_change_at_once(client):
    activity = ProcessingActivityFactory(name="Old title")
    url = reverse("privacy-notice")
    assert "Old title" in client.get(url).text

    activity.notice_title = "New title"
    activity.save()

    page = client.get(url).text
    assert "New title" in page
    assert "Old title" not in page


@pytest.mark.parametrize("status", [ActivityStatus.DRAFT, ActivityStatus.RETIRED])
def test_page_drops_an_activity_set_to(client, status):
    activity = ProcessingActivityFactory(name="Short-lived purpose")
    url = reverse("privacy-notice")
    assert "Short-lived purpose" in client.get(url).text

    activity.status = status
    activity.save()

    assert "Short-lived purpose" not in client.get(url).text


def test_page_filters_by_controller(client):
    mine = GroupCompanyFactory(name="Mine AB", slug="mine")
    ProcessingActivityFactory(name="Ours", organisations=[mine])
    ProcessingActivityFactory(name="Theirs")

    page = client.get(reverse("privacy-notice"), {"controller": "mine"}).text

    assert "Ours" in page
    assert "Theirs" not in page
    assert "This privacy notice covers Mine AB." in page
    assert notice.SOLE_CONTROLLER_STATEMENT.format(company="Mine AB") in page


def test_page_links_the_notice_of_each_company(client):
    ProcessingActivityFactory(organisations=[GroupCompanyFactory(slug="first")])
    ProcessingActivityFactory(organisations=[GroupCompanyFactory(slug="second")])

    page = client.get(reverse("privacy-notice")).text

    assert 'href="/privacy-notice/?controller=first"' in page
    assert 'href="/privacy-notice/?controller=second"' in page


@pytest.mark.parametrize("slug", ["no-such-company", "drafting"])
def test_page_of_an_unknown_controller_is_not_found(client, slug):
    drafting = GroupCompanyFactory(slug="drafting")
    ProcessingActivityFactory(organisations=[drafting], status=ActivityStatus.DRAFT)

    response = client.get(reverse("privacy-notice"), {"controller": slug})

    assert response.status_code == 404


# The page reads, inside the savepoint and release of ATOMIC_REQUESTS: the
# group company naming the group (with the setting empty), the activities, then
# one query per prefetched relation: organisations (with their DPO), arrangement
# parties, recipients, personal data categories, lawful bases, retention rules
# (with their category), transfers.
PAGE_QUERIES = 11


@pytest.mark.parametrize("activities", [1, 5])
def test_page_query_count_does_not_grow_with_activities(
    client, settings, django_assert_num_queries, activities
):
    settings.ROPA_GROUP_NAME = ""
    for _ in range(activities):
        activity = _joint_activity(JointScope.WHEN_JOINT)
        LawfulBasisFactory(activity=activity, legitimate_interests=True)
        InternationalTransferFactory(activity=activity)
        RetentionRuleFactory(
            activity=activity,
            personal_data_category=activity.personal_data_categories.first(),
        )

    with django_assert_num_queries(PAGE_QUERIES):
        response = client.get(reverse("privacy-notice"))

    assert response.content.count(b'class="purpose"') == activities


@pytest.mark.parametrize("activities", [1, 5])
def test_page_of_one_company_query_count_does_not_grow_with_activities(
    client, django_assert_num_queries, activities
):
    company = GroupCompanyFactory(slug="mine")
    ProcessingActivityFactory.create_batch(activities, organisations=[company])

    # The company, then the page's queries less the group company (the
    # setting names the group) and the arrangement parties (none here).
    with django_assert_num_queries(PAGE_QUERIES - 1):
        response = client.get(reverse("privacy-notice"), {"controller": "mine"})

    assert response.content.count(b'class="purpose"') == activities


# ---------------------------------------------------------------------------
# The command and the Markdown output
# ---------------------------------------------------------------------------


def test_render_notice_writes_html_by_default():
    ProcessingActivityFactory(name="To manage orders")
    out = StringIO()

    call_command("render_notice", stdout=out)

    assert out.getvalue().startswith("<!DOCTYPE html>")
    assert ">To manage orders</h2>" in out.getvalue()
    assert html_problems(out.getvalue()) == []


def test_render_notice_writes_markdown():
    ProcessingActivityFactory(name="First", notice_order=1, notice_text="Text one.")
    second = _joint_activity(JointScope.ALWAYS, name="Second", notice_order=2)

    text = _markdown()

    assert text.startswith(f"# {PAGE_TITLE}\n")
    assert text.index("\n## First\n\nText one.\n") < text.index("\n## Second\n")
    assert notice.controllership_statement(second, group=GROUP) in text
    assert "\n### First\n" in text
    assert "\n\n\n" not in text


def test_render_notice_markdown_lists_the_details():
    activity = ProcessingActivityFactory(
        name="Orders",
        organisations=[GroupCompanyFactory(name="Infobric AB")],
        personal_data_categories=[PersonalDataCategoryFactory(name="Order data")],
    )
    LawfulBasisFactory(activity=activity, legitimate_interests=True, explanation="")

    text = _markdown()

    assert "**Responsible company:** Infobric AB\n" in text
    assert "**Categories of personal data:**\n\n- Order data\n" in text
    assert "**Legal basis:**\n\n- Contract (Art. 6(1)(b)): Needed to perform" in text
    assert (
        "- Legitimate interests (Art. 6(1)(f)). Our legitimate interest: Keeping "
        "customers informed of our products.\n"
    ) in text
    assert (
        "**How long we keep the data:**\n\n- All personal data: 3 years after the "
        "end of the contract\n"
    ) in text


def test_render_notice_markdown_escapes_register_text():
    ProcessingActivityFactory(
        name="Orders", notice_text="<b>*Bold*</b> & [link](x)\n- not a list"
    )

    text = _markdown()

    assert r"\<b\>\*Bold\*\</b\> \& \[link\](x)" in text
    assert "\n\\- not a list" in text


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("# heading", r"\# heading"),
        ("1. first", r"1\. first"),
        ("    code", "code"),
        ("+ item", r"\+ item"),
        ("+46 8 123", "+46 8 123"),
        ("2024.05", "2024.05"),
        ("---", r"\---"),
        ("a_b `c`", r"a\_b \`c\`"),
    ],
)
def test_markdown_escape(text, escaped):
    assert notice.markdown_escape(text) == escaped


def test_render_notice_for_one_controller():
    mine = GroupCompanyFactory(name="Mine AB", slug="mine")
    ProcessingActivityFactory(name="Ours", organisations=[mine])
    ProcessingActivityFactory(name="Theirs")

    text = _markdown(controller="mine")

    assert "## Ours" in text
    assert "Theirs" not in text
    assert "This privacy notice covers Mine AB." in text


def test_render_notice_refuses_an_unknown_controller_listing_the_valid_ones():
    ProcessingActivityFactory(organisations=[GroupCompanyFactory(slug="alpha")])
    ProcessingActivityFactory(organisations=[GroupCompanyFactory(slug="beta")])

    with pytest.raises(CommandError) as error:
        _markdown(controller="gamma")

    assert str(error.value) == "Unknown controller 'gamma'. Valid slugs: alpha, beta."


def test_render_notice_writes_to_a_file(tmp_path):
    ProcessingActivityFactory(name="To manage orders")
    path = tmp_path / "notice.md"
    out = StringIO()

    call_command("render_notice", format=notice.MARKDOWN, output=str(path), stdout=out)

    assert "## To manage orders" in path.read_text(encoding="utf-8")
    assert out.getvalue() == f"Wrote the privacy notice (1 purpose) to {path}.\n"


def test_render_notice_reports_an_unwritable_output(tmp_path):
    with pytest.raises(CommandError, match="Cannot write"):
        call_command(
            "render_notice",
            output=str(tmp_path / "missing" / "notice.html"),
            stdout=StringIO(),
        )


def test_render_notice_rejects_an_unknown_format():
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("render_notice", "--format", "pdf", stdout=StringIO())


# ---------------------------------------------------------------------------
# The sample register against its source, the group's published notice
# ---------------------------------------------------------------------------

SEED = Path(ropa.__file__).parent / "fixtures" / "sample_notice.txt"
# The seed's sentences that the notice words differently on purpose: a grammar
# fix, and the always-joint statement naming the group.
REWORDED = {
    "No profiling take place within the scope of this processing.": (
        notice.NO_PROFILING_STATEMENT
    ),
    "The companies are jointly responsible for the processing of your personal "
    "data in order to manage the shared customer register.": (
        "The companies within the Infobric group are jointly responsible for the "
        "processing of your personal data in order to manage the shared customer "
        "register."
    ),
}
# The seed's paragraph on sharing with social networking platforms: the notice
# lists the recipients instead.
SHOWN_AS_RECIPIENTS = (
    "We also share your personal data with social networking platforms for this "
    "purpose.",
    "For more information, see the section below on which external recipients "
    "personal data is shared with.",
)


def _seed_purposes():
    """The seed's purposes: title → paragraphs, in the seed's order."""
    lines = SEED.read_text(encoding="utf-8").splitlines()
    paragraphs = [line.strip() for line in lines if line.strip()]
    purposes = {}
    title = None
    # The heading and the introduction come first; a purpose's title is the one
    # line without a full stop.
    for line in paragraphs[2:]:
        if line.endswith("."):
            purposes[title].append(line)
        else:
            title = line
            purposes[title] = []
    return purposes


def _sentences(*paragraphs):
    """Sentences, normalised: the seed's PDF hyphenation is lost on both sides."""
    text = " ".join(" ".join(paragraphs).replace("-", "").split())
    return [sentence for sentence in re.split(r"(?<=[.?!])\s+", text) if sentence]


def _seed_sentences(paragraphs):
    expected = []
    for sentence in _sentences(*paragraphs):
        if sentence in _sentences(*SHOWN_AS_RECIPIENTS):
            continue
        reworded = {_sentences(old)[0]: new for old, new in REWORDED.items()}
        expected.extend(_sentences(reworded.get(sentence, sentence)))
    return expected


def _seed_titles_with(*words):
    return {
        title
        for title, paragraphs in _seed_purposes().items()
        if any(
            word in sentence for word in words for sentence in _sentences(*paragraphs)
        )
    }


# ---------------------------------------------------------------------------
# Sample values: marked, announced once, refused by --check
# ---------------------------------------------------------------------------

SAMPLE_STATEMENT = "This notice shows sample values."


def _sample_activity():
    """An activity with one sample category and one recipient with a sample note."""
    return ProcessingActivityFactory(
        name="Orders",
        personal_data_categories=[
            PersonalDataCategoryFactory(name="Order data", is_sample=True)
        ],
        recipients=[
            RecipientFactory(
                name="Carriers",
                description="Deliver the goods.\nSample value: to be confirmed.",
            )
        ],
    )


def test_build_notice_drops_a_sample_note_and_marks_the_value():
    _sample_activity()

    built = notice.build_notice()
    details = built.sections[0].details

    assert details.recipients[0].description == "Deliver the goods."
    assert details.recipients[0].is_sample
    assert details.personal_data_categories == (
        notice.CategoryEntry("Order data", is_sample=True),
    )
    assert built.sample_values == (
        ("categories of personal data", "Orders"),
        ("recipients", "Orders"),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hosting. Sample value: the notice names none.", ("Hosting.", True)),
        ("Oslo\nNorway\n(sample value, to be confirmed)", ("Oslo\nNorway", True)),
        ("Hosting in Sweden.", ("Hosting in Sweden.", False)),
    ],
)
def test_without_sample_note(text, expected):
    assert notice.without_sample_note(text) == expected


def test_page_states_sample_values_once_at_the_top(client):
    _sample_activity()

    page = client.get(reverse("privacy-notice")).text

    assert page.count(SAMPLE_STATEMENT) == 1
    assert page.index(SAMPLE_STATEMENT) < page.index('class="purpose"')
    assert page.lower().count("sample value") == 1
    assert 'Deliver the goods.<sup class="sample-mark">*</sup>' in page
    assert html_problems(page) == []


def test_page_without_sample_values_makes_no_sample_statement(client):
    ProcessingActivityFactory(name="Orders")

    page = client.get(reverse("privacy-notice")).text

    assert "sample" not in page.lower()


def test_render_notice_markdown_states_sample_values_once():
    _sample_activity()

    text = _markdown()

    assert text.count(SAMPLE_STATEMENT) == 1
    assert text.lower().count("sample value") == 1
    assert "- Order data\\*\n" in text


def test_render_notice_check_refuses_sample_values_naming_count_and_parts():
    _sample_activity()
    out = StringIO()

    with pytest.raises(
        CommandError,
        match=r"shows 2 sample values: 1 in categories of personal data, "
        r"1 in recipients \(under 1 heading\)",
    ):
        call_command("render_notice", "--check", stdout=out)

    assert out.getvalue() == ""


def test_render_notice_check_passes_without_sample_values():
    ProcessingActivityFactory(name="Orders")
    out = StringIO()

    call_command("render_notice", "--check", stdout=out)

    assert out.getvalue() == "The privacy notice shows no sample value.\n"
