"""
Saves that race: two people, or a person and an import, saving the same
record at the same moment on PostgreSQL.

Each request runs in a thread of its own, with its own database connection,
as two browsers' requests run in two workers of the server. The test holds
the record's row lock (a transaction of its own: a gate, or an import not yet
committed) until every request is waiting on it, so that every form has
passed its checks before any of them writes: the moment the version check of
the form cannot see the other save, and only the save's own check can.
"""

import threading
import time

import lxml.html
import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection, connections, transaction
from django.test import Client
from django.urls import reverse

from ropa.core.versioning import STALE, what_changed
from ropa.enums import LawfulBasisChoice, ReviewOutcome
from ropa.exchange import layout
from ropa.exchange.export import export_register
from ropa.exchange.imports import import_register
from ropa.models import LawfulBasis, ProcessingActivity, Review, StoredCompleteness
from tests.admin_pages import form_data
from tests.factories import (
    OrganisationFactory,
    ProcessingActivityFactory,
    ReviewFactory,
    SecurityMeasureFactory,
    SuperuserFactory,
)
from tests.ropa.exchange.test_imports import edit

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="Row locks: SQLite runs one writer at a time.",
    ),
]

#: How long a test waits for the requests to reach the lock, or to finish.
WAIT = 60


def change_url(obj):
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=(obj.pk,))


def browser(username):
    """A DPO's logged-in browser, which sees a server error as a 500 page."""
    client = Client(raise_request_exception=False)
    client.force_login(SuperuserFactory(username=username))
    return client


def shown(client, obj, **typed):
    """What ``client`` posts from ``obj``'s change page, ``typed`` changed."""
    return {**form_data(client.get(change_url(obj))), **typed}


class Post(threading.Thread):
    """A browser's POST, sent from a thread with its own database connection."""

    def __init__(self, client, url, data):
        super().__init__(daemon=True)
        self.client, self.url, self.data = client, url, data
        self.response = self.error = None

    def run(self):
        try:
            self.response = self.client.post(self.url, self.data)
        except BaseException as error:  # Reported by the test, not the thread.
            self.error = error
        finally:
            connections.close_all()

    def result(self):
        self.join(WAIT)
        assert not self.is_alive(), f"{self.url} still waiting after {WAIT}s"
        if self.error is not None:
            raise self.error
        return self.response


def _on_other_connection(sql):
    """The first column of ``sql``'s first row, read on a connection of its own."""
    result = []

    def read():
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                result.append(cursor.fetchone()[0])
        finally:
            connection.close()

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(WAIT)
    return result[0]


def wait_for_lock_waiters(count):
    """Return once ``count`` connections of the test database wait on a lock."""
    deadline = time.monotonic() + WAIT
    while (
        _on_other_connection(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        < count
    ):
        assert time.monotonic() < deadline, f"fewer than {count} requests waiting"
        time.sleep(0.05)


def post_in_turn(model, pk, *posts):
    """
    Send ``posts`` while the row ``pk`` of ``model`` is locked, each waiting
    on the lock before the next is sent (so they take it in that order),
    then release it; return their responses.
    """
    with transaction.atomic():
        model._base_manager.select_for_update().filter(pk=pk).values_list("pk").get()
        for waiting, post in enumerate(posts, start=1):
            post.start()
            wait_for_lock_waiters(waiting)
    return [post.result() for post in posts]


def errors(response):
    """The error messages of an admin form page, as the user reads them."""
    page = lxml.html.document_fromstring(response.content)
    return [
        item.text_content()
        for item in page.xpath('//ul[contains(@class, "errorlist")]/li')
    ]


def stale_message(obj, seen):
    """What the form says when ``obj`` was saved since version ``seen``."""
    return STALE.format(
        model=obj._meta.verbose_name,
        **what_changed(type(obj).objects.get(pk=obj.pk), seen),
    )


def changes_logged(obj):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(obj),
        object_id=str(obj.pk),
        action_flag=CHANGE,
    ).count()


# ---------------------------------------------------------------------------
# Two people press Save at the same moment
# ---------------------------------------------------------------------------


def test_two_dpos_saving_an_activity_at_once_get_one_save_and_the_stale_message():
    activity = ProcessingActivityFactory(name="Orders")
    first, second = browser("first"), browser("second")
    posts = [
        Post(first, change_url(activity), shown(first, activity, name="By the first")),
        Post(
            second, change_url(activity), shown(second, activity, name="By the second")
        ),
    ]
    history = activity.history.count()

    saved, refused = post_in_turn(ProcessingActivity, activity.pk, *posts)

    assert saved.status_code == 302
    assert refused.status_code == 200
    assert errors(refused) == [stale_message(activity, activity.version)]
    assert "was changed by first" in errors(refused)[0]
    activity.refresh_from_db()
    assert activity.name == "By the first"
    assert activity.history.count() == history + 1
    assert changes_logged(activity) == 1


