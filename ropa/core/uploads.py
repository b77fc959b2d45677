"""
Where an uploaded import file waits between the preview and the confirmation.

Both admin imports read the file twice: once for the preview, once when the
user confirms. The register import (``ropa.exchange.admin_import``) and the
per-list imports (django-import-export, through ``ImportFileStorage``) keep
the file in between in one private folder, ``folder()``, under a name given
here. The file holds personal data: it is removed as soon as no confirmation
can follow, and once abandoned at the preview, by ``purge()`` after
``MAX_AGE``: on every upload, on every request to the register import's
pages, and from ``manage.py clear_import_files`` (hourly, from cron).
"""

import contextlib
import datetime
import os
import re
import stat
import tempfile
import time
from pathlib import Path
from uuid import uuid4

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from import_export.tmp_storages import BaseStorage

#: How long a previewed file waits for its confirmation.
MAX_AGE = datetime.timedelta(hours=1)

#: The folder's name in the system's temporary folder, unless configured.
FOLDER_NAME = "ropa-imports"
#: The names ``save_upload`` gives. A name comes back from a session or a
#: form; one that is not of this shape is never turned into a path.
UPLOAD_NAME = re.compile(r"[0-9a-f]{32}")

#: What the register import named its uploads, and where it kept them by
#: default, before both imports shared this store. Files left there by that
#: version are purged as abandoned uploads; remove once no deployment has any.
LEGACY_NAME = re.compile(r"import-[a-z0-9_]+\.xlsx")
LEGACY_FOLDER_NAME = "ropa-register-imports"

UNSAFE_FOLDER = (
    "Import uploads (personal data) cannot wait in {folder}: it is a link, not "
    "a folder, or owned by another user than this one, or others may write "
    "in it. Set ROPA_IMPORT_UPLOAD_DIR to a folder of this user's own that "
    "only this user may write in."
)


class ImportFileExpired(Exception):
    """The file of a previewed import is gone: it must be uploaded again."""


def folder():
    """
    The folder of waiting import files.

    ``ROPA_IMPORT_UPLOAD_DIR`` when set, else a folder of the system's
    temporary folder; used for nothing else.
    """
    configured = settings.ROPA_IMPORT_UPLOAD_DIR
    return Path(configured) if configured else Path(tempfile.gettempdir()) / FOLDER_NAME


def _is_private(path):
    """
    Whether ``path`` is a folder (not a link to one) of this user's own that
    no other user may write in.
    """
    status = path.lstat()
    return (
        stat.S_ISDIR(status.st_mode)
        and status.st_uid == os.getuid()
        and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def _private_folder(*, create=False):
    """
    ``folder()``, refused unless it is this user's own and no other user can
    write in it.

    In a folder another user owns or may write in (a shared temporary
    folder), or behind a link someone else planted, someone else could read,
    replace or plant the files, or have the purge delete theirs.
    """
    path = folder()
    if create:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not _is_private(path):
        raise ImproperlyConfigured(UNSAFE_FOLDER.format(folder=path))
    return path


def is_upload_name(name):
    """Whether ``name`` is of the shape ``save_upload`` gives."""
    return isinstance(name, str) and UPLOAD_NAME.fullmatch(name) is not None


def save_upload(chunks):
    """
    Write ``chunks`` (bytes) to a new waiting file; return its name.

    The name, never a path, is what a session or a form may keep;
    ``upload_path`` turns it back into a path only if it is one of these
    files. Abandoned files are purged first.
    """
    purge()
    name = uuid4().hex
    path = _private_folder(create=True) / name
    # Readable by this process's user only: the file holds personal data.
    # O_EXCL and O_NOFOLLOW: never write through a file or link already there.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    descriptor = os.open(path, flags, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            for chunk in chunks:
                file.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return name


def upload_path(name):
    """The path of the waiting file called ``name``, or None."""
    if not is_upload_name(name) or not folder().is_dir():
        return None
    path = _private_folder() / name
    try:
        regular = stat.S_ISREG(path.lstat().st_mode)
    except FileNotFoundError:
        return None
    return path if regular else None


def discard_upload(name):
    """Delete a waiting file; a name that is not one is ignored."""
    path = upload_path(name)
    if path is not None:
        path.unlink(missing_ok=True)


def purge(max_age=MAX_AGE):
    """
    Remove the waiting files older than ``max_age``; return how many.

    Only files named as ``save_upload`` names them, or as the register import
    named them before (``LEGACY_NAME``, here and in its former default
    folder): anything else is not an upload, and is left alone.
    """
    cutoff = time.time() - max_age.total_seconds()
    removed = 0
    if folder().is_dir():
        removed += _remove_older(_private_folder(), cutoff)
    legacy = Path(tempfile.gettempdir()) / LEGACY_FOLDER_NAME
    # Only a folder of this user's own: another user's is not ours to empty.
    with contextlib.suppress(FileNotFoundError):
        if legacy != folder() and _is_private(legacy):
            removed += _remove_older(legacy, cutoff)
            with contextlib.suppress(OSError):
                legacy.rmdir()
    return removed


def _remove_older(path, cutoff):
    removed = 0
    for file in path.iterdir():
        if not (is_upload_name(file.name) or LEGACY_NAME.fullmatch(file.name)):
            continue
        # Another request may remove the same file meanwhile.
        with contextlib.suppress(FileNotFoundError):
            status = file.lstat()
            if stat.S_ISREG(status.st_mode) and status.st_mtime <= cutoff:
                file.unlink()
                removed += 1
    return removed


class ImportFileStorage(BaseStorage):
    """A django-import-export temporary storage on the waiting files above."""

    def save(self, data):
        self.name = save_upload([data])

    def read(self):
        path = upload_path(self.name)
        if path is None:
            raise ImportFileExpired(self.name)
        try:
            # O_NOFOLLOW: a link put in the file's place is not followed.
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            raise ImportFileExpired(self.name) from None
        with os.fdopen(descriptor, self.read_mode, encoding=self.encoding) as file:
            return file.read()

    def remove(self):
        # The name comes back from the browser in the confirmation form.
        if not is_upload_name(self.name):
            raise ImportFileExpired(self.name)
        discard_upload(self.name)
