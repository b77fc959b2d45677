"""
The one store of files waiting between an import's preview and its confirmation,
in its default storage: a private folder of the application's own
(``ROPA_IMPORT_UPLOAD_DIR``). tests/ropa/core/test_upload_storage.py covers
the other storages and the settings.
"""

import datetime
import os
import stat
import subprocess
import sys
import tempfile
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from ropa.core import uploads
from ropa.core.admin_base import IMPORT_FILE_EXPIRED
from ropa.exchange import layout
from ropa.exchange.admin_import import SESSION_KEY, UPLOAD_GONE
from ropa.exchange.export import export_register
from ropa.models import ProcessingActivity
from subjects.models import DataSubjectCategory
from tests.admin_pages import confirm_import_data, form_data
from tests.ropa.exchange.test_imports import edit

pytestmark = pytest.mark.django_db

REGISTER_IMPORT_URL = "admin:ropa_processingactivity_import_register"
REGISTER_CONFIRM_URL = "admin:ropa_processingactivity_import_register_confirm"
LIST_IMPORT_URL = "admin:subjects_datasubjectcategory_import"
LIST_CONFIRM_URL = "admin:subjects_datasubjectcategory_process_import"
CSV = "0"
# Beyond the hour an upload waits for its confirmation.
THREE_HOURS = 3 * 60 * 60
EDITED, CHANGED_FUNCTION = "PA-0003", "Customer care"
# A name of the shape the store gives.
UPLOAD = "0123456789abcdef0123456789abcdef"
# The folders of the system's temporary folder that uploads waited in by
# default before: both imports', and earlier the register import's own.
FORMER_FOLDERS = ("ropa-imports", "ropa-register-imports")
MANAGE = Path(__file__).resolve().parents[3] / "manage.py"


@pytest.fixture(autouse=True)
def server(settings, tmp_path, monkeypatch):
    """The folders of this test's own that the server may write uploads to."""
    root = tmp_path / "server"
    settings.ROPA_IMPORT_UPLOAD_DIR = str(root / "uploads")
    (root / "tmp").mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(root / "tmp"))
    return root


@pytest.fixture
def workbook(sample_register, tmp_path):
    """Our export with one edit, so that its preview waits for a confirmation."""
    path = tmp_path / "register.xlsx"
    with path.open("wb") as out:
        export_register(fmt="xlsx", out=out)
    edit(
        path, layout.ACTIVITIES.name, {(EDITED, "Business function"): CHANGED_FUNCTION}
    )
    return path


def on_disk(server):
    """Every file the server holds in the test's folders."""
    return sorted(path for path in server.rglob("*") if path.is_file())


def age(path, seconds):
    then = time.time() - seconds
    os.utime(path, (then, then))


def clear_import_files(*args):
    out = StringIO()
    call_command("clear_import_files", *args, stdout=out)
    return out.getvalue()


def upload_register(client, path):
    """Choose ``path`` on the register import page and press "Check the file"."""
    page = client.get(reverse(REGISTER_IMPORT_URL))
    data = form_data(page, form_id="import-register-form", submit=None)
    data["file"] = SimpleUploadedFile(path.name, path.read_bytes())
    return client.post(reverse(REGISTER_IMPORT_URL), data)


def confirm_register(client, preview):
    data = form_data(preview, form_id="import-confirm-form", submit="confirm")
    return client.post(reverse(REGISTER_CONFIRM_URL), data, follow=True)


def upload_list(client):
    """Import a new data subject category on its list, as a CSV file."""
    page = client.get(reverse(LIST_IMPORT_URL))
    data = form_data(page, containing="import_file", submit=None)
    data["format"] = CSV
    data["import_file"] = SimpleUploadedFile("categories.csv", b"name\r\nVisitors\r\n")
    return client.post(reverse(LIST_IMPORT_URL), data)


def confirm_list(client, preview):
    return client.post(
        reverse(LIST_CONFIRM_URL), confirm_import_data(preview), follow=True
    )


def business_function():
    return ProcessingActivity.objects.get(reference=EDITED).business_function


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


# ---------------------------------------------------------------------------
# One folder, one naming rule, private files
# ---------------------------------------------------------------------------


def test_register_upload_waits_privately_in_the_one_folder(dpo_client, workbook):
    upload_register(dpo_client, workbook)

    (path,) = on_disk(uploads.folder())
    assert path.name == dpo_client.session[SESSION_KEY]["upload"]
    assert uploads.UPLOAD_NAME.fullmatch(path.name)
    assert path.stat().st_mode & 0o777 == 0o600
    assert uploads.folder().stat().st_mode & 0o777 == 0o700


