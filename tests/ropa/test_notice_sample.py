"""The notice rendered from the sample register against the seed notice."""

import pytest
from django.urls import reverse

from ropa import notice
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
    # statements derived from the register's fields.
    mismatches = {
        section.title: _sentences(
            section.text,
            section.opt_out,
            section.profiling,
            section.controllership,
        )
        for section in sample_notice.sections
        if _sentences(
            section.text, section.opt_out, section.profiling, section.controllership
        )
        != _seed_sentences(seed.get(section.title, ()))
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
