"""
Where an uploaded import file waits between the preview and the confirmation.

Both admin imports read the file twice: once for the preview, once when the
user confirms, and behind a load balancer the two requests may reach two app
servers. The register import (``ropa.exchange.admin_import``) and the
per-list imports (django-import-export, through ``ImportFileStorage``) keep
the file in between in the storage ``STORAGES["imports"]``, under a name
given here: by default ``ImportUploadStorage``, a private folder of the
application's own (``ROPA_IMPORT_UPLOAD_DIR``); where several app servers
share the work, an S3-compatible bucket they all reach (``ROPA_IMPORT_STORAGE
= "s3"``, see the settings). The file holds personal data: it is removed as
soon as no confirmation can follow, and once abandoned at the preview, by
``purge()`` after ``MAX_AGE``: on every upload, on every request to the
register import's pages, and from ``manage.py clear_import_files`` (hourly,
from cron).
"""

import contextlib
import datetime
import io
import os
import re
import stat
import tempfile
import time
from pathlib import Path
from uuid import uuid4

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from import_export.tmp_storages import BaseStorage

#: The storage of ``settings.STORAGES`` that waiting files are kept in.
STORAGE_ALIAS = "imports"
#: How long a previewed file waits for its confirmation.
MAX_AGE = datetime.timedelta(hours=1)

#: The default folder's name (in ``var/`` beside ``manage.py``), and the name
#: of the folder in the system's temporary folder that held the uploads before.
FOLDER_NAME = "ropa-imports"
#: The names ``save_upload`` gives. A name comes back from a session or a
#: form; one that is not of this shape is never looked up in the storage.
UPLOAD_NAME = re.compile(r"[0-9a-f]{32}")

#: What the register import named its uploads before both imports shared
#: this store. Files of that name are purged as abandoned uploads.
LEGACY_NAME = re.compile(r"import-[a-z0-9_]+\.xlsx")
#: The folders of the system's temporary folder that earlier versions kept
#: uploads in by default (both imports', then the register import's own).
#: Files left there by a version before this one are purged as abandoned
#: uploads; remove once no deployment has any.
LEGACY_FOLDER_NAMES = (FOLDER_NAME, "ropa-register-imports")

UNSAFE_FOLDER = (
    "Import uploads (personal data) cannot wait in {folder}: {problem}. "
    "Make it a folder of this user's own that no other user may open "
    "(chmod 700 {folder}), or set ROPA_IMPORT_UPLOAD_DIR to such a folder."
)
IS_A_LINK = "it is a link, not a folder"
NOT_A_FOLDER = "it is not a folder"
OTHER_OWNER = "it belongs to another user than the one the server runs as"
OPEN_TO_OTHERS = "its mode is {mode:03o}, which lets other users in"
NO_FOLDER = "no folder is set"


class ImportFileExpired(Exception):
    """The file of a previewed import is gone: it must be uploaded again."""


def upload_storage():
    """The storage waiting files are kept in: ``STORAGES["imports"]``."""
    return storages[STORAGE_ALIAS]


def folder():
    """
    ``ROPA_IMPORT_UPLOAD_DIR``: where ``ImportUploadStorage`` keeps waiting
    files unless given another location (the tests read it; the code asks the
    storage, which may be another).
    """
    return Path(settings.ROPA_IMPORT_UPLOAD_DIR)


def describe_storage():
    """Where waiting files are, as an operator looks for them."""
    storage = upload_storage()
    if isinstance(storage, FileSystemStorage):
        return storage.location
    bucket = getattr(storage, "bucket_name", None)
    if bucket:
        return f"s3://{bucket}/{getattr(storage, 'location', '')}".rstrip("/")
    return f"the {STORAGE_ALIAS!r} storage ({type(storage).__name__})"


def _folder_problem(path):
    """Why ``path`` may not hold uploads, or "" when it is private to us."""
    status = path.lstat()
    if stat.S_ISLNK(status.st_mode):
        return IS_A_LINK
    if not stat.S_ISDIR(status.st_mode):
        return NOT_A_FOLDER
    if status.st_uid != os.getuid():
        return OTHER_OWNER
    if status.st_mode & 0o077:
        return OPEN_TO_OTHERS.format(mode=stat.S_IMODE(status.st_mode))
    return ""


def check_private_folder(path):
    """
    Refuse ``path`` unless it is a folder (not a link to one) of this user's
    own with mode 0700; a folder not there yet passes.

    In a folder another user owns or may open (one made beforehand in a
    shared temporary folder, mode 0777), or behind a link someone planted,
    someone else could read, replace or plant the files, or have the purge
    delete theirs. The folder is refused, not repaired: whoever made it so
    may already have been in it.
    """
    try:
        problem = _folder_problem(path)
    except (FileNotFoundError, NotADirectoryError):
        return
    if problem:
        raise ImproperlyConfigured(UNSAFE_FOLDER.format(folder=path, problem=problem))


