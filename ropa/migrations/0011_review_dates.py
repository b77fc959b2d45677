import ropa.core.dates
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ropa', '0010_review_one_open_per_activity'),
    ]

    operations = [
        migrations.AlterField(
            model_name='historicalreview',
            name='completed_on',
            field=models.DateField(blank=True, null=True, validators=[ropa.core.dates.validate_past_date]),
        ),
        migrations.AlterField(
            model_name='historicalreview',
            name='due_on',
            field=models.DateField(validators=[ropa.core.dates.validate_register_date]),
        ),
        migrations.AlterField(
            model_name='review',
            name='completed_on',
            field=models.DateField(blank=True, null=True, validators=[ropa.core.dates.validate_past_date]),
        ),
        migrations.AlterField(
            model_name='review',
            name='due_on',
            field=models.DateField(validators=[ropa.core.dates.validate_register_date]),
        ),
    ]
