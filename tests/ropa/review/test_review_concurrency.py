"""
``yearly_review`` run twice at once, as cron and a DPO at the keyboard (or
two years' runs) can: both runs end well, and the register gets one system
user and at most one open review per activity.

The runs are ``manage.py`` processes on the test database, started together
while the test holds a table they read; released once both wait, they read
it at the same moment, as two runs started by the same minute of cron do.
"""

import importlib
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.models import Count, Q
from django.urls import reverse

from ropa.enums import ReviewOutcome
from ropa.models import ProcessingActivity, Review
from ropa.models.reviews import OPEN_REVIEW_EXISTS
from ropa.review.services import (
    DEFAULT_SYSTEM_USERNAME,
    REVIEW_DELETED,
    complete_review,
    system_user,
)
from tests.admin_pages import form_data
from tests.factories import ProcessingActivityFactory, ReviewFactory, UserFactory
from tests.ropa.admin.test_concurrent_saves import WAIT, wait_for_lock_waiters

REPO_ROOT = Path(__file__).resolve().parents[3]
MANAGE = REPO_ROOT / "manage.py"
ON = "2026-12-15"
User = get_user_model()

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Runs at once in separate processes need a database server.",
)
migration = importlib.import_module("ropa.migrations.0010_review_one_open_per_activity")


def database_url():
    """The test database, as ``DATABASE_URL`` names it to another process."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    return (
        f"postgres://{user}{password}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )


def run_at_once(table, *runs):
    """
    Start ``manage.py yearly_review`` with each of ``runs`` (argument lists)
    while ``table`` is locked, release it once every run waits on a lock,
    and return each run's (exit status, standard output, standard error).
    """
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": database_url(),
    }
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        processes = [
            subprocess.Popen(  # noqa: S603 - a fixed command line, no shell
                [sys.executable, str(MANAGE), "yearly_review", *arguments],
                cwd=REPO_ROOT,
                env=environ,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for arguments in runs
        ]
        try:
            wait_for_lock_waiters(len(runs))
        except BaseException:
            for process in processes:
                process.kill()
            raise
    results = []
    for process in processes:
        out, err = process.communicate(timeout=WAIT)
        results.append((process.returncode, out, err))
    return results


def open_review_counts():
    """How many open reviews each activity has, in the order of references."""
    return list(
        ProcessingActivity.objects.annotate(
            open=Count("reviews", filter=Q(reviews__completed_on__isnull=True))
        )
        .order_by("reference")
        .values_list("open", flat=True)
    )


# ---------------------------------------------------------------------------
# Two runs at once
# ---------------------------------------------------------------------------


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_on_a_fresh_database_both_end_well():
    ProcessingActivityFactory.create_batch(3)

    results = run_at_once(User._meta.db_table, ["--as-of", ON], ["--as-of", ON])

    assert [status for status, _, _ in results] == [0, 0], results
    assert User.objects.filter(username=DEFAULT_SYSTEM_USERNAME).count() == 1
    assert open_review_counts() == [1, 1, 1]
    # One run opened them; the other waited for it and found them open.
    opened = sorted("Reviews opened (3)" in out for _, out, _ in results)
    assert opened == [False, True]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_runs_for_two_years_at_once_open_one_review_per_activity():
    ProcessingActivityFactory.create_batch(3)
    system_user(username=DEFAULT_SYSTEM_USERNAME)

    results = run_at_once(
        Review._meta.db_table,
        ["--as-of", ON],
        ["--as-of", ON, "--year", "2027"],
    )

    assert [status for status, _, _ in results] == [0, 0], results
    assert open_review_counts() == [1, 1, 1]
    assert Review.history.count() == 3


# ---------------------------------------------------------------------------
# The system user, created by two runs at once
# ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_system_user_created_meanwhile_by_another_run_is_used(monkeypatch):
    theirs = UserFactory(username=DEFAULT_SYSTEM_USERNAME)
    manager = type(User._default_manager)
    look_up = manager.get_by_natural_key
    calls = []

    def not_there_yet(self, username):
        # The other run had not committed it when this one looked.
        calls.append(username)
        if len(calls) == 1:
            raise User.DoesNotExist
        return look_up(self, username)

    monkeypatch.setattr(manager, "get_by_natural_key", not_there_yet)

    assert system_user(username=DEFAULT_SYSTEM_USERNAME) == theirs
    assert User.objects.filter(username=DEFAULT_SYSTEM_USERNAME).count() == 1


@pytest.mark.django_db
def test_system_user_other_integrity_errors_are_not_hidden(monkeypatch):
    def refused(*args, **kwargs):
        raise IntegrityError("refused")

    monkeypatch.setattr(User, "save", refused)

    with pytest.raises(IntegrityError):
        system_user(username=DEFAULT_SYSTEM_USERNAME)


@pytest.mark.django_db
def test_signing_off_a_review_deleted_meanwhile_is_refused_with_a_message():
    review = ReviewFactory()
    Review.objects.get(pk=review.pk).delete()

    with pytest.raises(ValidationError) as refused:
        complete_review(
            review=review, user=UserFactory(), outcome=ReviewOutcome.CONFIRMED
        )

    assert refused.value.messages == [REVIEW_DELETED]


# ---------------------------------------------------------------------------
# One open review per activity, in the database
# ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_second_open_review_is_refused_by_the_database():
    review = ReviewFactory(cycle=2026)

    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.create(
            activity=review.activity, cycle=2027, due_on=review.due_on
        )


@pytest.mark.django_db
def test_a_review_opens_once_the_open_one_is_completed():
    review = ReviewFactory(cycle=2026, completed=True)

    ReviewFactory(activity=review.activity, cycle=2027)

    assert review.activity.reviews.open().count() == 1


@pytest.mark.django_db
def test_admin_refuses_a_second_open_review_with_a_message(dpo_client):
    review = ReviewFactory(cycle=2026)
    add = reverse("admin:ropa_review_add")
    data = {
        **form_data(dpo_client.get(add)),
        "activity": str(review.activity.pk),
        "cycle": "2027",
        "due_on": "2027-01-01",
    }

    response = dpo_client.post(add, data)

    assert response.status_code == 200
    assert OPEN_REVIEW_EXISTS in response.content.decode()
    assert review.activity.reviews.count() == 1


# ---------------------------------------------------------------------------
# The migration that adds the constraint
# ---------------------------------------------------------------------------


def _the_constraint():
    (constraint,) = (
        c
        for c in Review._meta.constraints
        if c.name == "ropa_review_one_open_per_activity"
    )
    return constraint


@pytest.fixture
def without_the_constraint(db):
    """
    The review table as it was before the migration, for this test only:
    PostgreSQL rolls the change of its schema back with the test.
    """
    if connection.vendor != "postgresql":
        pytest.skip("SQLite rebuilds a table to drop a constraint, not in a test.")
    with connection.schema_editor() as editor:
        editor.remove_constraint(Review, _the_constraint())


def add_the_constraint():
    """The migration's next step, which fails on two open reviews of an activity."""
    with connection.cursor() as cursor:
        # The foreign keys of the test's own rows, checked at commit, now:
        # PostgreSQL adds no index to a table with checks pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with connection.schema_editor() as editor:
        editor.add_constraint(Review, _the_constraint())


