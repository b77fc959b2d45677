"""
Planning the import of our own export (``ropa.exchange.layout``): its shape,
its header block, the activities and their child sheets, keyed by reference
and natural key.
"""

from collections import defaultdict

from ropa.core.cells import REQUIRED
from ropa.core.progress import no_progress
from ropa.core.rows import DELETED, NEW
from ropa.exchange import layout
from ropa.exchange.columns import REFERENCE, VERSION
from ropa.exchange.layout import (
    ACTIVITIES,
    CHILD_SHEETS,
    IMPORTED_SHEETS,
    REFERENCE_SHEETS,
)
from ropa.exchange.plan import CHILD, OURS, REMOVAL, Delete, ImportPlan, RowPlan, Save
from ropa.exchange.reading import Lookups, heading_text, read_key
from ropa.exchange.since_export import (
    SinceExport,
    key_part,
    read_version,
    refuse_stale,
    stored_key,
)
from ropa.exchange.validation import (
    ConstraintChecks,
    assign,
    read_row,
    shown,
    validation_errors,
)
from ropa.exchange.workbook import ImportFileError, Table
from ropa.models import (
    ProcessingActivity,
)

MISSING_SHEETS = (
    "'{file_name}' lacks the sheets {names}: is it a register exported from "
    "here? To migrate a filled ICO template, choose the ICO format."
)
MISSING_COLUMNS = "Sheet '{sheet}' lacks the columns {names} in row {row}."
NO_ROWS = "Sheet '{sheet}' has no rows below its column headers: nothing to import."
AS_OF_MISSING = (
    "The '{sheet}' sheet has no '{label}' line in its header block: "
    "'{file_name}' is not a register exported by this application."
)
AS_OF_REFUSED = (
    "'{file_name}' is the register as it stood on {as_of}, rebuilt from "
    "history. A historical snapshot cannot be imported: it would undo every "
    "change made since. Export the current register and edit that."
)
UNKNOWN_COLUMN = (
    "Sheet '{sheet}': column '{column}' is not part of the register; ignored."
)
READ_ONLY_COLUMNS = (
    "The columns {names} of the '{sheet}' sheet are summaries written for "
    "readers: they are not imported."
)
NOT_IMPORTED_SHEETS = (
    "The sheets {names} are not imported: edit organisations, processor "
    "agreements, joint arrangements, categories and recipients in the admin."
)
NO_VERSION_COLUMN = (
    "This file has no '{column}' column (sheets {names}): export the register "
    "again and redo the edit in the new file. Without the version of each "
    "record as exported, a change made since could be overwritten."
)
EXPORTED_AT_MISSING = (
    "The '{sheet}' sheet has no readable '{label}' line: "
    "export the register again and redo the edit in the new file."
)
EMPTY_CHILD_SHEET = (
    "Sheet '{sheet}' has no rows below its column headers: the {records} of "
    "the activities in this file are left as they are. A sheet without rows "
    "deletes nothing; delete {records} in the admin."
)


def _find_table(tables, name):
    if name in tables:
        return tables[name]
    folded = {
        table_name.strip().casefold(): table for table_name, table in tables.items()
    }
    return folded.get(name.casefold())


def _header_map(table):
    """Column header -> position, read from the sheet's first row."""
    if not table.rows or table.rows[0][0] != 1:
        return {}
    headers = {}
    for position, value in enumerate(table.rows[0][1]):
        text = heading_text(value).strip()
        if text and text not in headers:
            headers[text] = position
    return headers


def _cells(values, headers):
    return {
        header: values[position] if position < len(values) else None
        for header, position in headers.items()
    }


def _header_block(table):
    """The Controller sheet's header block: each label, folded, to its value."""
    block = {}
    for row_number, values in table.rows:
        if row_number >= layout.CONTROLLER_HEADER_ROW:
            break
        if values:
            label = heading_text(values[0]).strip().casefold()
            value = heading_text(values[1] if len(values) > 1 else None).strip()
            block.setdefault(label, value)
    return block