def test_list_upload_waits_privately_in_the_one_folder(dpo_client):
    preview = upload_list(dpo_client)

    (path,) = on_disk(uploads.folder())
    assert path.name == confirm_import_data(preview)["import_file_name"]
    assert uploads.UPLOAD_NAME.fullmatch(path.name)
    assert path.stat().st_mode & 0o777 == 0o600


def test_folder_is_made_private_with_its_missing_parents(server):
    uploads.save_upload(b"personal data")

    assert stat.S_IMODE(uploads.folder().stat().st_mode) == 0o700
    assert uploads.folder().parent == server


def test_save_refuses_a_folder_every_user_may_write_to(server):
    # Made beforehand, as anyone could in a shared temporary folder.
    uploads.folder().mkdir()
    uploads.folder().chmod(0o777)

    with pytest.raises(ImproperlyConfigured) as refused:
        uploads.save_upload(b"personal data")

    folder = uploads.folder()
    assert str(refused.value) == (
        f"Import uploads (personal data) cannot wait in {folder}: its mode is "
        "777, which lets other users in. Make it a folder of this user's own "
        f"that no other user may open (chmod 700 {folder}), or set "
        "ROPA_IMPORT_UPLOAD_DIR to such a folder."
    )
    assert on_disk(server) == []
    # Refused, not repaired: whoever made it so may have been in it.
    assert stat.S_IMODE(folder.stat().st_mode) == 0o777


@pytest.mark.parametrize("mode", [0o750, 0o755, 0o705, 0o701, 0o710], ids=oct)
def test_save_refuses_a_folder_others_may_read_or_enter(server, mode):
    uploads.folder().mkdir()
    uploads.folder().chmod(mode)

    with pytest.raises(ImproperlyConfigured, match=f"its mode is {mode:03o}"):
        uploads.save_upload(b"personal data")

    assert on_disk(server) == []


def test_save_refuses_a_folder_another_user_owns(server, monkeypatch):
    uploads.folder().mkdir(mode=0o700)
    someone_else = os.getuid() + 1
    monkeypatch.setattr(os, "getuid", lambda: someone_else)

    with pytest.raises(ImproperlyConfigured, match="belongs to another user"):
        uploads.save_upload(b"personal data")

    assert on_disk(server) == []


@pytest.mark.parametrize(
    "name",
    [
        None,
        42,
        "",
        "../outside.xlsx",
        "/etc/passwd",
        f"{UPLOAD}/../outside.xlsx",
        UPLOAD.upper(),
        f"{UPLOAD}.xlsx",
        # The names of the register import's former store.
        "import-abc123.xlsx",
    ],
)
def test_no_file_is_read_for_a_name_the_store_does_not_give(server, name):
    # Each name leads to a file, none of them an upload.
    folder = uploads.folder()
    (folder / UPLOAD).mkdir(parents=True)
    for path in (
        server / "outside.xlsx",
        folder / UPLOAD.upper(),
        folder / f"{UPLOAD}.xlsx",
        folder / "import-abc123.xlsx",
    ):
        path.write_bytes(b"not an upload")

    with uploads.local_upload(name) as path:
        assert path is None
    with pytest.raises(uploads.ImportFileExpired):
        uploads.ImportFileStorage(name=name).read()
    assert not uploads.upload_exists(name)


def test_no_file_is_read_through_a_link_under_an_upload_name(server, tmp_path):
    outside = tmp_path / "outside.xlsx"
    outside.write_bytes(b"not yours")
    uploads.folder().mkdir(mode=0o700)
    (uploads.folder() / UPLOAD).symlink_to(outside)

    with uploads.local_upload(UPLOAD) as path:
        assert path is None
    with pytest.raises(uploads.ImportFileExpired):
        uploads.ImportFileStorage(name=UPLOAD).read()
    clear_import_files("--max-age", "0")
    assert outside.read_bytes() == b"not yours"


def test_storage_refuses_names_it_did_not_give():
    storage = uploads.ImportFileStorage(name="../secret")

    with pytest.raises(uploads.ImportFileExpired):
        storage.read()
    with pytest.raises(uploads.ImportFileExpired):
        storage.remove()


