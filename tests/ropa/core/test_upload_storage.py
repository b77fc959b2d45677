"""
The import store on Django's storage API (issue #15, finding 9): the storage
``STORAGES["imports"]`` as the settings build it from the environment, and
both admin imports through a storage that is not a folder of this machine.

A preview and its confirmation may reach two app servers that share only the
database and this storage. ``InMemoryStorage`` stands in for such a shared
storage here (tests/test_two_servers.py runs two real servers); S3 itself
cannot be reached from the tests, so the S3 backend runs against botocore's
``Stubber``, which answers in S3's place and checks every call.
"""

import datetime
import os
import runpy
import stat
import tempfile
import uuid
from io import BytesIO, StringIO
from pathlib import Path

import pytest
from botocore.stub import Stubber
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import InMemoryStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from storages.backends.s3 import S3Storage

from ropa.core import uploads
from ropa.exchange import layout
from ropa.exchange.admin_import import SESSION_KEY
from ropa.exchange.export import export_register
from ropa.models import ProcessingActivity
from subjects.models import DataSubjectCategory
from tests.admin_pages import confirm_import_data, form_data
from tests.factories import ProcessingActivityFactory
from tests.ropa.exchange.test_imports import edit

REPO_ROOT = Path(__file__).resolve().parents[3]
SETTINGS_FILE = REPO_ROOT / "config" / "settings.py"
UPLOAD = "0123456789abcdef0123456789abcdef"
BUCKET, PREFIX = "register-uploads", "ropa/imports"
IN_MEMORY = {"BACKEND": "django.core.files.storage.InMemoryStorage"}
S3_ENVIRONMENT = {
    "ROPA_IMPORT_STORAGE": "s3",
    "ROPA_IMPORT_S3_BUCKET": BUCKET,
    "ROPA_IMPORT_S3_PREFIX": PREFIX,
    "ROPA_IMPORT_S3_ENDPOINT_URL": "https://s3.example.net",
    "ROPA_IMPORT_S3_REGION": "eu-north-1",
    "ROPA_IMPORT_S3_ADDRESSING_STYLE": "path",
    "ROPA_IMPORT_S3_ACCESS_KEY_ID": "the-access-key",
    "ROPA_IMPORT_S3_SECRET_ACCESS_KEY": "the-secret-key",
    "ROPA_IMPORT_S3_SERVER_SIDE_ENCRYPTION": "aws:kms",
    "ROPA_IMPORT_S3_KMS_KEY_ID": "the-kms-key",
}


def settings_from(monkeypatch, **environment):
    """``config/settings.py`` read afresh, with only ``environment`` of ours."""
    for name in list(os.environ):
        if name.startswith("ROPA_IMPORT_"):
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


@pytest.fixture(autouse=True)
def local_folders(settings, tmp_path, monkeypatch):
    """This machine's folders: the upload folder and the temporary folder."""
    settings.ROPA_IMPORT_UPLOAD_DIR = str(tmp_path / "uploads")
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return tmp_path


def files_in(folder):
    return sorted(path for path in folder.rglob("*") if path.is_file())


# ---------------------------------------------------------------------------
# The settings
# ---------------------------------------------------------------------------


def test_default_store_is_a_private_folder_of_the_application(monkeypatch):
    built = settings_from(monkeypatch)

    assert built["STORAGES"]["imports"] == {
        "BACKEND": "ropa.core.uploads.ImportUploadStorage"
    }
    folder = Path(built["ROPA_IMPORT_UPLOAD_DIR"])
    assert folder == REPO_ROOT / "var" / uploads.FOLDER_NAME
    # Not a shared temporary folder, and never committed.
    assert not folder.is_relative_to(tempfile.gettempdir())
    assert "/var/" in (REPO_ROOT / ".gitignore").read_text().splitlines()


def test_an_empty_upload_folder_setting_means_the_default(monkeypatch):
    # As .env.example leaves it.
    built = settings_from(monkeypatch, ROPA_IMPORT_UPLOAD_DIR="")

    assert built["ROPA_IMPORT_UPLOAD_DIR"] == str(
        REPO_ROOT / "var" / uploads.FOLDER_NAME
    )


def test_s3_settings_build_the_storage_from_the_environment(monkeypatch):
    built = settings_from(monkeypatch, **S3_ENVIRONMENT)

    config = built["STORAGES"]["imports"]
    assert config["BACKEND"] == "storages.backends.s3.S3Storage"
    storage = S3Storage(**config["OPTIONS"])
    assert storage.bucket_name == BUCKET
    assert storage.location == PREFIX
    assert storage.endpoint_url == "https://s3.example.net"
    assert storage.region_name == "eu-north-1"
    assert storage.addressing_style == "path"
    assert storage.access_key == "the-access-key"
    assert storage.secret_key == "the-secret-key"
    assert storage.object_parameters == {
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": "the-kms-key",
    }
    assert storage.default_acl is None
    assert storage.file_overwrite is False