def _check_as_of(block, table, file_name):
    label = layout.HEADER_BLOCK[2]
    as_of = block.get(label.casefold())
    if as_of is None:
        raise ImportFileError(
            AS_OF_MISSING.format(sheet=table.name, label=label, file_name=file_name)
        )
    if as_of.casefold() != layout.CURRENT:
        raise ImportFileError(
            AS_OF_REFUSED.format(file_name=file_name, as_of=as_of or "?")
        )


def _exported_at(block, table):
    label = layout.HEADER_BLOCK[3]
    moment = layout.read_exported_at(block.get(label.casefold(), ""))
    if moment is None:
        raise ImportFileError(EXPORTED_AT_MISSING.format(sheet=table.name, label=label))
    return moment


def _for_the_import(table):
    """
    The exact moment of the export, and the labels the file was written with
    as {TextChoices: {folded label: code}}, from its For the import sheet.
    """
    moment, labels = None, defaultdict(dict)
    choices_of = {
        (sheet.name.casefold(), column.casefold()): choices
        for sheet in layout.SHEETS
        for column, choices in sheet.choices
    }
    for row_number, values in table.rows:
        texts = [heading_text(value).strip() for value in values[:4]]
        texts += [""] * (4 - len(texts))
        if row_number < layout.CODES_HEADER_ROW:
            if texts[0].casefold() == layout.EXPORTED_AT.casefold():
                moment = layout.read_exported_at(texts[1])
            continue
        if row_number == layout.CODES_HEADER_ROW:
            continue
        sheet, column, code, label = texts
        choices = choices_of.get((sheet.casefold(), column.casefold()))
        # A code no longer among the choices names nothing.
        if choices is not None and code in choices.values and label:
            labels[choices].setdefault(label.casefold(), code)
    if moment is None:
        raise ImportFileError(
            EXPORTED_AT_MISSING.format(sheet=table.name, label=layout.EXPORTED_AT)
        )
    return moment, dict(labels)


def _without_apostrophes(tables):
    """
    The tables of a workbook exported before the For the import sheet, with
    the apostrophe its export put before formula-like text removed.
    """
    return {
        name: Table(
            table.name,
            [
                (number, tuple(layout.from_cell(value) for value in values))
                for number, values in table.rows
            ],
        )
        for name, table in tables.items()
    }


def _check_shape(tables, file_name):
    """
    Refuse the file unless every imported sheet and column is there, the
    columns added since it may have been exported (``Sheet.optional``) aside.

    Returns the column positions of each imported sheet, notes for the
    report, and the Controller sheet's header block.
    """
    required = (layout.CONTROLLER, *IMPORTED_SHEETS)
    missing = [
        sheet.name for sheet in required if _find_table(tables, sheet.name) is None
    ]
    if missing:
        raise ImportFileError(
            MISSING_SHEETS.format(
                file_name=file_name, names=", ".join(f"'{name}'" for name in missing)
            )
        )
    controller = _find_table(tables, layout.CONTROLLER.name)
    block = _header_block(controller)
    _check_as_of(block, controller, file_name)
    problems, notes, headers, unversioned = [], [], {}, []
    for sheet in IMPORTED_SHEETS:
        table = _find_table(tables, sheet.name)
        found = _header_map(table)
        wanted = [column for column in sheet.headers if column not in sheet.read_only]
        absent = [
            column
            for column in wanted
            if column not in found
            and column not in sheet.checked
            and column not in sheet.optional
        ]
        if any(column not in found for column in sheet.checked):
            unversioned.append(sheet.name)
        if absent:
            problems.append(
                MISSING_COLUMNS.format(
                    sheet=sheet.name,
                    names=", ".join(f"'{name}'" for name in absent),
                    row=1,
                )
            )
        notes.extend(
            UNKNOWN_COLUMN.format(sheet=sheet.name, column=column)
            for column in found
            if column not in sheet.headers
        )
        headers[sheet.name] = {
            column: position for column, position in found.items() if column in wanted
        }
    if problems:
        raise ImportFileError(" ".join(problems))
    if len(_find_table(tables, layout.ACTIVITIES.name).rows) < 2:
        raise ImportFileError(NO_ROWS.format(sheet=layout.ACTIVITIES.name))
    if unversioned:
        raise ImportFileError(
            NO_VERSION_COLUMN.format(
                column=VERSION, names=", ".join(f"'{name}'" for name in unversioned)
            )
        )
    return headers, notes, block