# ---------------------------------------------------------------------------
# One purge: manage.py clear_import_files
# ---------------------------------------------------------------------------


def test_clear_import_files_removes_an_abandoned_register_upload(
    dpo_client, workbook, server
):
    upload_register(dpo_client, workbook)
    (abandoned,) = on_disk(server)
    age(abandoned, THREE_HOURS)

    output = clear_import_files()

    assert on_disk(server) == []
    assert output.startswith("Removed 1 import file(s) older than 60 minutes")


def test_clear_import_files_keeps_a_fresh_register_upload(dpo_client, workbook, server):
    upload_register(dpo_client, workbook)
    waiting = on_disk(server)

    output = clear_import_files()

    assert len(waiting) == 1
    assert on_disk(server) == waiting
    assert output.startswith("Removed 0 import file(s)")


def test_clear_import_files_removes_an_abandoned_list_upload(dpo_client, server):
    upload_list(dpo_client)
    (abandoned,) = on_disk(server)
    age(abandoned, THREE_HOURS)

    output = clear_import_files()

    assert on_disk(server) == []
    assert output.startswith("Removed 1 import file(s)")


def test_clear_import_files_keeps_a_fresh_list_upload(dpo_client, server):
    upload_list(dpo_client)
    waiting = on_disk(server)

    clear_import_files()

    assert len(waiting) == 1
    assert on_disk(server) == waiting


def test_clear_import_files_removes_both_imports_abandoned_uploads(
    dpo_client, workbook, server
):
    upload_register(dpo_client, workbook)
    upload_list(dpo_client)
    for path in on_disk(server):
        age(path, THREE_HOURS)

    output = clear_import_files()

    assert on_disk(server) == []
    assert output.startswith("Removed 2 import file(s)")


def test_clear_import_files_leaves_what_is_not_an_upload(server):
    folder = uploads.folder()
    folder.mkdir(mode=0o700)
    others = [folder / "notes.txt", folder / f"{UPLOAD}.xlsx"]
    for path in others:
        path.write_bytes(b"not an upload")
        age(path, THREE_HOURS)
    (folder / UPLOAD).mkdir()

    output = clear_import_files("--max-age", "0")

    assert on_disk(server) == sorted(others)
    assert (folder / UPLOAD).is_dir()
    assert output.startswith("Removed 0 import file(s)")


@pytest.mark.parametrize("left_name", ["import-k2j4_x9.xlsx", UPLOAD])
@pytest.mark.parametrize("where", [None, *FORMER_FOLDERS])
def test_clear_import_files_removes_what_former_versions_left(server, where, left_name):
    # Before both imports shared one store, the register import named its
    # uploads "import-<random>.xlsx", by default in a folder of its own; then
    # both imports kept theirs in the system's temporary folder by default.
    folder = uploads.folder() if where is None else Path(tempfile.gettempdir()) / where
    folder.mkdir(mode=0o755)
    left = folder / left_name
    left.write_bytes(b"personal data")
    age(left, THREE_HOURS)
    fresh = folder / "import-a8b7.xlsx"
    fresh.write_bytes(b"personal data")
    folder.chmod(0o700)

    output = clear_import_files()

    assert on_disk(server) == [fresh]
    assert output.startswith("Removed 1 import file(s)")


@pytest.mark.parametrize("where", FORMER_FOLDERS)
def test_clear_import_files_removes_an_emptied_former_folder(server, where):
    folder = Path(tempfile.gettempdir()) / where
    folder.mkdir(mode=0o755)
    left = folder / UPLOAD
    left.write_bytes(b"personal data")
    age(left, THREE_HOURS)

    clear_import_files()

    assert not folder.exists()


@pytest.mark.parametrize("where", FORMER_FOLDERS)
def test_clear_import_files_leaves_a_former_folder_others_may_write_in(server, where):
    # Not ours to empty: another user may have made it, or planted files in it.
    folder = Path(tempfile.gettempdir()) / where
    folder.mkdir()
    folder.chmod(0o777)
    planted = folder / UPLOAD
    planted.write_bytes(b"someone else's file")
    age(planted, THREE_HOURS)

    output = clear_import_files()

    assert planted.exists()
    assert output.startswith("Removed 0 import file(s)")


@pytest.mark.parametrize("mode", [0o770, 0o730, 0o777, 0o750], ids=oct)
def test_clear_import_files_refuses_a_folder_others_may_write_in(server, mode):
    uploads.folder().mkdir()
    uploads.folder().chmod(mode)

    with pytest.raises(CommandError, match=f"its mode is {mode:03o}"):
        clear_import_files()


