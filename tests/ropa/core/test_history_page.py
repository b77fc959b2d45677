import lxml.html
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils.html import escape
from django.utils.text import capfirst
from openpyxl import load_workbook

from ropa.core.history_view import (
    CHANGED,
    CREATED,
    DELETED,
    PART_ADDED,
    PART_CHANGED,
    PART_DELETED,
    SYSTEM,
)
from ropa.enums import ActivityStatus, LawfulBasisChoice, RetentionAction
from ropa.exchange import layout
from ropa.exchange.export import export_register
from ropa.exchange.plan import import_reason
from ropa.models import LawfulBasis, ProcessingActivity, RetentionRule
from ropa.sample import SAMPLE_REASON
from tests.admin_pages import form_data, multiple
from tests.factories import ProcessingActivityFactory

# Every test runs over the sample register, loaded once for the module.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sample_register")]


def change_url(activity):
    return reverse("admin:ropa_processingactivity_change", args=(activity.pk,))


def history_url(activity):
    return reverse("admin:ropa_processingactivity_history", args=(activity.pk,))


def add_row(data, prefix, **values):
    """Add a row to the inline ``prefix`` as "Add another" does: its empty form."""
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    template = f"{prefix}-__prefix__-"
    for name, value in list(data.items()):
        if name.startswith(template):
            data[name.replace("__prefix__", str(index))] = value
    for name, value in values.items():
        data[f"{prefix}-{index}-{name}"] = value
    data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)


def row_index(data, prefix, obj):
    """The index of ``obj``'s row in the inline ``prefix`` of the posted data."""
    total = int(data[f"{prefix}-TOTAL_FORMS"])
    (index,) = [i for i in range(total) if data.get(f"{prefix}-{i}-id") == str(obj.pk)]
    return index