def plan_register(tables, *, file_name, progress=None):
    """
    The plan for a workbook exported by this application.

    ``progress`` makes a progress bar (``ropa.core.progress.progress_bars``),
    advanced by each row checked.
    """
    for_the_import = _find_table(tables, layout.FOR_THE_IMPORT.name)
    if for_the_import is None:
        tables = _without_apostrophes(tables)
    headers, notes, block = _check_shape(tables, file_name)
    if for_the_import is None:
        exported_at = _exported_at(block, _find_table(tables, layout.CONTROLLER.name))
        file_labels = {}
    else:
        exported_at, file_labels = _for_the_import(for_the_import)
    plan = ImportPlan(
        file_name=file_name,
        format=OURS,
        groups=tuple(sheet.name for sheet in IMPORTED_SHEETS),
        notes=[
            *notes,
            READ_ONLY_COLUMNS.format(
                names=", ".join(f"'{name}'" for name in layout.ACTIVITIES.read_only),
                sheet=layout.ACTIVITIES.name,
            ),
            NOT_IMPORTED_SHEETS.format(
                names=", ".join(f"'{sheet.name}'" for sheet in REFERENCE_SHEETS)
            ),
        ],
    )
    lookups, checks = Lookups(file_labels), ConstraintChecks()
    rows = sum(
        len(_data_rows(_find_table(tables, sheet.name))) for sheet in IMPORTED_SHEETS
    )
    with (progress or no_progress)(rows, "Checking") as bar:
        activities = _plan_activities(
            plan,
            _find_table(tables, layout.ACTIVITIES.name),
            headers[layout.ACTIVITIES.name],
            lookups,
            exported_at,
            checks=checks,
            bar=bar,
        )
        for child in CHILD_SHEETS:
            _plan_children(
                plan,
                child,
                _find_table(tables, child.name),
                headers[child.name],
                activities,
                lookups,
                exported_at,
                checks=checks,
                bar=bar,
            )
    return plan


def _data_rows(table):
    return [(number, values) for number, values in table.rows if number > 1]


