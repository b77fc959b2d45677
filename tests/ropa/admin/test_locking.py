"""Optimistic locking: two people editing one record never lose a change."""

import lxml.html
import pytest
from django import forms
from django.urls import reverse

from ropa.admin.activities import ProcessingActivityAdmin
from ropa.core.admin_base import SAVE_ATTEMPTS, SAVED_AT_THE_SAME_TIME
from ropa.core.admin_forms import ROWS_GONE
from ropa.core.versioning import MISSING, RecordDeletedError, StaleRecordError
from ropa.enums import LawfulBasisChoice
from ropa.models import LawfulBasis, ProcessingActivity
from subjects.models import DataSubjectCategory
from tests.admin_pages import form_data as posted_by_the_page
from tests.factories import ProcessingActivityFactory, UserFactory
from tests.ropa.admin.test_admin import form_data
from tests.test_admin_smoke import FACTORIES

pytestmark = pytest.mark.django_db


def change_url(obj):
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=(obj.pk,))


def test_save_bumps_the_version():
    activity = ProcessingActivityFactory()
    version = activity.version

    activity.save()

    assert activity.version == version + 1
    assert ProcessingActivity.objects.get(pk=activity.pk).version == version + 1


def test_save_from_an_outdated_copy_is_refused_and_writes_nothing():
    activity = ProcessingActivityFactory(name="Orders")
    mine = ProcessingActivity.objects.get(pk=activity.pk)
    theirs = ProcessingActivity.objects.get(pk=activity.pk)
    theirs.name = "Their change"
    theirs.save()
    history = activity.history.count()

    mine.name = "My change"
    with pytest.raises(StaleRecordError):
        mine.save()

    assert ProcessingActivity.objects.get(pk=activity.pk).name == "Their change"
    assert activity.history.count() == history
    assert mine.version == theirs.version - 1


def test_save_from_a_copy_of_a_deleted_record_does_not_revive_it():
    activity = ProcessingActivityFactory(name="Orders")
    mine = ProcessingActivity.objects.get(pk=activity.pk)
    ProcessingActivity.objects.get(pk=activity.pk).delete()
    history = ProcessingActivity.history.filter(id=activity.pk).count()

    mine.name = "My change"
    with pytest.raises(RecordDeletedError):
        mine.save()

    assert not ProcessingActivity.objects.filter(pk=activity.pk).exists()
    assert ProcessingActivity.history.filter(id=activity.pk).count() == history


def test_save_with_update_fields_bumps_the_version_too():
    activity = ProcessingActivityFactory()
    stale = ProcessingActivity.objects.get(pk=activity.pk)
    activity.name = "Renamed"
    activity.save(update_fields=["name"])

    with pytest.raises(StaleRecordError):
        stale.save(update_fields=["purpose"])


def test_admin_refuses_the_second_save_and_says_what_changed(dpo_client):
    activity = ProcessingActivityFactory(name="Orders", purpose="To deliver.")
    shown = form_data(dpo_client, activity, name="My new name")
    colleague = UserFactory(username="colleague")
    theirs = ProcessingActivity.objects.get(pk=activity.pk)
    theirs.purpose = "To deliver and invoice."
    theirs._history_user = colleague
    theirs.save()
    history = activity.history.count()

    response = dpo_client.post(change_url(activity), shown)

    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert len(errors) == 1
    assert "was changed by colleague" in errors[0]
    assert "changed: purpose" in errors[0]
    activity.refresh_from_db()
    assert (activity.name, activity.purpose) == ("Orders", "To deliver and invoice.")
    assert activity.history.count() == history


def test_admin_refuses_a_stale_inline_row_and_says_so_beside_it(dpo_client):
    activity = ProcessingActivityFactory(lawful_basis=LawfulBasisChoice.CONTRACT)
    basis = activity.lawful_bases.get()
    data = form_data(
        dpo_client, activity, **{"lawful_bases-0-explanation": "My explanation"}
    )
    theirs = LawfulBasis.objects.get(pk=basis.pk)
    theirs.explanation = "Their explanation"
    theirs._history_user = UserFactory(username="colleague")
    theirs.save()

    response = dpo_client.post(change_url(activity), data)

    assert response.status_code == 200
    assert LawfulBasis.objects.get(pk=basis.pk).explanation == "Their explanation"
    # The row's own error list, inside the row: not only the page's banner.
    row = lxml.html.document_fromstring(response.content).get_element_by_id(
        "lawful_bases-0"
    )
    (errors,) = row.find_class("errorlist")
    assert "was changed by colleague" in errors.text_content()
    assert "changed: explanation" in errors.text_content()