@pytest.mark.parametrize(
    "factory",
    [OrganisationFactory, SecurityMeasureFactory, ReviewFactory],
    ids=["controllers", "catalogue", "review"],
)
def test_two_dpos_saving_any_register_record_at_once_never_get_a_server_error(
    factory,
):
    obj = factory()
    first, second = browser("first"), browser("second")
    posts = [
        Post(client, change_url(obj), shown(client, obj, change_reason=f"By {name}"))
        for name, client in (("first", first), ("second", second))
    ]
    history = obj.history.count()

    saved, refused = post_in_turn(type(obj), obj.pk, *posts)

    assert (saved.status_code, refused.status_code) == (302, 200)
    assert errors(refused) == [stale_message(obj, obj.version)]
    assert obj.history.count() == history + 1
    assert obj.history.latest().history_change_reason == "By first"


def test_an_activity_save_that_loses_on_an_inline_row_writes_nothing():
    activity = ProcessingActivityFactory(
        name="Orders", lawful_basis=LawfulBasisChoice.CONTRACT
    )
    basis = activity.lawful_bases.get()
    first, second = browser("first"), browser("second")
    # The first changes the lawful basis from its own list; the second, the
    # activity's name and the same basis from the activity's page.
    posts = [
        Post(first, change_url(basis), shown(first, basis, explanation="First's")),
        Post(
            second,
            change_url(activity),
            shown(
                second,
                activity,
                name="Renamed",
                **{"lawful_bases-0-explanation": "Second's"},
            ),
        ),
    ]
    history = (activity.history.count(), basis.history.count())

    saved, refused = post_in_turn(LawfulBasis, basis.pk, *posts)

    assert (saved.status_code, refused.status_code) == (302, 200)
    assert errors(refused) == [stale_message(basis, basis.version)]
    activity.refresh_from_db()
    basis.refresh_from_db()
    # The activity's own change, saved before its row lost, is rolled back.
    assert (activity.name, basis.explanation) == ("Orders", "First's")
    assert (activity.history.count(), basis.history.count()) == (
        history[0],
        history[1] + 1,
    )
    assert changes_logged(activity) == 0


def test_two_dpos_marking_a_review_reviewed_at_once_sign_it_off_once():
    review = ReviewFactory()
    first, second = browser("first"), browser("second")
    url = reverse(
        "admin:ropa_processingactivity_mark_reviewed", args=(review.activity.pk,)
    )
    posts = [
        Post(
            client,
            url,
            form_data(client.get(url), form_id="mark-reviewed-form", submit=None),
        )
        for client in (first, second)
    ]
    history = review.history.count()

    done, refused = post_in_turn(Review, review.pk, *posts)

    assert (done.status_code, refused.status_code) == (302, 302)
    review.refresh_from_db()
    assert (review.reviewer.username, review.outcome) == (
        "first",
        ReviewOutcome.CONFIRMED,
    )
    assert review.history.count() == history + 1


def test_a_save_the_database_fails_to_break_a_deadlock_is_checked_again():
    activity = ProcessingActivityFactory(name="Orders")
    colleague = SuperuserFactory(username="colleague")
    dpo = browser("dpo")
    post = Post(dpo, change_url(activity), shown(dpo, activity, name="By the DPO"))

    with transaction.atomic():
        with connection.cursor() as cursor:
            # The database breaks the deadlock by failing the DPO's save.
            cursor.execute("SET LOCAL deadlock_timeout = '60s'")
        # A writer holding the activity's stored gaps, which the DPO's save
        # locks after the activity...
        StoredCompleteness.objects.select_for_update().filter(
            activity=activity
        ).values_list("pk").get()
        post.start()
        wait_for_lock_waiters(1)
        # ...then saving the activity, which the DPO's save holds.
        theirs = ProcessingActivity.objects.get(pk=activity.pk)
        theirs.purpose = "Changed by a colleague."
        theirs._history_user = colleague
        theirs.save()
    response = post.result()

    assert response.status_code == 200
    assert errors(response) == [stale_message(activity, activity.version)]
    assert "was changed by colleague" in errors(response)[0]
    activity.refresh_from_db()
    assert (activity.name, activity.purpose) == ("Orders", "Changed by a colleague.")


# ---------------------------------------------------------------------------
# A save that waited on an import
# ---------------------------------------------------------------------------


def test_a_save_that_waited_on_an_import_gets_the_stale_message(tmp_path):
    activity = ProcessingActivityFactory(name="Orders")
    importer = SuperuserFactory(username="importer")
    path = tmp_path / "register.xlsx"
    with path.open("wb") as out:
        export_register(fmt="xlsx", out=out)
    edit(path, layout.ACTIVITIES.name, {(activity.reference, "Name"): "Imported"})
    dpo = browser("dpo")
    post = Post(dpo, change_url(activity), shown(dpo, activity, name="By the DPO"))
    history = activity.history.count()

    with transaction.atomic():
        plan = import_register(path, file_name="register.xlsx", user=importer)
        assert not plan.has_errors
        # The import holds the activity's row until it commits.
        post.start()
        wait_for_lock_waiters(1)
    response = post.result()

    assert response.status_code == 200
    assert errors(response) == [stale_message(activity, activity.version)]
    assert "was changed by importer" in errors(response)[0]
    activity.refresh_from_db()
    assert activity.name == "Imported"
    assert activity.history.count() == history + 1
