from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from ropa import completeness, stored_completeness
from ropa.models import ProcessingActivity
from tests.factories import StaffUserFactory, SuperuserFactory
from tests.factories.users import login_device

REGISTER_APPS = ("controllers", "subjects", "ropa")


# Modules that take longest, started first: the suite runs a module per
# worker at a time (xdist's loadscope), and a slow module scheduled last keeps
# one core busy while the other waits.
SLOW_FIRST = (
    "tests/ropa/perf/test_benchmark.py",
    "tests/test_load_script.py",
    "tests/e2e/",
    "tests/test_production.py",
    "tests/test_permissions.py",
    "tests/ropa/admin/test_hostile_forms.py",
    "tests/ropa/exchange/test_hostile_imports.py",
    "tests/ropa/admin/test_contributor.py",
    "tests/ropa/exchange/test_exports.py",
)


def pytest_collection_modifyitems(config, items):
    def rank(item):
        return next(
            (
                n
                for n, prefix in enumerate(SLOW_FIRST)
                if item.nodeid.startswith(prefix)
            ),
            len(SLOW_FIRST),
        )

    items.sort(key=rank)


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


@pytest.fixture(autouse=True)
def _force_login_gives_both_factors(monkeypatch):
    """
    ``client.force_login(user)`` stands for a finished login: where the
    user's login asks for a code (superusers, DPOs, whoever set two factors
    up), the session is also marked verified by their authenticator app, set
    up now if they have none, as ``django_otp.login`` marks it. The code step
    itself is tested through its pages (tests/test_two_factor.py).
    """
    force_login = Client.force_login

    def force_login_with_code(self, user, backend=None):
        force_login(self, user, backend)
        device = login_device(user)
        if device is not None:
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()

    monkeypatch.setattr(Client, "force_login", force_login_with_code)


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


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """
    The test database, dropped at the end even if a connection to it is
    still open: a request of the browser tests' live server that outlived its
    page (a download, a request the browser gave up on) keeps one until its
    thread ends, and PostgreSQL refuses to drop a database in use.
    """
    yield
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture(scope="module")
def _sample_register_once(django_db_setup, django_db_blocker):
    """
    The sample register, loaded once per test module and rolled back after it.

    Loading writes a few thousand history rows; each test then runs in its own
    savepoint inside this module's transaction, as with any ``db`` test.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        output = StringIO()
        call_command("load_sample_register", stdout=output)
        yield output.getvalue()
        transaction.set_rollback(True)


@pytest.fixture
def sample_register(_sample_register_once, db):
    """The output of loading the sample register, which is in the database."""
    return _sample_register_once


@pytest.fixture(autouse=True)
def _import_uploads_in_tmp_path(settings, tmp_path):
    """
    Import uploads wait in a folder of each test's own (``ropa-imports`` in its
    ``tmp_path``), never in the checkout's ``var/``: a test that overrides
    ``ROPA_IMPORT_UPLOAD_DIR`` or ``STORAGES`` itself still wins.
    """
    settings.ROPA_IMPORT_UPLOAD_DIR = str(tmp_path / "ropa-imports")


@pytest.fixture(autouse=True)
def _stored_completeness_stays_true(request):
    """
    After every database test, the stored Art. 30 gaps that count as current
    are the gaps the rules compute now.

    A write that changes what a rule reads and does not mark the stored gaps
    out of date leaves them current but wrong: this catches such a write
    wherever in the suite it happens, not only in the stored completeness's
    own tests.
    """
    marker = request.node.get_closest_marker("django_db")
    uses_db = marker is not None or "db" in request.fixturenames
    transactional = (marker is not None and marker.kwargs.get("transaction")) or (
        "transactional_db" in request.fixturenames
        or "live_server" in request.fixturenames
    )
    if not uses_db or transactional:
        yield
        return
    request.getfixturevalue("db")
    yield
    if connection.needs_rollback or not connection.in_atomic_block:
        return
    current = stored_gaps(current_only=True)
    if current:
        live = live_gaps()
        assert current == {pk: live[pk] for pk in current}


def live_gaps():
    """Each activity's gap keys as the rules compute them today."""
    return {
        activity.pk: sorted(gap.key for gap in activity.missing_elements())
        for activity in ProcessingActivity.objects.with_completeness()
    }


def stored_gaps(current_only=False):
    """Each activity's stored gap keys (only those current, if asked)."""
    rows = stored_completeness.StoredCompleteness.objects.all()
    if current_only:
        rows = rows.filter(completeness.fresh_q())
    return {row.pk: sorted(row.gaps.split()) for row in rows}