def test_s3_settings_leave_unset_options_to_boto3(monkeypatch):
    built = settings_from(
        monkeypatch, ROPA_IMPORT_STORAGE="s3", ROPA_IMPORT_S3_BUCKET=BUCKET
    )

    options = built["STORAGES"]["imports"]["OPTIONS"]
    assert options["location"] == "ropa-imports"
    assert options["object_parameters"] == {}
    for name in ("endpoint_url", "region_name", "access_key", "secret_key"):
        assert options[name] is None


def test_s3_settings_need_a_bucket(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="ROPA_IMPORT_S3_BUCKET"):
        settings_from(monkeypatch, ROPA_IMPORT_STORAGE="s3")


def test_an_unknown_storage_is_refused(monkeypatch):
    with pytest.raises(ImproperlyConfigured) as refused:
        settings_from(monkeypatch, ROPA_IMPORT_STORAGE="nfs")

    assert str(refused.value) == (
        "ROPA_IMPORT_STORAGE is 'nfs': set it to 'filesystem' (the default) or 's3'."
    )


def test_test_settings_keep_the_imports_storage(settings):
    assert settings.STORAGES["imports"]["BACKEND"] == (
        "ropa.core.uploads.ImportUploadStorage"
    )
    assert isinstance(uploads.upload_storage(), uploads.ImportUploadStorage)


# ---------------------------------------------------------------------------
# Both imports through a storage shared by app servers
# ---------------------------------------------------------------------------


@pytest.fixture
def shared_storage(settings):
    """A storage no folder of this machine holds, as object storage."""
    settings.STORAGES = {**settings.STORAGES, "imports": IN_MEMORY}
    storage = uploads.upload_storage()
    assert isinstance(storage, InMemoryStorage)
    return storage


def stored(storage):
    return sorted(storage.listdir("")[1])


@pytest.fixture
def workbook(db, tmp_path):
    """Our export of a one-activity register, its business function edited."""
    ProcessingActivityFactory(reference="PA-0001", business_function="Sales")
    path = tmp_path / "register.xlsx"
    with path.open("wb") as out:
        export_register(fmt="xlsx", out=out)
    edit(
        path,
        layout.ACTIVITIES.name,
        {("PA-0001", "Business function"): "Customer care"},
    )
    return path


@pytest.mark.django_db
def test_register_import_waits_in_the_shared_storage_only(
    dpo_client, workbook, shared_storage, local_folders
):
    url = reverse("admin:ropa_processingactivity_import_register")
    data = form_data(dpo_client.get(url), form_id="import-register-form", submit=None)
    data["file"] = SimpleUploadedFile(workbook.name, workbook.read_bytes())
    before = files_in(local_folders)

    preview = dpo_client.post(url, data)

    name = dpo_client.session[SESSION_KEY]["upload"]
    assert stored(shared_storage) == [name]
    # Nothing of it on this server's disks: another server could not see it.
    assert files_in(local_folders) == before

    confirm = form_data(preview, form_id="import-confirm-form", submit="confirm")
    dpo_client.post(
        reverse("admin:ropa_processingactivity_import_register_confirm"), confirm
    )

    activity = ProcessingActivity.objects.get(reference="PA-0001")
    assert activity.business_function == "Customer care"
    assert stored(shared_storage) == []
    # The copy the workbook reader needed is gone too.
    assert files_in(local_folders) == before


@pytest.mark.django_db
def test_list_import_waits_in_the_shared_storage_only(
    dpo_client, shared_storage, local_folders
):
    url = reverse("admin:subjects_datasubjectcategory_import")
    data = form_data(dpo_client.get(url), containing="import_file", submit=None)
    data["format"] = "0"  # CSV
    data["import_file"] = SimpleUploadedFile(
        "categories.csv", "name\r\nVisitors from Malmö\r\n".encode()
    )
    before = files_in(local_folders)

    preview = dpo_client.post(url, data)

    confirmation = confirm_import_data(preview)
    assert stored(shared_storage) == [confirmation["import_file_name"]]
    assert files_in(local_folders) == before

    dpo_client.post(
        reverse("admin:subjects_datasubjectcategory_process_import"), confirmation
    )

    assert DataSubjectCategory.objects.filter(name="Visitors from Malmö").exists()
    assert stored(shared_storage) == []


def test_list_import_reads_text_as_a_text_file_would(shared_storage):
    storage = uploads.ImportFileStorage(read_mode="r", encoding="utf-8-sig")
    storage.save("\ufeffname\r\nVisitors\r\n".encode())

    assert storage.read() == "name\nVisitors\n"
    assert uploads.ImportFileStorage(name=storage.name, read_mode="rb").read() == (
        "\ufeffname\r\nVisitors\r\n".encode()
    )


