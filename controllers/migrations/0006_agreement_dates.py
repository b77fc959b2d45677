"""
Register dates within what a register can hold (``ropa.core.dates``), and an
arrangement's next review not before its signing: the second also in the
database. An arrangement already reviewed before it was signed stops the
migration with its reference: correct one of its dates, then migrate.
"""

import ropa.core.dates
from django.db import migrations, models
from django.db.models import F

REVIEW_BEFORE_SIGNED = (
    "Cannot add the rule that an arrangement's next review is not before its "
    "signing, which these arrangements break: {references}. Correct the "
    "signing or the next review date of each, then migrate again."
)


def refuse_reviews_before_signing(apps, schema_editor):
    Arrangement = apps.get_model("controllers", "JointControllerArrangement")
    references = list(
        Arrangement.objects.filter(review_on__lt=F("signed_on"))
        .order_by("reference")
        .values_list("reference", flat=True)
    )
    if references:
        raise RuntimeError(REVIEW_BEFORE_SIGNED.format(references=", ".join(references)))


class Migration(migrations.Migration):

    dependencies = [
        ('controllers', '0005_art27_exemption'),
    ]

    operations = [
        migrations.AlterField(
            model_name='historicaljointcontrollerarrangement',
            name='review_on',
            field=models.DateField(blank=True, null=True, validators=[ropa.core.dates.validate_register_date], verbose_name='next review'),
        ),
        migrations.AlterField(
            model_name='historicaljointcontrollerarrangement',
            name='signed_on',
            field=models.DateField(blank=True, null=True, validators=[ropa.core.dates.validate_past_date]),
        ),
        migrations.AlterField(
            model_name='historicalprocessoragreement',
            name='expires_on',
            field=models.DateField(blank=True, null=True, validators=[ropa.core.dates.validate_register_date]),
        ),
        migrations.AlterField(
            model_name='historicalprocessoragreement',
            name='signed_on',
            field=models.DateField(blank=True, null=True, validators=[ropa.core.dates.validate_past_date]),
        ),
        migrations.AlterField(
            model_name='jointcontrollerarrangement',
            name='review_on',
            field=models.DateField(blank=True, null=True, validators=[ropa.core.dates.validate_register_date], verbose_name='next review'),
        ),
        migrations.AlterField(
            model_name='jointcontrollerarrangement',
            name='signed_on',
            field=models.DateField(blank=True, null=True, validators=[ropa.core.dates.validate_past_date]),
        ),
        migrations.AlterField(
            model_name='processoragreement',
            name='expires_on',
            field=models.DateField(blank=True, null=True, validators=[ropa.core.dates.validate_register_date]),
        ),
        migrations.AlterField(
            model_name='processoragreement',
            name='signed_on',
            field=models.DateField(blank=True, null=True, validators=[ropa.core.dates.validate_past_date]),
        ),
        migrations.RunPython(refuse_reviews_before_signing, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='jointcontrollerarrangement',
            constraint=models.CheckConstraint(condition=models.Q(('review_on__isnull', True), ('signed_on__isnull', True), ('review_on__gte', models.F('signed_on')), _connector='OR'), name='controllers_jointcontrollerarrangement_review_after_signed', violation_error_message='The next review cannot be before the arrangement was signed.'),
        ),
    ]