def test_admin_says_beside_the_row_that_it_was_deleted_meanwhile(dpo_client):
    activity = ProcessingActivityFactory(lawful_basis=LawfulBasisChoice.CONTRACT)
    data = form_data(
        dpo_client, activity, **{"lawful_bases-0-explanation": "My explanation"}
    )
    activity.lawful_bases.get().delete()

    response = dpo_client.post(change_url(activity), data)

    assert response.status_code == 200
    # The row is not shown again (it is gone): its group says so.
    group = lxml.html.document_fromstring(response.content).get_element_by_id(
        "lawful_bases-group"
    )
    assert ROWS_GONE.format(rows="A lawful basis you were editing was") in (
        group.text_content()
    )
    assert not activity.lawful_bases.exists()


def test_a_row_deleted_meanwhile_and_ticked_for_deletion_is_no_conflict(dpo_client):
    activity = ProcessingActivityFactory(lawful_basis=LawfulBasisChoice.CONTRACT)
    data = form_data(
        dpo_client, activity, **{"lawful_bases-0-DELETE": "on", "name": "Renamed"}
    )
    activity.lawful_bases.get().delete()

    response = dpo_client.post(change_url(activity), data)

    assert response.status_code == 302
    activity.refresh_from_db()
    assert activity.name == "Renamed"
    assert not activity.lawful_bases.exists()


def test_admin_refuses_a_form_without_its_version(dpo_client):
    activity = ProcessingActivityFactory(name="Orders")
    data = form_data(dpo_client, activity, name="Renamed")
    del data["seen_version"]

    response = dpo_client.post(change_url(activity), data)

    assert response.status_code == 200
    assert MISSING in response.content.decode()
    activity.refresh_from_db()
    assert activity.name == "Orders"


@pytest.mark.parametrize("label", sorted(FACTORIES))
def test_every_register_change_form_carries_the_version(superuser_client, label):
    obj = FACTORIES[label]()

    response = superuser_client.get(change_url(obj))

    assert f'name="seen_version" value="{obj.version}"' in response.content.decode()


def test_admin_that_loses_every_race_says_so_and_saves_nothing(
    dpo_client, monkeypatch, caplog
):
    activity = ProcessingActivityFactory(name="Orders")
    data = form_data(dpo_client, activity, name="Renamed")
    history = activity.history.count()
    attempts = []

    def always_second(model_admin, request, obj, form, change):
        # Another save of the record commits before each of this one's.
        attempts.append(obj.version)
        raise StaleRecordError(obj, obj.version + 1)

    monkeypatch.setattr(ProcessingActivityAdmin, "save_model", always_second)

    response = dpo_client.post(change_url(activity), data, follow=True)

    assert len(attempts) == SAVE_ATTEMPTS
    assert response.redirect_chain == [(change_url(activity), 302)]
    assert [str(message) for message in response.context["messages"]] == [
        SAVED_AT_THE_SAME_TIME.format(model="processing activity")
    ]
    assert f"lost {SAVE_ATTEMPTS} races in a row" in caplog.text
    activity.refresh_from_db()
    assert activity.name == "Orders"
    assert activity.history.count() == history


def test_an_add_that_loses_a_race_for_a_unique_name_is_shown_the_duplicate(
    dpo_client, monkeypatch
):
    """
    Two DPOs adding the same category at once: both forms pass their
    uniqueness check before either is written, and the second write breaks
    the unique index. Its form comes back saying the name is taken, not a 500.
    """
    add = reverse("admin:subjects_datasubjectcategory_add")
    data = posted_by_the_page(dpo_client.get(add))
    data["name"] = "Visitors"
    # The other DPO's category, committed after this form's first check.
    DataSubjectCategory.objects.create(name="Visitors")
    validate_unique = forms.BaseModelForm.validate_unique
    checks = []

    def first_check_misses_the_other_add(form):
        checks.append(form)
        return None if len(checks) == 1 else validate_unique(form)

    monkeypatch.setattr(
        forms.BaseModelForm, "validate_unique", first_check_misses_the_other_add
    )

    response = dpo_client.post(add, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "name": ["Data subject category with this Name already exists."]
    }
    assert DataSubjectCategory.objects.filter(name="Visitors").count() == 1