def test_local_copy_of_a_shared_upload_is_private_and_removed(shared_storage):
    name = uploads.save_upload(b"PK personal data")

    with uploads.local_upload(name) as path:
        assert path.read_bytes() == b"PK personal data"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.parent == Path(tempfile.gettempdir())

    assert not path.exists()
    assert stored(shared_storage) == [name]


@pytest.mark.parametrize("name", [None, "../secret", UPLOAD])
def test_a_name_the_shared_storage_does_not_hold_reads_as_expired(shared_storage, name):
    with uploads.local_upload(name) as path:
        assert path is None
    with pytest.raises(uploads.ImportFileExpired):
        uploads.ImportFileStorage(name=name).read()


def test_purge_goes_through_the_shared_storage(shared_storage):
    fresh = uploads.save_upload(b"waiting for its confirmation")
    shared_storage.save("notes.txt", BytesIO(b"not an upload"))

    assert uploads.purge() == 0
    assert stored(shared_storage) == sorted([fresh, "notes.txt"])

    assert uploads.purge(datetime.timedelta(0)) == 1
    assert stored(shared_storage) == ["notes.txt"]


def test_clear_import_files_names_the_shared_storage(shared_storage):
    out = StringIO()
    call_command("clear_import_files", stdout=out)

    assert out.getvalue() == (
        "Removed 0 import file(s) older than 60 minutes from "
        "the 'imports' storage (InMemoryStorage).\n"
    )


# ---------------------------------------------------------------------------
# The S3 backend, with botocore's Stubber in S3's place
# ---------------------------------------------------------------------------


@pytest.fixture
def s3(settings, monkeypatch):
    """The S3 storage the settings build, its client answered by a Stubber."""
    built = settings_from(monkeypatch, **S3_ENVIRONMENT)
    settings.STORAGES = {**settings.STORAGES, "imports": built["STORAGES"]["imports"]}
    storage = uploads.upload_storage()
    assert isinstance(storage, S3Storage)
    client = storage.connection.meta.client
    with Stubber(client) as stubber:
        yield storage, client, stubber
        stubber.assert_no_pending_responses()


def listing(*keys, prefix=f"{PREFIX}/"):
    """What S3 answers when asked for the keys under the store's prefix."""
    return (
        "list_objects",
        {"Contents": [{"Key": f"{prefix}{key}"} for key in keys]},
        {"Bucket": BUCKET, "Delimiter": "/", "Prefix": prefix},
    )


def test_s3_upload_is_written_under_the_prefix_encrypted(s3, monkeypatch):
    _, client, stubber = s3
    monkeypatch.setattr(uploads, "uuid4", lambda: uuid.UUID(UPLOAD))
    sent = []
    client.meta.events.register(
        "before-parameter-build.s3.PutObject",
        lambda params, **kwargs: sent.append(dict(params)),
    )
    stubber.add_response(*listing())
    stubber.add_client_error(
        "head_object",
        http_status_code=404,
        expected_params={"Bucket": BUCKET, "Key": f"{PREFIX}/{UPLOAD}"},
    )
    stubber.add_response("put_object", {})

    assert uploads.save_upload(b"personal data") == UPLOAD

    (put,) = sent
    assert put["Bucket"] == BUCKET
    assert put["Key"] == f"{PREFIX}/{UPLOAD}"
    assert put["ServerSideEncryption"] == "aws:kms"
    assert put["SSEKMSKeyId"] == "the-kms-key"
    assert "ACL" not in put


def test_s3_purge_removes_old_uploads_only(s3):
    _, _, stubber = s3
    now = datetime.datetime.now(datetime.UTC)
    old, fresh, gone = "a" * 32, "b" * 32, "c" * 32
    stubber.add_response(*listing(old, fresh, "notes.txt", gone))
    for name, modified in ((old, now - datetime.timedelta(hours=3)), (fresh, now)):
        key = {"Bucket": BUCKET, "Key": f"{PREFIX}/{name}"}
        stubber.add_response("head_object", {"LastModified": modified}, key)
        if name == old:
            stubber.add_response("delete_object", {}, key)
    # Removed by another server between the listing and the look at it.
    for _ in range(2):
        stubber.add_client_error(
            "head_object",
            http_status_code=404,
            expected_params={"Bucket": BUCKET, "Key": f"{PREFIX}/{gone}"},
        )

    assert uploads.purge() == 1


def test_s3_a_missing_upload_reads_as_expired(s3):
    _, _, stubber = s3
    stubber.add_client_error(
        "head_object",
        http_status_code=404,
        expected_params={"Bucket": BUCKET, "Key": f"{PREFIX}/{UPLOAD}"},
    )

    with pytest.raises(uploads.ImportFileExpired):
        uploads.ImportFileStorage(name=UPLOAD).read()


def test_s3_store_is_named_by_bucket_and_prefix(s3):
    assert uploads.describe_storage() == f"s3://{BUCKET}/{PREFIX}"
