from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import CommandError

from ropa.roles import (
    AUDITOR,
    DPO,
    REGISTER_APPS,
    is_historical,
    register_models,
    role_permissions,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TRACKED = sorted(
    model._meta.label_lower
    for model in register_models()
    if not model.__name__.startswith("Historical")
)
HISTORICAL = sorted(
    model._meta.label_lower
    for model in register_models()
    if model.__name__.startswith("Historical")
)


def setup_roles(*args):
    out = StringIO()
    call_command("setup_roles", *args, stdout=out)
    return out.getvalue()


def held(group_name):
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name=group_name).permissions.select_related(
            "content_type"
        )
    }


def perm(action, label):
    app_label, model_name = label.split(".")
    return f"{app_label}.{action}_{model_name}"


def test_is_historical_tells_history_tables_apart():
    assert {
        model._meta.label_lower
        for app_label in REGISTER_APPS
        for model in apps.get_app_config(app_label).get_models()
        if is_historical(model)
    } == set(HISTORICAL)


def test_role_permissions_refuses_an_unknown_role():
    with pytest.raises(ValueError, match="Unknown role"):
        role_permissions("Owner")


# ---------------------------------------------------------------------------
# What each role holds
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("label", TRACKED)
@pytest.mark.parametrize("action", ["add", "change", "view"])
def test_dpo_keeps_every_register_model(label, action):
    setup_roles()
    assert perm(action, label) in held(DPO)


DELETABLE = {
    "controllers.dataprotectionofficer": True,
    "controllers.organisation": True,
    "controllers.jointcontrollerarrangement": True,
    "controllers.processoragreement": True,
    "subjects.datasubjectcategory": True,
    "subjects.personaldatacategory": True,
    "ropa.securitymeasure": True,
    "ropa.recipient": True,
    "ropa.lawfulbasis": True,
    "ropa.internationaltransfer": True,
    "ropa.retentionrule": True,
    # Activities retire; reviews are evidence.
    "ropa.processingactivity": False,
    "ropa.review": False,
    "ropa.functionmembership": True,
}


def test_every_register_model_is_deletable_or_not_by_decision():
    assert sorted(DELETABLE) == TRACKED


@pytest.mark.parametrize(("label", "deletable"), sorted(DELETABLE.items()))
def test_dpo_deletes_catalogue_and_child_rows_only(label, deletable):
    setup_roles()
    assert (perm("delete", label) in held(DPO)) is deletable


@pytest.mark.parametrize("label", HISTORICAL)
def test_dpo_views_history_and_never_edits_it(label):
    setup_roles()
    permissions = held(DPO)
    assert perm("view", label) in permissions
    for action in ("add", "change", "delete"):
        assert perm(action, label) not in permissions


def test_dpo_may_view_users_to_pick_owners_and_nothing_else_outside_the_register():
    setup_roles()
    outside = {p for p in held(DPO) if p.split(".")[0] not in REGISTER_APPS}
    assert outside == {"auth.view_user"}


def test_auditor_views_every_register_model_and_history_and_nothing_else():
    setup_roles()
    expected = {perm("view", label) for label in TRACKED + HISTORICAL}
    assert held(AUDITOR) == expected


def test_role_members_get_the_permissions(django_user_model):
    setup_roles()
    dpo = UserFactory(staff=True)
    auditor = UserFactory(staff=True)
    dpo.groups.add(Group.objects.get(name=DPO))
    auditor.groups.add(Group.objects.get(name=AUDITOR))
    dpo = django_user_model.objects.get(pk=dpo.pk)
    auditor = django_user_model.objects.get(pk=auditor.pk)

    assert dpo.has_perm("ropa.change_processingactivity")
    assert not dpo.has_perm("ropa.delete_processingactivity")
    assert auditor.has_perm("ropa.view_historicalprocessingactivity")
    assert not auditor.has_perm("ropa.change_processingactivity")


# ---------------------------------------------------------------------------
# Running the command
# ---------------------------------------------------------------------------


def test_setup_roles_reports_what_it_created():
    output = setup_roles()

    assert f"DPO: created, {len(held(DPO))} permissions" in output
    assert f"Auditor: created, {len(held(AUDITOR))} permissions" in output
    assert "  + ropa.change_processingactivity" in output


def test_setup_roles_twice_changes_nothing():
    setup_roles()
    first = {name: held(name) for name in (DPO, AUDITOR)}

    output = setup_roles()

    assert {name: held(name) for name in (DPO, AUDITOR)} == first
    assert f"DPO: unchanged, {len(first[DPO])} permissions." in output
    assert f"Auditor: unchanged, {len(first[AUDITOR])} permissions." in output
    assert Group.objects.filter(name__in=(DPO, AUDITOR)).count() == 2


def test_setup_roles_takes_away_permissions_granted_by_hand():
    setup_roles()
    extra = Permission.objects.filter(
        codename__in=("delete_processingactivity", "add_user")
    )
    Group.objects.get(name=DPO).permissions.add(*extra)
    Group.objects.get(name=AUDITOR).permissions.add(
        Permission.objects.get(codename="change_organisation")
    )

    output = setup_roles()

    assert "ropa.delete_processingactivity" not in held(DPO)
    assert "auth.add_user" not in held(DPO)
    assert "controllers.change_organisation" not in held(AUDITOR)
    assert "  - ropa.delete_processingactivity" in output
    assert "  - controllers.change_organisation" in output
    assert "Auditor: updated" in output


def test_setup_roles_fails_clearly_without_permissions():
    Permission.objects.get(codename="view_review").delete()

    with pytest.raises(CommandError, match=r"ropa\.view_review.*migrate"):
        setup_roles()

    assert not Group.objects.filter(name__in=(DPO, AUDITOR)).exists()


@pytest.mark.parametrize(("role", "group"), [("dpo", DPO), ("auditor", AUDITOR)])
def test_setup_roles_assigns_a_role_and_admin_access(role, group):
    user = UserFactory(username="kim", is_staff=False)

    output = setup_roles("--assign", "kim", "--role", role)

    user.refresh_from_db()
    assert list(user.groups.values_list("name", flat=True)) == [group]
    assert user.is_staff
    assert f"kim now has the role {group}." in output
    assert "Made staff" in output


def test_setup_roles_assigning_a_role_replaces_the_other():
    user = UserFactory(username="kim", staff=True)
    setup_roles("--assign", "kim", "--role", "auditor")

    output = setup_roles("--assign", "kim", "--role", "dpo")

    assert list(user.groups.values_list("name", flat=True)) == [DPO]
    assert "Made staff" not in output


def test_setup_roles_keeps_other_groups_of_an_assigned_user():
    user = UserFactory(username="kim", staff=True)
    user.groups.add(Group.objects.create(name="Newsletter"))

    setup_roles("--assign", "kim", "--role", "dpo")

    assert set(user.groups.values_list("name", flat=True)) == {DPO, "Newsletter"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--assign", "nobody", "--role", "dpo"), "There is no user 'nobody'."),
        (("--assign", "kim"), "Give --assign USERNAME and --role together."),
        (("--role", "dpo"), "Give --assign USERNAME and --role together."),
        (("--assign", "kim", "--role", "owner"), "invalid choice: 'owner'"),
    ],
)
def test_setup_roles_refuses_bad_arguments(args, message):
    UserFactory(username="kim")

    with pytest.raises(CommandError, match=message):
        setup_roles(*args)

    assert not Group.objects.filter(name__in=(DPO, AUDITOR)).exists()