def _plan_activities(plan, table, headers, lookups, exported_at, *, checks, bar):
    """Plan each activity row; return reference -> (instance, Save or None)."""
    sheet = layout.ACTIVITIES.name
    rows = _data_rows(table)
    references = [
        read_key(_cells(values, headers).get(REFERENCE), lookups) for _, values in rows
    ]
    existing = {
        activity.reference: activity
        for activity in ProcessingActivity.objects.filter(
            reference__in=[reference for reference in references if reference]
        ).select_related(*ACTIVITIES.related)
    }
    stored_links = _stored_links(
        ProcessingActivity, existing.values(), ACTIVITIES.imported
    )
    since_export = SinceExport(
        ProcessingActivity,
        exported_at,
        ("reference",),
        reference__in=[
            reference
            for reference in references
            if reference and reference not in existing
        ],
    )
    activities, seen_references, seen_names = {}, {}, {}
    for (row_number, values), reference in zip(rows, references, strict=True):
        bar.advance()
        plan_row = RowPlan(sheet, sheet, row_number, reference)
        plan.rows.append(plan_row)
        cells = _cells(values, headers)
        if not reference:
            plan_row.error(REFERENCE, REQUIRED)
            read_row(plan_row, ACTIVITIES.imported, cells, lookups)
            continue
        if reference in seen_references:
            plan_row.error(
                REFERENCE, f"'{reference}' is also on row {seen_references[reference]}."
            )
            continue
        seen_references[reference] = row_number
        values_by_field = read_row(plan_row, ACTIVITIES.imported, cells, lookups)
        seen_version = read_version(plan_row, cells, lookups)
        name = values_by_field.get("name", "")
        if name in seen_names:
            plan_row.error(
                "Name", f"'{name}' is also the name on row {seen_names[name]}."
            )
        elif name:
            seen_names[name] = row_number
        instance = existing.get(reference)
        new = instance is None
        if new:
            instance = ProcessingActivity(reference=reference)
            plan_row.action = NEW
            if seen_version is not None:
                since_export.refuse_revival(plan_row, (reference,))
        changes, links = assign(
            instance,
            ACTIVITIES.imported,
            values_by_field,
            lookups,
            new=new,
            stored_links=stored_links.get(instance.pk),
        )
        plan_row.changes = changes
        stale = (
            bool(changes) and not new and refuse_stale(plan_row, instance, seen_version)
        )
        if (new or changes) and not stale:
            _require_links(plan_row, instance, values_by_field)
            _report_validation(
                plan_row, instance, ACTIVITIES.imported, values_by_field, checks=checks
            )
        save = Save(instance, links=links)
        plan_row.settle(save)
        activities[reference] = (instance, save if new else None)
    return activities


def _stored_links(model, instances, columns):
    """
    Instance pk -> field -> the rows it links to, for the many-to-many
    columns: what ``prefetch_related()`` gives, in the same order (the linked
    model's), from one query per link table and one per linked table, and
    with one object per linked row rather than one per link.
    """
    ids = [instance.pk for instance in instances]
    stored = {pk: {} for pk in ids}
    for column in columns:
        if not column.many:
            continue
        link_field = model._meta.get_field(column.field)
        linked = {
            row.pk: row for row in link_field.related_model._default_manager.all()
        }
        for links in stored.values():
            links[column.field] = []
        source = f"{link_field.m2m_field_name()}_id"
        target = f"{link_field.m2m_reverse_field_name()}_id"
        pairs = (
            link_field.remote_field.through._default_manager.filter(
                **{f"{source}__in": ids}
            )
            .order_by()
            .values_list(source, target)
        )
        for pk, target_pk in pairs:
            links = stored[pk]
            if target_pk not in linked:
                # Linked since the rows were read: assign() reads the field.
                links.pop(column.field, None)
            elif column.field in links:
                links[column.field].append(linked[target_pk])
        position = {pk: index for index, pk in enumerate(linked)}
        for links in stored.values():
            if column.field in links:
                links[column.field].sort(key=lambda row: position[row.pk])
    return stored


def _require_links(plan_row, instance, values):
    """The many-to-many fields the admin form requires must name a row."""
    for column in ACTIVITIES.imported:
        required = column.many and not instance._meta.get_field(column.field).blank
        if required and values.get(column.field) == []:
            plan_row.error(column.header, f"{REQUIRED} Name at least one.")


def _report_validation(plan_row, instance, columns, values, exclude=(), checks=None):
    """
    Report what ``full_clean()`` finds. Only rows that are written are
    validated: a row the file leaves as it is cannot fail the import.
    """
    unread = {column.field for column in columns if column.field not in values}
    for column, reason in validation_errors(
        instance, columns, exclude=set(exclude) | unread, checks=checks
    ):
        plan_row.error(column, reason)


