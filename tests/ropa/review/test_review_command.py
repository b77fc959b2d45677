import datetime
import json
import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.core.management import base as management_base
from django.utils import timezone

from ropa.enums import ActivityStatus, DPIAStatus, ReviewOutcome
from ropa.management.commands.yearly_review import Command
from ropa.models import ProcessingActivity, Review
from ropa.review.render import NO_DPO_ADDRESS
from ropa.review.services import (
    DEFAULT_SYSTEM_USERNAME,
    OPENED_REASON,
    complete_review,
    system_user,
)
from ropa.sample import load_sample_register
from tests.factories import (
    LawfulBasisFactory,
    OrganisationFactory,
    ProcessingActivityFactory,
    ProcessorAgreementFactory,
    RetentionRuleFactory,
    ReviewFactory,
    StaffUserFactory,
)

pytestmark = pytest.mark.django_db

ON = "2026-03-01"
User = get_user_model()


def run(*args):
    """Run the command; return its standard output and error."""
    stdout, stderr = StringIO(), StringIO()
    call_command("yearly_review", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def run_json(*args):
    out, _ = run(*args, "--format", "json")
    return json.loads(out)


def exit_status(*args):
    """The exit status of the command run with ``args``, as cron sees it."""
    try:
        run(*args)
    except SystemExit as exited:
        return exited.code
    except CommandError as error:
        return error.returncode
    return 0


def history_rows():
    return (
        sum(model.history.count() for model in (Review, ProcessingActivity))
        + User.objects.count()
    )


# ---------------------------------------------------------------------------
# Opening reviews
# ---------------------------------------------------------------------------


def test_yearly_review_opens_reviews_once_per_cycle():
    ProcessingActivityFactory.create_batch(2)

    first = run_json("--as-of", ON)
    second = run_json("--as-of", "2026-06-01")

    assert len(first["reviews_opened"]) == 2
    assert second["reviews_opened"] == []
    assert Review.objects.filter(cycle=2026).count() == 2


def test_yearly_review_records_the_system_user_and_reason():
    ProcessingActivityFactory()

    run("--as-of", ON)

    record = Review.history.get()
    user = record.history_user
    assert user.get_username() == DEFAULT_SYSTEM_USERNAME
    assert not user.is_active
    assert not user.has_usable_password()
    assert record.history_change_reason == OPENED_REASON.format(cycle=2026)


def test_yearly_review_system_user_from_the_setting(settings):
    settings.ROPA_SYSTEM_USERNAME = "register-robot"
    ProcessingActivityFactory()

    run("--as-of", ON)

    assert Review.history.get().history_user.get_username() == "register-robot"


def test_yearly_review_system_user_option_uses_an_existing_user():
    robot = StaffUserFactory(username="cron")
    ProcessingActivityFactory()

    run("--as-of", ON, "--system-user", "cron")

    assert Review.history.get().history_user == robot
    robot.refresh_from_db()
    assert robot.is_active


def test_yearly_review_dry_run_writes_nothing():
    ProcessingActivityFactory.create_batch(2)
    before = history_rows()

    out, _ = run("--as-of", ON, "--dry-run")

    assert "Dry run: nothing was saved." in out
    # It opened nothing, and says what a run would open.
    assert "Reviews that would be opened (2)" in out
    assert "Reviews opened" not in out
    assert "Reviews 2 would be opened, 0 overdue, 2 open." in out
    assert not Review.objects.exists()
    assert history_rows() == before


@pytest.mark.parametrize(
    ("as_of", "year", "expected"),
    [
        # Reviewed on 2025-03-01: due on its anniversary, opened all year.
        ("2026-01-10", None, [("2026-03-01", 0)]),
        ("2026-03-11", None, [("2026-03-01", 10)]),
        # Before the cycle it falls due in, nothing opens...
        ("2025-12-01", None, []),
        # ...unless the coming cycle is asked for.
        ("2025-12-01", "2026", [("2026-03-01", 0)]),
    ],
)
def test_yearly_review_as_of(as_of, year, expected):
    ReviewFactory(cycle=2025, completed=True, completed_on=datetime.date(2025, 3, 1))
    args = ("--as-of", as_of, *(("--year", year) if year else ()))

    report = run_json(*args)

    assert [
        (row["due_on"], row["days_overdue"]) for row in report["reviews_opened"]
    ] == expected
    assert report["as_of"] == as_of


def test_yearly_review_defaults_to_today():
    ProcessingActivityFactory()

    report = run_json()

    today = timezone.localdate()
    assert (report["as_of"], report["cycle"]) == (today.isoformat(), today.year)
    assert report["reviews_opened"][0]["due_on"] == today.isoformat()


# ---------------------------------------------------------------------------
# Exit statuses
# ---------------------------------------------------------------------------


def test_yearly_review_check_passes_when_all_is_in_order():
    ReviewFactory(cycle=2026, completed=True, completed_on=datetime.date(2026, 2, 1))

    assert exit_status("--as-of", ON, "--check") == 0


@pytest.mark.parametrize(
    ("make", "failure"),
    [
        (
            lambda: ReviewFactory(cycle=2026, due_on=datetime.date(2026, 2, 1)),
            "1 review overdue",
        ),
        (ProcessingActivityFactory, "1 review due today"),
        (
            lambda: ReviewFactory(
                cycle=2026,
                due_on=datetime.date(2026, 9, 1),
                activity=ProcessingActivityFactory(lawful_basis=False),
            ),
            "1 activity with Art. 30 gaps",
        ),
        (
            lambda: ReviewFactory(
                cycle=2026,
                due_on=datetime.date(2026, 9, 1),
                activity=ProcessingActivityFactory(
                    processor_agreements=[
                        ProcessorAgreementFactory(expires_on=datetime.date(2026, 1, 31))
                    ]
                ),
            ),
            "1 processor agreement expired",
        ),
        (
            lambda: ReviewFactory(
                cycle=2026,
                due_on=datetime.date(2026, 9, 1),
                activity=ProcessingActivityFactory(
                    dpia_required=True, dpia_status=DPIAStatus.NOT_STARTED
                ),
            ),
            "1 high-risk activity without a completed DPIA",
        ),
    ],
)
def test_yearly_review_check_fails_with_status_1(make, failure):
    make()
    stderr = StringIO()

    with pytest.raises(SystemExit) as exited:
        call_command(
            "yearly_review", "--as-of", ON, "--check", stdout=StringIO(), stderr=stderr
        )

    assert exited.value.code == 1
    assert stderr.getvalue() == f"Check failed: {failure}.\n"


def test_yearly_review_check_says_why_on_stderr():
    ReviewFactory(cycle=2026, due_on=datetime.date(2026, 2, 1))
    stdout, stderr = StringIO(), StringIO()

    with pytest.raises(SystemExit):
        call_command(
            "yearly_review", "--as-of", ON, "--check", stdout=stdout, stderr=stderr
        )

    assert stderr.getvalue() == "Check failed: 1 review overdue.\n"
    assert "Reviews overdue (1)" in stdout.getvalue()


def test_yearly_review_without_check_exits_0_whatever_it_finds():
    ReviewFactory(cycle=2026, due_on=datetime.date(2026, 2, 1))

    assert exit_status("--as-of", ON) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--as-of", "2026-13-01"), "--as-of takes a date as YYYY-MM-DD"),
        (("--as-of", "next monday"), "--as-of takes a date as YYYY-MM-DD"),
        (("--as-of", ON, "--year", "2025"), "The review cycle 2025 is neither"),
        (("--as-of", ON, "--year", "2030"), "The review cycle 2030 is neither"),
    ],
)
def test_yearly_review_bad_arguments_exit_with_status_2(args, message):
    ProcessingActivityFactory()

    with pytest.raises(CommandError, match=message) as error:
        run(*args)

    assert error.value.returncode == 2
    assert not Review.objects.exists()


