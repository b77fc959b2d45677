"""The notice rendered from the sample register against the seed notice."""

import html
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from ropa import notice
from ropa.sample.data import DIRECT_MARKETING_OBJECTION
from tests.ropa.test_notice import (
    _markdown,
    _seed_purposes,
    _seed_sentences,
    _seed_titles_with,
    _sentences,
    html_problems,
)

pytestmark = pytest.mark.django_db

GROUP = "Infobric"


@pytest.fixture
def sample_notice(settings, sample_register):
    # The register itself names the group (its parent company).
    settings.ROPA_GROUP_NAME = ""
    return notice.build_notice()


def test_seed_has_the_26_purposes():
    assert len(_seed_purposes()) == 26


def test_sample_notice_reproduces_the_seed_purposes_in_order(sample_notice):
    seed = _seed_purposes()

    # Every sentence of a purpose once, in the seed's order: the text and the
    # statements derived from the register's fields, less the Art. 21(2)
    # statement the seed lacks.
    def sentences(section):
        return _sentences(
            section.text,
            section.opt_out.replace(DIRECT_MARKETING_OBJECTION, ""),
            section.profiling,
            section.controllership,
        )

    mismatches = {
        section.title: sentences(section)
        for section in sample_notice.sections
        if sentences(section) != _seed_sentences(seed.get(section.title, ()))
    }

    assert [section.title for section in sample_notice.sections] == list(seed)
    assert mismatches == {}


def test_sample_notice_statements_are_where_the_seed_has_them(sample_notice):
    sections = {section.title: section for section in sample_notice.sections}

    joint = {title for title, section in sections.items() if section.is_joint}
    profiling = {title for title, section in sections.items() if section.profiling}
    opt_out = {title for title, section in sections.items() if section.opt_out}
    shared = {
        recipient.name
        for recipient in sections[
            "To communicate offers and marketing via various channels"
        ].shared_with
    }

    assert joint == _seed_titles_with("jointly responsible")
    assert profiling == _seed_titles_with("profiling")
    assert opt_out == _seed_titles_with("unsubscribe", "opt out")
    assert "Social networking platforms" in shared


def test_sample_notice_has_details_for_every_purpose(sample_notice, client):
    incomplete = [
        section.title
        for section in sample_notice.sections
        if not (
            section.details.controllers
            and section.details.personal_data_categories
            and section.details.lawful_bases
            and section.details.retention
        )
    ]
    page = client.get(reverse("privacy-notice")).text
    markdown = _markdown()

    assert incomplete == []
    assert page.count('class="details"') == 26
    assert html_problems(page) == []
    assert markdown.count("\n### ") == 26


MARKETING = "To communicate offers and marketing via various channels"
DIRECT_MARKETING = {
    "To communicate about us and our business",
    MARKETING,
    "To manage our newsletters",
}
SAMPLE_STATEMENT = "This notice shows sample values."


def _purpose_blocks(page):
    """The page's purpose sections, by title: their HTML."""
    blocks = re.findall(
        r'<section id="[^"]+" class="purpose"[^>]*>\s*'
        r"<h2[^>]*>(.*?)</h2>(.*?)</section>",
        page,
        re.DOTALL,
    )
    return {html.unescape(title): body for title, body in blocks}


def test_sample_page_says_once_that_it_shows_sample_values(sample_notice, client):
    page = client.get(reverse("privacy-notice")).text
    markdown = _markdown()

    assert page.count(SAMPLE_STATEMENT) == 1
    assert page.lower().count("sample value") == 1
    assert markdown.count(SAMPLE_STATEMENT) == 1
    assert markdown.lower().count("sample value") == 1
    assert page.count('class="sample-mark"') > len(sample_notice.sections)


def test_render_notice_check_refuses_the_sample_register(sample_notice):
    count = len(sample_notice.sample_values)

    with pytest.raises(CommandError) as refused:
        call_command("render_notice", "--check", stdout=StringIO())

    assert count > 100
    assert str(refused.value).startswith(
        f"The privacy notice shows {count} sample values: "
    )
    assert "in legal bases" in str(refused.value)
    assert "in retention periods" in str(refused.value)


def test_sample_page_states_the_right_to_object_to_direct_marketing(
    sample_notice, client
):
    blocks = _purpose_blocks(client.get(reverse("privacy-notice")).text)

    stated = {
        title
        for title, body in blocks.items()
        if re.search(
            r'<div class="objection" role="note">\s*<h3>Your right to object</h3>'
            r".*<p>You have the right to object at any time to the processing of "
            r"your personal data for direct marketing, including profiling",
            body,
            re.DOTALL,
        )
    }

    assert len(blocks) == 26
    assert stated == DIRECT_MARKETING


def test_sample_notice_names_the_platforms_joint_controllers_for_marketing(
    sample_notice,
):
    sections = {section.title: section for section in sample_notice.sections}
    joint = {
        title: section.joint_recipients
        for title, section in sections.items()
        if section.joint_recipients
    }
    [statement] = joint[MARKETING]
    [platforms] = [
        recipient
        for recipient in sections[MARKETING].details.recipients
        if recipient.name == "Social networking platforms"
    ]

    assert set(joint) == {MARKETING}
    assert statement.statement.startswith(
        "Social networking platforms and we are jointly responsible for part of "
        "this processing (Art. 26 GDPR): Collecting personal data about your use "
        "of our websites"
    )
    assert statement.is_sample
    assert platforms.kind == notice.JOINT_RECIPIENT_KIND
