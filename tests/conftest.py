import pytest
from django.apps import apps
from django.contrib.auth.models import Permission

from tests.factories import StaffUserFactory, SuperuserFactory

REGISTER_APPS = ("controllers", "subjects", "ropa")


def _register_models():
    return [
        model
        for app_label in REGISTER_APPS
        for model in apps.get_app_config(app_label).get_models()
        # Historical models are read through their tracked model's history.
        if not model.__name__.startswith("Historical")
    ]


def _grant(user, permissions):
    user.user_permissions.add(*permissions)
    # Drop the permission cache a has_perm() call may have filled.
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def dpo_user(db):
    """Staff, in no group, with every permission of the register apps."""
    user = StaffUserFactory(username="dpo")
    permissions = Permission.objects.filter(
        content_type__app_label__in=REGISTER_APPS
    ) | Permission.objects.filter(content_type__app_label="auth", codename="view_user")
    return _grant(user, permissions)


@pytest.fixture
def viewer_user(db):
    """Staff who may only view the register (an auditor)."""
    user = StaffUserFactory(username="auditor")
    codenames = [f"view_{model._meta.model_name}" for model in _register_models()]
    permissions = Permission.objects.filter(
        content_type__app_label__in=REGISTER_APPS, codename__in=codenames
    )
    return _grant(user, permissions)


@pytest.fixture
def superuser(db):
    return SuperuserFactory(username="admin")


@pytest.fixture
def dpo_client(client, dpo_user):
    client.force_login(dpo_user)
    return client


@pytest.fixture
def viewer_client(client, viewer_user):
    client.force_login(viewer_user)
    return client


@pytest.fixture
def superuser_client(client, superuser):
    client.force_login(superuser)
    return client