def save(client, activity, change):
    """Open the activity's page, apply ``change`` to what it posts, press Save."""
    data = form_data(client.get(change_url(activity)))
    change(data)
    response = client.post(change_url(activity), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    return response


def entries(client, activity):
    """The entries (table rows) of the activity's history page, newest first."""
    response = client.get(history_url(activity))
    assert response.status_code == 200
    document = lxml.html.document_fromstring(response.content.decode())
    return document.xpath('//*[@id="change-history"]//tbody/tr')


def changed_by(entry):
    """The text of ``entry``'s "Changed by" column."""
    headings = entry.xpath("ancestor::table[1]/thead//th")
    column = [text(heading) for heading in headings].index("Changed by")
    return text(entry.xpath("./th | ./td")[column])


def text(element):
    return " ".join(element.text_content().split())


def html(element):
    return lxml.html.tostring(element, encoding="unicode")


def part_heading(model, action, obj):
    return f"{capfirst(model._meta.verbose_name)} {action}: {obj}"


# ---------------------------------------------------------------------------
# One entry per save
# ---------------------------------------------------------------------------


def test_history_shows_an_admin_save_with_its_inline_changes_as_one_entry(dpo_client):
    activity = ProcessingActivity.objects.get(reference="PA-0001")
    rule_for_all_data = activity.retention_rules.get(personal_data_category=None)
    entries_before = len(entries(dpo_client, activity))

    def change(data):
        data["purpose"] = data["purpose"].replace("When you order", "When you buy")
        add_row(
            data,
            "lawful_bases",
            basis=LawfulBasisChoice.CONTRACT,
            explanation="The customer's order is a contract with us.",
        )
        index = row_index(data, "retention_rules", rule_for_all_data)
        data[f"retention_rules-{index}-DELETE"] = "on"

    save(dpo_client, activity, change)

    shown = entries(dpo_client, activity)
    assert len(shown) == entries_before + 1
    entry = shown[0]
    assert CHANGED in text(entry)
    assert changed_by(entry) == "dpo"
    assert "When you <del>order</del> <ins>buy</ins> goods" in html(entry)
    # The whole text, not two halves around "[92 chars]".
    assert "communicating with you regarding the order." in text(entry)
    added = LawfulBasis.objects.get(activity=activity, basis=LawfulBasisChoice.CONTRACT)
    assert part_heading(LawfulBasis, PART_ADDED, added) in text(entry)
    assert "The customer's order is a contract with us." in text(entry)
    assert part_heading(RetentionRule, PART_DELETED, rule_for_all_data) in text(entry)
    # Nothing of this save is left for an entry of its own.
    assert not any(
        part_heading(LawfulBasis, PART_ADDED, added) in text(other)
        for other in shown[1:]
    )


def test_history_keeps_two_quick_saves_by_the_same_user_apart(dpo_client):
    activity = ProcessingActivity.objects.get(reference="PA-0002")
    bases = (LawfulBasisChoice.CONSENT, LawfulBasisChoice.VITAL_INTERESTS)
    for basis in bases:
        # Nothing else changes: both saves record "Saved in the admin".
        save(
            dpo_client,
            activity,
            lambda data, basis=basis: add_row(
                data, "lawful_bases", basis=basis, explanation="Added."
            ),
        )

    latest, previous = entries(dpo_client, activity)[:2]
    consent, vital = (
        LawfulBasis.objects.get(activity=activity, basis=basis) for basis in bases
    )
    assert part_heading(LawfulBasis, PART_ADDED, vital) in text(latest)
    assert part_heading(LawfulBasis, PART_ADDED, consent) not in text(latest)
    assert part_heading(LawfulBasis, PART_ADDED, consent) in text(previous)


def test_history_shows_labels_and_names_not_codes(dpo_client):
    activity = ProcessingActivity.objects.get(reference="PA-0001")
    removed = activity.recipients.order_by("name").first()
    rule = activity.retention_rules.exclude(personal_data_category=None).first()

    def change(data):
        data["status"] = ActivityStatus.DRAFT
        data["recipients"] = [
            pk for pk in multiple(data, "recipients") if pk != str(removed.pk)
        ]
        index = row_index(data, "retention_rules", rule)
        data[f"retention_rules-{index}-end_action"] = RetentionAction.ANONYMISE

    save(dpo_client, activity, change)

    entry = entries(dpo_client, activity)[0]
    assert "Status: Active → Draft" in text(entry)
    assert f"Recipients: removed {removed.name}" in text(entry)
    rule.refresh_from_db()
    assert part_heading(RetentionRule, PART_CHANGED, rule) in text(entry)
    assert "Action at the end: Erase → Anonymise" in text(entry)
    # The personal data category of the rule, by name.
    assert rule.personal_data_category.name in text(entry)


def test_history_word_diff_escapes_the_text(dpo_client):
    activity = ProcessingActivityFactory(
        reference="PA-9001",
        purpose="We keep <b>order</b> data & invoices for the accounts, as the "
        "Bookkeeping Act requires, and delete them seven years after the end of "
        "the financial year.",
    )

    def change(data):
        data["purpose"] = data["purpose"].replace("accounts,", "<script>x</script>,")

    save(dpo_client, activity, change)

    entry = html(entries(dpo_client, activity)[0])
    assert "<del>accounts,</del> <ins>&lt;script&gt;x&lt;/script&gt;,</ins>" in entry
    assert "We keep &lt;b&gt;order&lt;/b&gt; data &amp; invoices" in entry
    assert "<script>x" not in entry
    assert "<b>order" not in entry


# ---------------------------------------------------------------------------
# Changes no user made
# ---------------------------------------------------------------------------


def test_history_names_the_system_for_a_command_change(dpo_client):
    activity = ProcessingActivity.objects.get(reference="PA-0003")

    (created,) = entries(dpo_client, activity)

    assert changed_by(created) == SYSTEM
    assert "None" not in text(created)
    assert CREATED in text(created)
    assert SAMPLE_REASON in text(created)
    # The command's rows for the activity and its parts are one entry.
    for basis in activity.lawful_bases.all():
        assert part_heading(LawfulBasis, PART_ADDED, basis) in text(created)


def test_history_shows_an_import_changing_only_a_lawful_basis(dpo_client, tmp_path):
    activity = ProcessingActivity.objects.get(reference="PA-0001")
    basis = activity.lawful_bases.get(basis=LawfulBasisChoice.LEGAL_OBLIGATION)
    explanation = basis.explanation
    path = tmp_path / "register.xlsx"
    with path.open("wb") as out:
        export_register(fmt="xlsx", out=out)
    workbook = load_workbook(path)
    sheet = workbook[layout.LAWFUL_BASES.name]
    headers = [cell.value for cell in sheet[1]]
    for cells in sheet.iter_rows(min_row=2):
        if (cells[0].value, cells[1].value) == (
            activity.reference,
            basis.get_basis_display(),
        ):
            cells[headers.index("Explanation")].value = "Kept for the tax authority."
    workbook.save(path)
    entries_before = len(entries(dpo_client, activity))

    call_command("import_register", str(path), stdout=None, verbosity=0)

    shown = entries(dpo_client, activity)
    assert len(shown) == entries_before + 1
    entry = shown[0]
    assert changed_by(entry) == SYSTEM
    assert import_reason(path.name) in text(entry)
    assert part_heading(LawfulBasis, PART_CHANGED, basis) in text(entry)
    # Rewritten: the old text and the new, each whole.
    assert f"<del>{escape(explanation)}</del>" in html(entry)
    assert "<ins>Kept for the tax authority.</ins>" in html(entry)


def test_history_of_a_deleted_activity_lists_its_deleted_parts(dpo_client):
    activity = ProcessingActivityFactory(reference="PA-9001")
    basis = activity.lawful_bases.get()
    url = reverse("admin:ropa_processingactivity_delete", args=(activity.pk,))
    page = lxml.html.document_fromstring(dpo_client.get(url).content.decode())
    (confirm,) = page.xpath('//form[.//input[@name="post"]]')
    data = {field.get("name"): field.get("value") for field in confirm.inputs}
    response = dpo_client.post(url, {k: v for k, v in data.items() if k})
    assert response.status_code == 302
    assert not ProcessingActivity.objects.filter(pk=activity.pk).exists()

    entry = entries(dpo_client, activity)[0]

    assert DELETED in text(entry)
    assert part_heading(LawfulBasis, PART_DELETED, basis) in text(entry)
    assert "removed" not in text(entry)


# ---------------------------------------------------------------------------
# Cost
# ---------------------------------------------------------------------------


ADDED_BASES = (
    LawfulBasisChoice.CONSENT,
    LawfulBasisChoice.LEGAL_OBLIGATION,
    LawfulBasisChoice.PUBLIC_TASK,
)


def _save_with_parts(client, activity, n):
    """A save that changes a field, adds a lawful basis and changes a rule."""

    def change(data):
        data["purpose"] = f"{data['purpose']} Revision {n}."
        add_row(data, "lawful_bases", basis=ADDED_BASES[n], explanation="Added.")
        data["retention_rules-0-trigger"] = f"after revision {n}"

    save(client, activity, change)


def test_history_page_queries_do_not_grow_with_saves(
    dpo_client, django_assert_max_num_queries, django_assert_num_queries
):
    # The page reads: the session, the user and their groups (3); the
    # activity and its organisations (the admin's queryset, 2); the user's
    # permissions (2); the keys of the activity's history rows and of its
    # three parts' (4); the rows the entries compare, of the activity, its
    # lawful bases and its retention rules (3); those activity rows' seven
    # many-to-many fields (7); the names they refer to, one query per related
    # model (organisations, data subject and personal data categories,
    # recipients, security measures, users: 6); and the request's savepoint
    # and its release (2). 29 in all; simple-history's page took 105 for the
    # three saves.
    one = ProcessingActivityFactory(reference="PA-9001")
    three = ProcessingActivityFactory(reference="PA-9003")
    _save_with_parts(dpo_client, one, 1)
    for n in range(3):
        _save_with_parts(dpo_client, three, n)
    with django_assert_max_num_queries(50) as captured:
        assert dpo_client.get(history_url(one)).status_code == 200
    queries = len(captured.captured_queries)

    with django_assert_num_queries(queries):
        page = dpo_client.get(history_url(three))

    assert page.status_code == 200
    assert len(entries(dpo_client, three)) == len(entries(dpo_client, one)) + 2