def check_upload_folder(app_configs=None, **kwargs):
    """
    A system check: the folder of the waiting files is private, or can be
    made so, before the server takes its first upload (Django runs it at
    ``runserver``, ``migrate`` and ``check``, so a deployment learns of a bad
    folder when it starts, not from a DPO's failed import).
    """
    storage = upload_storage()
    if not isinstance(storage, ImportUploadStorage):
        return []
    path = Path(storage.location)
    try:
        check_private_folder(path)
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="ropa.E001")]
    if not path.exists():
        parent = next(p for p in path.parents if p.exists())
        if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
            return [
                checks.Error(
                    UNSAFE_FOLDER.format(
                        folder=path, problem=f"it cannot be created in {parent}"
                    ),
                    id="ropa.E002",
                )
            ]
    return []


@deconstructible(path="ropa.core.uploads.ImportUploadStorage")
class ImportUploadStorage(FileSystemStorage):
    """
    A FileSystemStorage in a private folder: ``ROPA_IMPORT_UPLOAD_DIR`` unless
    ``location`` is given, created with mode 0700 and checked by
    ``check_private_folder`` at every use; files are written with mode 0600
    (by ``save()`` only), read as bytes, and never through a link.
    """

    def __init__(
        self,
        location=None,
        file_permissions_mode=0o600,
        directory_permissions_mode=0o700,
        **kwargs,
    ):
        super().__init__(
            location=location,
            file_permissions_mode=file_permissions_mode,
            directory_permissions_mode=directory_permissions_mode,
            **kwargs,
        )

    # Read from the settings each time rather than cached as Django's are:
    # the folder follows ROPA_IMPORT_UPLOAD_DIR, as tests override it.
    @property
    def base_location(self):
        location = self._value_or_setting(
            self._location, settings.ROPA_IMPORT_UPLOAD_DIR
        )
        if not location:
            raise ImproperlyConfigured(
                UNSAFE_FOLDER.format(folder="''", problem=NO_FOLDER)
            )
        return location

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    def path(self, name):
        # Every file operation of FileSystemStorage goes through here.
        check_private_folder(Path(self.location))
        return super().path(name)

    def _save(self, name, content):
        Path(self.location).mkdir(mode=0o700, parents=True, exist_ok=True)
        return super()._save(name, content)

    def _open(self, name, mode="rb"):
        if mode != "rb":
            raise ValueError(f"Waiting import files are read as bytes, not {mode!r}.")
        # O_NOFOLLOW: a link put in a file's place is not followed.
        descriptor = os.open(self.path(name), os.O_RDONLY | os.O_NOFOLLOW)
        return File(os.fdopen(descriptor, "rb"))


def is_upload_name(name):
    """Whether ``name`` is of the shape ``save_upload`` gives."""
    return isinstance(name, str) and UPLOAD_NAME.fullmatch(name) is not None


def save_upload(content):
    """
    Store ``content`` (bytes, text, or a Django ``File`` such as an uploaded
    file) as a new waiting file; return its name.

    The name, never a path, is what a session or a form may keep. Abandoned
    files are purged first.
    """
    purge()
    if not isinstance(content, File):
        content = ContentFile(content)
    name = uuid4().hex
    saved = upload_storage().save(name, content)
    if saved != name:
        # The storage renamed it (a name already taken): not one of ours.
        upload_storage().delete(saved)
        raise ImproperlyConfigured(
            f"The {STORAGE_ALIAS!r} storage stored an upload as {saved!r}, "
            f"not {name!r}: it must keep the names it is given."
        )
    return name


def upload_exists(name):
    """Whether a waiting file is called ``name``."""
    return is_upload_name(name) and upload_storage().exists(name)


@contextlib.contextmanager
def open_upload(name):
    """
    The waiting file called ``name``, open for reading in binary, as the
    storage streams it; ``ImportFileExpired`` when there is none.
    """
    if not is_upload_name(name):
        raise ImportFileExpired(name)
    storage = upload_storage()
    try:
        file = storage.open(name, "rb")
    except FileNotFoundError:
        raise ImportFileExpired(name) from None
    except OSError:
        # On the filesystem: a link or a folder in the file's place.
        if isinstance(storage, FileSystemStorage):
            raise ImportFileExpired(name) from None
        raise
    with file:
        yield file


