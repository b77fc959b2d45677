"""
At most one open review per activity, in the database.

Two runs of ``yearly_review`` at once, for two cycles, could each open a
review of the same activity. Before the constraint is added, each activity
keeps one open review: the one someone has worked on (saved since it was
opened, or with notes), else the one due first. The others, as the run opened
them and untouched since, are deleted, each with a history row that says
why. An activity with more than one open review that someone worked on stops
the migration with their names: mark all but one reviewed, then migrate.
"""

from collections import defaultdict

from django.db import migrations, models
from django.utils import timezone

REASON = (
    "Deleted by the upgrade to one open review per activity: a second open "
    "review of the activity, opened by two runs of the yearly review at once."
)
WORKED_ON = (
    "Cannot keep one open review per activity: more than one open review of "
    "these activities was worked on ({reviews}). Mark all but one of each "
    "activity's reviewed, then migrate again."
)


def _untouched(review):
    return review.version == 1 and not review.notes.strip()


def keep_one_open_review(apps, schema_editor):
    Review = apps.get_model("ropa", "Review")
    HistoricalReview = apps.get_model("ropa", "HistoricalReview")
    by_activity = defaultdict(list)
    for review in Review.objects.filter(completed_on__isnull=True).order_by(
        "due_on", "cycle", "pk"
    ):
        by_activity[review.activity_id].append(review)
    extra = []
    for reviews in by_activity.values():
        # Worked-on first, then by due date: the first is kept.
        _kept, *others = sorted(reviews, key=_untouched)
        extra += others
    worked_on = [review for review in extra if not _untouched(review)]
    if worked_on:
        names = ", ".join(
            f"activity {review.activity_id} cycle {review.cycle}"
            for review in worked_on
        )
        raise RuntimeError(WORKED_ON.format(reviews=names))
    now = timezone.now()
    for review in extra:
        HistoricalReview.objects.create(
            id=review.pk,
            activity_id=review.activity_id,
            cycle=review.cycle,
            due_on=review.due_on,
            completed_on=review.completed_on,
            reviewer_id=review.reviewer_id,
            outcome=review.outcome,
            notes=review.notes,
            version=review.version,
            history_date=now,
            history_type="-",
            history_change_reason=REASON,
        )
        review.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ropa", "0009_transfer_adequacy_scope"),
    ]

    operations = [
        migrations.RunPython(keep_one_open_review, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="review",
            constraint=models.UniqueConstraint(
                condition=models.Q(("completed_on__isnull", True)),
                fields=("activity",),
                name="ropa_review_one_open_per_activity",
                violation_error_message=(
                    "This activity already has an open review: mark it "
                    "reviewed before opening another."
                ),
            ),
        ),
    ]