def _plan_children(
    plan, child, table, headers, activities, lookups, exported_at, *, checks, bar
):
    """
    Plan one child sheet: its rows replace the rows of each activity named.
    A sheet without rows is taken as not in the file: it deletes nothing.
    """
    sheet = child.name
    rows = _data_rows(table)
    if not rows:
        plan.notes.append(
            EMPTY_CHILD_SHEET.format(
                sheet=sheet, records=child.model._meta.verbose_name_plural
            )
        )
        return
    stored = {
        reference: instance
        for reference, (instance, parent) in activities.items()
        if parent is None
    }
    by_id = {activity.pk: activity for activity in stored.values()}
    existing = defaultdict(dict)
    for instance in child.model.objects.filter(
        activity_id__in=list(by_id)
    ).select_related(*child.related):
        # The activity already read, rather than a copy of it per row.
        instance.activity = by_id[instance.activity_id]
        key = stored_key(instance, child.model, child.key_fields)
        existing[instance.activity.reference][key] = instance
    since_export = SinceExport(
        child.model,
        exported_at,
        child.key_fields,
        activity_id__in=[activity.pk for activity in stored.values()],
    )
    key_headers = [_header_of(child, name) for name in child.key_fields]
    seen = {}
    # Activities with a row whose key could not be read: which of their rows
    # that row stands for is unknown, so none of them is taken as deleted.
    unkeyed = set()
    for row_number, values in rows:
        bar.advance()
        cells = _cells(values, headers)
        reference = read_key(cells.get(REFERENCE), lookups)
        plan_row = RowPlan(sheet, sheet, row_number, reference, phase=CHILD)
        plan.rows.append(plan_row)
        values_by_field = read_row(plan_row, child.imported, cells, lookups)
        seen_version = read_version(plan_row, cells, lookups)
        # A row refused before it is matched is invalid, not unchanged.
        if not reference:
            plan_row.error(REFERENCE, REQUIRED)
            plan_row.settle(None)
            continue
        if reference not in activities:
            plan_row.error(
                REFERENCE,
                f"No activity '{reference}' on the '{layout.ACTIVITIES.name}' sheet: "
                "child rows are imported with their activity.",
            )
            plan_row.settle(None)
            continue
        if any(name not in values_by_field for name in child.key_fields):
            unkeyed.add(reference)
            plan_row.settle(None)
            continue
        key = tuple(key_part(values_by_field[name]) for name in child.key_fields)
        plan_row.key = " / ".join(
            [reference, *(shown(values_by_field[name]) for name in child.key_fields)]
        )
        if (reference, key) in seen:
            plan_row.error(
                " / ".join([REFERENCE, *key_headers]),
                f"The same row as row {seen[reference, key]}.",
            )
            plan_row.settle(None)
            continue
        seen[reference, key] = row_number
        activity, parent = activities[reference]
        instance = existing[reference].pop(key, None)
        new = instance is None
        if new:
            instance = child.model(activity=activity if parent is None else None)
            plan_row.action = NEW
            if parent is None and seen_version is not None:
                since_export.refuse_revival(plan_row, key, activity.pk)
        plan_row.changes, _ = assign(
            instance, child.imported, values_by_field, lookups, new=new
        )
        stale = (
            bool(plan_row.changes)
            and not new
            and refuse_stale(plan_row, instance, seen_version)
        )
        if (new or plan_row.changes) and not stale:
            _report_validation(
                plan_row,
                instance,
                child.imported,
                values_by_field,
                exclude=("activity",) if parent is not None else (),
                checks=checks,
            )
        plan_row.settle(Save(instance, parent=parent))
    for reference, remaining in existing.items():
        if reference in unkeyed:
            continue
        for instance in remaining.values():
            plan_row = RowPlan(
                sheet,
                sheet,
                None,
                " / ".join(
                    [
                        reference,
                        *(shown(getattr(instance, name)) for name in child.key_fields),
                    ]
                ),
                action=DELETED,
                phase=REMOVAL,
            )
            plan.rows.append(plan_row)
            since_export.refuse_deletion(plan_row, instance)
            plan_row.settle(Delete(instance))


def _header_of(child, name):
    return next(column.header for column in child.imported if column.field == name)