@pytest.fixture
def command_line(monkeypatch, capsys):
    """Run the command as from a shell; return (status, stdout, stderr)."""
    # run_from_argv closes the database connections when done: the test's
    # transaction must stay open.
    monkeypatch.setattr(management_base.connections, "close_all", lambda: None)

    def run_argv(*args):
        try:
            Command().run_from_argv(["manage.py", "yearly_review", *args])
        except SystemExit as exited:
            status = exited.code
        else:
            status = 0
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run_argv


@pytest.mark.parametrize(
    ("args", "status", "stderr"),
    [
        (("--as-of", ON, "--check"), 1, "Check failed: 1 review overdue.\n"),
        (("--as-of", "2026-03-32"), 2, "CommandError: --as-of takes a date"),
        (("--format", "xml"), 2, "invalid choice: 'xml'"),
        (("--year", "soon"), 2, "invalid int value: 'soon'"),
    ],
)
def test_yearly_review_exit_status_from_the_command_line(
    command_line, args, status, stderr
):
    ReviewFactory(cycle=2026, due_on=datetime.date(2026, 2, 1))

    got_status, _, got_stderr = command_line(*args)

    assert got_status == status
    assert stderr in got_stderr


# ---------------------------------------------------------------------------
# Formats and e-mail
# ---------------------------------------------------------------------------


