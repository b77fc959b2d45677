from django.db import migrations

# The admin's activity search is ``icontains`` on these columns, which Django
# writes as UPPER(column::text) LIKE UPPER(...). Without statistics on those
# expressions PostgreSQL guesses that a search matches almost nothing, and on
# a large register plans the page of results as a scan and sort of every
# match instead of reading the list's order until the page is full.
SEARCHED = ('reference', 'name', 'purpose')
TABLE = 'ropa_processingactivity'


def _name(column):
    return f'{TABLE}_search_{column}'


def create_statistics(apps, schema_editor):
    if schema_editor.connection.vendor != 'postgresql':
        return
    for column in SEARCHED:
        schema_editor.execute(
            f'CREATE STATISTICS IF NOT EXISTS {_name(column)}'
            f' ON (UPPER({column}::text)) FROM {TABLE}'
        )
    # Gathered now, not at the next autovacuum.
    schema_editor.execute(f'ANALYZE {TABLE}')


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor != 'postgresql':
        return
    for column in SEARCHED:
        schema_editor.execute(f'DROP STATISTICS IF EXISTS {_name(column)}')


class Migration(migrations.Migration):

    dependencies = [
        ('ropa', '0006_stored_completeness'),
    ]

    operations = [
        migrations.RunPython(create_statistics, drop_statistics),
    ]