def test_uploads_never_wait_behind_a_link(server, dpo_client):
    # A link planted where the folder should be, to a folder this user owns.
    elsewhere = server / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    victim = elsewhere / UPLOAD
    victim.write_bytes(b"someone else's file")
    age(victim, THREE_HOURS)
    uploads.folder().parent.mkdir(parents=True, exist_ok=True)
    uploads.folder().symlink_to(elsewhere, target_is_directory=True)

    with pytest.raises(CommandError, match="it is a link, not a folder"):
        clear_import_files()
    with pytest.raises(ImproperlyConfigured, match="it is a link, not a folder"):
        uploads.save_upload(b"personal data")
    assert victim.exists()
    assert [path.name for path in elsewhere.iterdir()] == [UPLOAD]


def test_clear_import_files_with_no_age_removes_every_upload(
    dpo_client, workbook, server
):
    upload_register(dpo_client, workbook)
    upload_list(dpo_client)

    clear_import_files("--max-age", "0")

    assert on_disk(server) == []


def test_clear_import_files_without_a_folder_has_nothing_to_do(server):
    output = clear_import_files()

    assert output == (
        f"Removed 0 import file(s) older than 60 minutes from {uploads.folder()}.\n"
    )
    assert not uploads.folder().exists()


def test_clear_import_files_refuses_a_negative_age():
    with pytest.raises(CommandError, match="cannot be negative"):
        clear_import_files("--max-age", "-1")


def test_clear_import_files_refuses_a_folder_every_user_may_write_to(server):
    uploads.folder().mkdir()
    uploads.folder().chmod(0o777)
    stranger = uploads.folder() / UPLOAD
    stranger.write_bytes(b"planted")
    age(stranger, THREE_HOURS)

    with pytest.raises(CommandError, match="ROPA_IMPORT_UPLOAD_DIR"):
        clear_import_files()


def test_purge_counts_nothing_without_a_folder():
    assert uploads.purge(datetime.timedelta(0)) == 0


# ---------------------------------------------------------------------------
# The confirmation of a purged upload
# ---------------------------------------------------------------------------


def test_register_confirmation_after_the_purge_asks_for_the_file_again(
    dpo_client, workbook
):
    preview = upload_register(dpo_client, workbook)
    # Purged, not expired: the page's own sweep would remove an old file.
    clear_import_files("--max-age", "0")

    response = confirm_register(dpo_client, preview)

    assert UPLOAD_GONE in messages_of(response)
    assert business_function() != CHANGED_FUNCTION


def test_list_confirmation_after_the_purge_asks_for_the_file_again(dpo_client, server):
    preview = upload_list(dpo_client)
    clear_import_files("--max-age", "0")

    response = confirm_list(dpo_client, preview)

    assert IMPORT_FILE_EXPIRED in messages_of(response)
    assert not DataSubjectCategory.objects.filter(name="Visitors").exists()


def test_the_system_check_reports_an_unsafe_folder_when_the_server_starts(server):
    uploads.folder().mkdir()
    uploads.folder().chmod(0o777)

    checked = subprocess_check(server)

    assert checked.returncode == 1
    assert "(ropa.E001) Import uploads (personal data) cannot wait in" in (
        checked.stderr
    )
    assert "its mode is 777" in checked.stderr


def test_the_system_check_reports_a_folder_that_cannot_be_made(server):
    # A file where the folder's parent should be: no user can make it there.
    taken = server / "taken"
    taken.write_text("not a folder")

    checked = subprocess_check(server, folder=taken / "uploads")

    assert checked.returncode == 1
    assert "(ropa.E002)" in checked.stderr
    assert f"it cannot be created in {taken}" in checked.stderr


def test_the_system_check_passes_a_private_folder_and_one_not_made_yet(server):
    assert subprocess_check(server).returncode == 0
    uploads.folder().mkdir(mode=0o700)
    assert subprocess_check(server).returncode == 0


def subprocess_check(server, folder=None):
    """``manage.py check`` as an operator runs it, on this test's folder."""
    environ = {
        **os.environ,
        "ROPA_IMPORT_UPLOAD_DIR": str(folder or uploads.folder()),
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
    }
    return subprocess.run(  # noqa: S603 - the project's own manage.py
        [sys.executable, str(MANAGE), "check"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
