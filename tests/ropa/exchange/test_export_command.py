import datetime
import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from ropa.exchange import layout
from tests.factories import GroupCompanyFactory, ProcessingActivityFactory
from tests.ropa.core.test_progress import Terminal
from tests.ropa.exchange.test_exports import read_xlsx, read_zip, records

pytestmark = pytest.mark.django_db


def _export(*args, **options):
    out, err = io.StringIO(), io.StringIO()
    call_command("export_register", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def _binary_stdout():
    """A standard output that, like the real one, takes bytes through .buffer."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8")


def test_export_register_writes_xlsx_to_the_default_file_here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ProcessingActivityFactory.create_batch(2)
    out, _ = _export()
    name = f"ropa-register-all-{timezone.localdate().isoformat()}.xlsx"
    assert (tmp_path / name).is_file()
    assert out.strip() == (
        "Exported the register of all controllers as it stands (xlsx): "
        "Activities 2, Lawful bases 2, Transfers 0, Retention rules 2, "
        f"Processors 0, Joint arrangements 0. Written to {name}."
    )
    sheets = read_xlsx((tmp_path / name).read_bytes())
    assert len(records(sheets["Activities"], layout.ACTIVITIES)) == 2


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"fmt": "csv"}, "ropa-register-acme-ab-{today}.zip"),
        ({"fmt": "ico"}, "ropa-register-acme-ab-{today}-ico.xlsx"),
        (
            {"as_of": "2024-01-31"},
            "ropa-register-acme-ab-as-of-2024-01-31.xlsx",
        ),
    ],
)
def test_export_register_default_file_name(tmp_path, monkeypatch, options, name):
    monkeypatch.chdir(tmp_path)
    GroupCompanyFactory(name="Acme AB")
    _export(controller="acme-ab", **options)
    expected = name.format(today=timezone.localdate().isoformat())
    assert [path.name for path in tmp_path.iterdir()] == [expected]


def test_export_register_writes_a_csv_zip_to_the_given_path(tmp_path):
    ProcessingActivityFactory(reference="PA-0007")
    path = tmp_path / "register.zip"
    out, _ = _export(fmt="csv", output=str(path))
    archive = read_zip(path.read_bytes())
    assert [
        row["Reference"]
        for row in records(archive["activities.csv"], layout.ACTIVITIES)
    ] == ["PA-0007"]
    assert out.strip().endswith(f"Written to {path}.")


@pytest.mark.parametrize(
    ("fmt", "reader"), [("csv", read_zip), ("xlsx", read_xlsx), ("ico", read_xlsx)]
)
def test_export_register_to_stdout_writes_the_file_bytes(fmt, reader):
    activity = ProcessingActivityFactory()
    controller = activity.organisations.get()
    stdout, stderr = _binary_stdout(), io.StringIO()
    call_command(
        "export_register",
        fmt=fmt,
        controller=controller.slug,
        output="-",
        stdout=stdout,
        stderr=stderr,
    )
    assert reader(stdout.buffer.getvalue())
    # The summary keeps out of the data.
    assert stderr.getvalue().startswith(f"Exported the register of {controller.name}")


def test_export_register_asks_for_the_controller_of_a_regulators_layout(tmp_path):
    path = tmp_path / "ico.xlsx"
    with pytest.raises(CommandError, match="documents one organisation"):
        _export(fmt="ico", output=str(path))
    assert list(tmp_path.iterdir()) == []


def test_export_register_to_stdout_refuses_a_text_only_stream():
    with pytest.raises(CommandError, match="does not accept binary data"):
        _export(output="-")


def test_export_register_to_stdout_refuses_a_terminal(monkeypatch):
    stdout = _binary_stdout()
    monkeypatch.setattr(stdout, "isatty", lambda: True)
    with pytest.raises(
        CommandError, match="Refusing to write a binary file to a terminal"
    ):
        call_command("export_register", output="-", stdout=stdout)


def test_export_register_for_one_controller(tmp_path):
    mine = GroupCompanyFactory(name="Mine AB")
    ProcessingActivityFactory(reference="PA-0001", organisations=[mine])
    ProcessingActivityFactory(reference="PA-0002")
    path = tmp_path / "mine.xlsx"
    out, _ = _export(controller="mine-ab", output=str(path))
    rows = records(read_xlsx(path.read_bytes())["Activities"], layout.ACTIVITIES)
    assert [row["Reference"] for row in rows] == ["PA-0001"]
    assert out.startswith(
        "Exported the register of Mine AB as it stands (xlsx): Activities 1,"
    )


def test_export_register_as_of_a_date(tmp_path):
    ProcessingActivityFactory()
    path = tmp_path / "then.xlsx"
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    out, _ = _export(as_of=yesterday.isoformat(), output=str(path))
    # Created today: not in the register as it stood yesterday.
    rows = records(read_xlsx(path.read_bytes())["Activities"], layout.ACTIVITIES)
    assert rows == []
    assert f"as of {yesterday.isoformat()}" in out


def test_export_register_unknown_controller_lists_the_valid_slugs():
    GroupCompanyFactory(name="Beta AB")
    GroupCompanyFactory(name="Alpha AB")
    with pytest.raises(CommandError) as error:
        _export(controller="nope")
    assert str(error.value) == (
        "No organisation with the slug 'nope'. Valid slugs: alpha-ab, beta-ab."
    )


def test_export_register_unknown_controller_in_an_empty_register():
    with pytest.raises(
        CommandError, match="none \\(the register has no organisations\\)"
    ):
        _export(controller="nope")


@pytest.mark.parametrize(
    "text", ["2024-13-01", "yesterday", "2024-1-1", "20240101", "2024-02-30"]
)
def test_export_register_refuses_a_bad_date(text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CommandError) as error:
        _export(as_of=text)
    assert str(error.value) == (
        f"--as-of '{text}' is not a date: use YYYY-MM-DD, e.g. 2024-12-31."
    )
    assert list(tmp_path.iterdir()) == []


def test_export_register_refuses_a_future_date(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    with pytest.raises(CommandError, match=f"--as-of {tomorrow} is in the future"):
        _export(as_of=tomorrow)
    assert list(tmp_path.iterdir()) == []


def test_export_register_refuses_an_unknown_format():
    with pytest.raises(CommandError, match="invalid choice: 'odt'"):
        _export("--format", "odt")


def test_export_register_refuses_a_missing_directory(tmp_path):
    path = tmp_path / "missing" / "register.xlsx"
    with pytest.raises(CommandError, match="No directory"):
        _export(output=str(path))


def test_export_register_leaves_no_partial_file_when_it_fails(tmp_path, monkeypatch):
    earlier = tmp_path / "register.xlsx"
    earlier.write_bytes(b"an earlier export")

    def fail(**options):
        options["out"].write(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(
        "ropa.management.commands.export_register.export_register", fail
    )
    with pytest.raises(RuntimeError, match="disk full"):
        _export(output=str(earlier))
    assert [path.name for path in tmp_path.iterdir()] == ["register.xlsx"]
    assert earlier.read_bytes() == b"an earlier export"


def test_export_register_replaces_an_earlier_file(tmp_path):
    ProcessingActivityFactory()
    path = tmp_path / "register.xlsx"
    path.write_bytes(b"an earlier export")
    _export(output=str(path))
    assert read_xlsx(path.read_bytes())["Activities"]
    assert [entry.name for entry in tmp_path.iterdir()] == ["register.xlsx"]


def test_export_register_of_the_sample_register(tmp_path):
    call_command("load_sample_register", stdout=io.StringIO())
    path = tmp_path / "sample.zip"
    out, _ = _export(fmt="csv", output=str(path))
    rows = records(read_zip(path.read_bytes())["activities.csv"], layout.ACTIVITIES)
    assert len(rows) == 26
    assert "Activities 26," in out


def test_export_register_shows_its_progress_on_a_terminal(tmp_path):
    ProcessingActivityFactory.create_batch(3)
    stdout, stderr = io.StringIO(), Terminal()
    call_command(
        "export_register",
        output=str(tmp_path / "register.xlsx"),
        stdout=stdout,
        stderr=stderr,
    )
    assert re.fullmatch(
        r"(\rExporting \[[# ]{30}\] \d/3  (ETA|in) \d:\d\d:\d\d)+\n", stderr.getvalue()
    )
    assert re.search(r"\] 3/3  in \d:\d\d:\d\d\n$", stderr.getvalue())
    assert stdout.getvalue().startswith("Exported the register")


def test_export_register_to_stdout_shows_its_progress_beside_the_file():
    ProcessingActivityFactory.create_batch(2)
    stdout, stderr = _binary_stdout(), Terminal()
    call_command("export_register", output="-", stdout=stdout, stderr=stderr)
    bar, summary = stderr.getvalue().rsplit("\n", 2)[:2]
    assert re.search(r"\] 2/2  in \d:\d\d:\d\d$", bar)
    assert summary.startswith("Exported the register of all controllers")
    assert read_xlsx(stdout.buffer.getvalue())


@pytest.mark.parametrize(
    ("stderr", "verbosity"),
    [
        (io.StringIO(), 1),  # not a terminal: cron, pipes, logs
        (Terminal(), 0),
    ],
)
def test_export_register_progress_stays_out_of_logs(tmp_path, stderr, verbosity):
    ProcessingActivityFactory.create_batch(3)
    call_command(
        "export_register",
        output=str(tmp_path / "register.xlsx"),
        verbosity=verbosity,
        stdout=io.StringIO(),
        stderr=stderr,
    )
    assert stderr.getvalue() == ""