def test_yearly_review_json_has_every_section():
    ReviewFactory(cycle=2026, due_on=datetime.date(2026, 2, 1))
    RetentionRuleFactory(
        activity=ProcessingActivityFactory(retention=False),
        by_criteria=True,
        criteria=" ",
    )

    report = run_json("--as-of", ON)

    assert {
        "reviews_opened",
        "reviews_overdue",
        "reviews_due",
        "art30_gaps",
        "processor_agreements",
        "joint_arrangements",
        "retention_rules",
        "high_risk_without_dpia",
        "changes",
        "check",
    } <= set(report)
    assert len(report["reviews_overdue"]) == 1
    assert len(report["retention_rules"]) == 1
    assert report["check"]["passed"] is False


def test_yearly_review_csv_output():
    ReviewFactory(cycle=2026, due_on=datetime.date(2026, 2, 1))

    out, _ = run("--as-of", ON, "--format", "csv")

    lines = out.splitlines()
    assert lines[0] == "section,reference,activity,item,detail,date,by"
    assert any(line.startswith("reviews_overdue,PA-") for line in lines)


def test_yearly_review_email_goes_to_the_dpos(mailoutbox):
    activity = ProcessingActivityFactory()
    dpo = activity.organisations.get().dpo
    ReviewFactory(activity=activity, cycle=2026, due_on=datetime.date(2026, 2, 1))

    out, _ = run("--as-of", ON, "--email")

    (message,) = mailoutbox
    assert message.to == [dpo.email]
    assert message.subject == "Yearly review 2026 as of 2026-03-01: needs attention"
    assert message.body == out.rstrip("\n")
    ((name, content, mimetype),) = message.attachments
    assert (name, mimetype) == ("yearly-review-2026-03-01.csv", "text/csv")
    assert content.startswith("section,reference,activity")


def test_yearly_review_email_without_a_dpo_exits_2_and_writes_nothing(mailoutbox):
    ProcessingActivityFactory(organisations=[OrganisationFactory()])

    with pytest.raises(CommandError, match=re.escape(NO_DPO_ADDRESS)) as error:
        run("--as-of", ON, "--email")

    assert error.value.returncode == 2
    assert mailoutbox == []
    assert not Review.objects.exists()


# ---------------------------------------------------------------------------
# Query budget
# ---------------------------------------------------------------------------


def count_queries(django_assert_max_num_queries, *args):
    with django_assert_max_num_queries(1000) as captured:
        run(*args)
    return len(captured.captured_queries)


def test_yearly_review_first_run_query_count_does_not_grow(
    django_assert_max_num_queries,
):
    # The system user; the activities due; one insert of the reviews and one
    # of their history rows; then the report's queries, none per activity.
    system_user(username=DEFAULT_SYSTEM_USERNAME)
    ProcessingActivityFactory()
    one = count_queries(django_assert_max_num_queries, "--as-of", ON)
    Review.objects.all().delete()
    ProcessingActivityFactory.create_batch(2)
    three = count_queries(django_assert_max_num_queries, "--as-of", ON)

    assert Review.objects.count() == 3
    assert one == three


def reviewed_and_changed(user):
    """An active activity reviewed today, then changed in a field, link and row."""
    activity = ProcessingActivityFactory()
    today = timezone.localdate()
    complete_review(
        review=ReviewFactory(activity=activity, cycle=today.year, due_on=today),
        user=user,
        outcome=ReviewOutcome.CONFIRMED,
    )
    activity._history_user = user
    activity.purpose = "A purpose restated after the review."
    activity.save()
    activity.security_measures.set([])
    LawfulBasisFactory(activity=activity, basis="consent")
    return activity


def test_yearly_review_query_count_does_not_grow_with_changed_activities(
    dpo_user, django_assert_max_num_queries
):
    # A year on, each activity falls due again, with changes since its review.
    as_of = (timezone.localdate() + datetime.timedelta(days=365)).isoformat()
    reviewed_and_changed(dpo_user)
    one = count_queries(django_assert_max_num_queries, "--as-of", as_of, "--dry-run")
    reviewed_and_changed(dpo_user)
    reviewed_and_changed(dpo_user)
    three = count_queries(django_assert_max_num_queries, "--as-of", as_of, "--dry-run")

    report = run_json("--as-of", as_of, "--dry-run")
    assert [len(entry["fields"]) for entry in report["changes"]] == [1, 1, 1]
    assert one == three


# ---------------------------------------------------------------------------
# The sample register
# ---------------------------------------------------------------------------


def test_yearly_review_on_the_sample_register(dpo_user):
    load_sample_register()

    first = run_json()
    second = run_json()
    assert len(first["reviews_opened"]) == 26
    assert second["reviews_opened"] == []
    assert exit_status("--check") == 1

    for open_review in Review.objects.open():
        complete_review(
            review=open_review, user=dpo_user, outcome=ReviewOutcome.CONFIRMED
        )

    assert exit_status("--check") == 0
    assert Review.objects.completed().count() == 26
    assert not ProcessingActivity.objects.exclude(status=ActivityStatus.ACTIVE).exists()
