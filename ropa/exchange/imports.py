"""
Importing a register: our own XLSX export, and a filled UK ICO controller template.

An import runs in three steps, and writes nothing until the last one:

``read_workbook``
    Opens the file, refusing one that cannot hold a register (not an XLSX
    workbook, damaged, empty, over ``ROPA_IMPORT_MAX_BYTES``, a sheet of more
    rows than ``ROPA_IMPORT_MAX_ROWS``, more cells than
    ``ROPA_IMPORT_MAX_CELLS``: ``ropa.core.rows``) with an
    ``ImportFileError`` that says why. A cell holding a formula is read as
    the value the file saved for it; a formula saved without one (by a
    program that does not calculate) is an ``Uncalculated`` cell, which the
    plan refuses where it reads it, never an empty cell.
``plan_import``
    Validates every row into an ``ImportPlan``: per row, whether it is new,
    changed, unchanged or invalid, the fields that change, and every error
    with its sheet, its row number as the spreadsheet shows it, its column
    and the reason. Our own export is read here (``plan_register``); the ICO
    template in ``ropa.exchange.ico``.
``apply_plan``
    Writes a plan that has no error, in one transaction, every change in the
    history with the importing user and the reason "Imported from <file
    name>". Rows are validated as ``full_clean()`` does and written in
    batches, with simple-history's ``bulk_*_with_history`` and a copy of the
    links for each history row, as a ``save()`` would leave them; a batch
    with anything amiss (a row invalid, saved since the plan, or refused by
    the database) is rolled back and written row by row with ``full_clean()``
    and ``save()``, which name the row at fault. Unchanged rows are not
    saved. One bad row and nothing is written.

Our own export (``ropa.exchange.layout``) is read as a person leaves it after
editing it in a spreadsheet: a choice from its label as the cell shows it (or
its code; the labels the file was written with, on its hidden ``For the
import`` sheet, are read too, should a label have been reworded since), text
without the whitespace around it (``ropa.core.cells``). A workbook exported
before that sheet existed put an apostrophe before formula-like text, which
is removed from it.

Our own export is keyed: activities by their
Reference, child rows by their sheet's natural key. An activity on the
Activities sheet is created or updated; its lawful bases, transfers and
retention rules become exactly the rows of the child sheets (rows no longer
in the file are deleted, with history; the preview lists them, and
``manage.py import_register`` deletes only with ``--allow-deletes``). A child
sheet without rows deletes nothing: it is taken as not in the file.
Activities absent from the file are left alone. Organisations, categories,
recipients, security measures, processor agreements and joint arrangements
are named, never created: an unknown name is an error. The Controller,
Processors and Joint arrangements sheets are for readers; they are edited in
the admin.

A file never overwrites a change made after it was exported (no lost
updates, as in the admin: ``ropa.core.versioning``). Every row carries the
``Version`` of its record as exported; a row that would change a record
saved since is an error naming who changed it, when and what. So is a child
row missing from the file that was added or changed after the export
(``Exported at`` in the header block), and an exported row whose record was
deleted after it. A stale row that would change nothing is simply unchanged.
A record saved between the plan and its writing aborts the import.
"""

from ropa.core.progress import no_progress
from ropa.exchange.apply import apply_plan
from ropa.exchange.ico import plan_ico_template
from ropa.exchange.ours import plan_register
from ropa.exchange.plan import ICO, OURS
from ropa.exchange.workbook import read_workbook


def plan_import(path, *, file_name, format=OURS, controller=None, progress=None):
    """
    The plan for importing the workbook at ``path``; nothing is written.

    ``file_name`` is the name the user knows the file by (an upload's name);
    ``controller`` is the organisation responsible for the activities of an
    ICO template; ``progress`` makes progress bars for reading the file and
    checking the rows of our own export. Raises ``ImportFileError`` when the
    file cannot be imported at all; row errors are in the plan.
    """
    with (progress or no_progress)(1, "Reading") as bar:
        # Drawn before the file is read, the one step done once it is.
        bar.advance(0)
        tables = read_workbook(path, file_name=file_name)
        bar.advance()
    if format == OURS:
        return plan_register(tables, file_name=file_name, progress=progress)
    if format == ICO:
        return plan_ico_template(tables, file_name=file_name, controller=controller)
    raise ValueError(f"Unknown import format {format!r}.")


def import_register(
    path, *, file_name, format=OURS, controller=None, user=None, dry_run=False
):
    """Plan the import of ``path`` and, unless a dry run or invalid, apply it."""
    plan = plan_import(path, file_name=file_name, format=format, controller=controller)
    if not dry_run and not plan.has_errors:
        apply_plan(plan, user=user)
    return plan