@contextlib.contextmanager
def local_upload(name):
    """
    A path to the waiting file called ``name``, for a reader that needs one
    (the register's workbook reader); None when there is no such file.

    In a storage on this machine, the file itself, if it is a regular file.
    Elsewhere (object storage), a copy streamed from ``storage.open()`` into
    a private temporary file (mode 0600, where Django keeps large uploads:
    ``FILE_UPLOAD_TEMP_DIR``), deleted when the block ends.
    """
    storage = upload_storage()
    if isinstance(storage, FileSystemStorage):
        path = Path(storage.path(name)) if is_upload_name(name) else None
        try:
            regular = path is not None and stat.S_ISREG(path.lstat().st_mode)
        except FileNotFoundError:
            regular = False
        yield path if regular else None
        return
    with contextlib.ExitStack() as stack:
        try:
            source = stack.enter_context(open_upload(name))
        except ImportFileExpired:
            source = None
        if source is None:
            yield None
            return
        copy = stack.enter_context(
            tempfile.NamedTemporaryFile(
                dir=settings.FILE_UPLOAD_TEMP_DIR, prefix="ropa-import-"
            )
        )
        for chunk in source.chunks():
            copy.write(chunk)
        copy.flush()
        yield Path(copy.name)


def discard_upload(name):
    """Delete a waiting file; a name that is not one is ignored."""
    if is_upload_name(name):
        upload_storage().delete(name)


def _is_purgeable(name):
    """Whether ``name`` is an upload's, this version's or a former one's."""
    return is_upload_name(name) or LEGACY_NAME.fullmatch(name) is not None


def purge(max_age=MAX_AGE):
    """
    Remove the waiting files older than ``max_age``; return how many.

    Only files named as ``save_upload`` names them, or as the register import
    named them before (``LEGACY_NAME``): anything else is not an upload, and
    is left alone. Files earlier versions left in their default folders
    (``LEGACY_FOLDER_NAMES``) go too.
    """
    storage = upload_storage()
    cutoff = timezone.now() - max_age
    try:
        _, names = storage.listdir("")
    except FileNotFoundError:
        names = []
    removed = 0
    for name in names:
        if not _is_purgeable(name):
            continue
        modified = _modified_time(storage, name)
        if modified is not None and modified <= cutoff:
            storage.delete(name)
            removed += 1
    return removed + _purge_legacy_folders(max_age)


def _modified_time(storage, name):
    """
    When the file ``name`` was last written, or None when it is gone: another
    request, or another server, may remove it meanwhile. Object storages
    report that with errors of their own (botocore's ``ClientError``).
    """
    try:
        return storage.get_modified_time(name)
    except FileNotFoundError:
        return None
    except Exception:
        if not storage.exists(name):
            return None
        raise


def _purge_legacy_folders(max_age):
    """
    Remove what earlier versions left in the system's temporary folder.

    Before this store, uploads waited there by default, where they would
    stay once this version no longer looks: the folders of this user's own
    (that no other user may write in) are emptied of uploads older than
    ``max_age``, and removed once empty.
    """
    cutoff = time.time() - max_age.total_seconds()
    removed = 0
    current = _current_folder()
    for folder_name in LEGACY_FOLDER_NAMES:
        legacy = Path(tempfile.gettempdir()) / folder_name
        if legacy == current or not _is_ours(legacy):
            continue
        removed += _remove_older(legacy, cutoff)
        with contextlib.suppress(OSError):
            legacy.rmdir()
    return removed


def _current_folder():
    """This version's folder, when the storage is one on this machine."""
    storage = upload_storage()
    return Path(storage.location) if isinstance(storage, FileSystemStorage) else None


def _is_ours(path):
    """
    Whether ``path`` is a folder (not a link to one) of this user's own that
    no other user may write in: another user's is not ours to empty.
    """
    try:
        status = path.lstat()
    except FileNotFoundError:
        return False
    return (
        stat.S_ISDIR(status.st_mode)
        and status.st_uid == os.getuid()
        and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def _remove_older(path, cutoff):
    removed = 0
    for file in path.iterdir():
        if not _is_purgeable(file.name):
            continue
        with contextlib.suppress(FileNotFoundError):
            status = file.lstat()
            if stat.S_ISREG(status.st_mode) and status.st_mtime <= cutoff:
                file.unlink()
                removed += 1
    return removed


class ImportFileStorage(BaseStorage):
    """A django-import-export temporary storage on the waiting files above."""

    def save(self, data):
        self.name = save_upload(data)

    def read(self):
        with open_upload(self.name) as file:
            data = file.read()
        if "b" in self.read_mode:
            return data
        # As open() in text mode would read it: universal newlines.
        return io.TextIOWrapper(io.BytesIO(data), encoding=self.encoding).read()

    def remove(self):
        # The name comes back from the browser in the confirmation form.
        if not is_upload_name(self.name):
            raise ImportFileExpired(self.name)
        discard_upload(self.name)