@pytest.fixture
def migrate(settings):
    """The migration's data step, run on the models as they were before it."""
    # The suite runs without migrations (--no-migrations): load them here.
    settings.MIGRATION_MODULES = {}
    state = MigrationLoader(None, ignore_no_migrations=True).project_state(
        ("ropa", "0010_review_one_open_per_activity"), at_end=False
    )
    return lambda: migration.keep_one_open_review(state.apps, None)


def test_migration_deletes_a_second_open_review_no_one_worked_on(
    without_the_constraint, migrate
):
    first = ReviewFactory(cycle=2026)
    second = ReviewFactory(activity=first.activity, cycle=2027)
    other = ReviewFactory(cycle=2026)

    migrate()
    add_the_constraint()

    assert list(Review.objects.order_by("pk")) == [first, other]
    deletion = Review.history.get(id=second.pk, history_type="-")
    assert deletion.history_change_reason == migration.REASON
    assert deletion.cycle == 2027


def test_migration_keeps_the_review_someone_worked_on(without_the_constraint, migrate):
    first = ReviewFactory(cycle=2026)
    second = ReviewFactory(activity=first.activity, cycle=2027, notes="Started.")

    migrate()
    add_the_constraint()

    assert list(Review.objects.all()) == [second]


def test_migration_stops_when_two_open_reviews_were_worked_on(
    without_the_constraint, migrate
):
    first = ReviewFactory(cycle=2026, notes="Started.")
    ReviewFactory(activity=first.activity, cycle=2027, notes="Started too.")

    with pytest.raises(RuntimeError, match="more than one open review"):
        migrate()

    assert Review.objects.count() == 2
