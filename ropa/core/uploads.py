"""
Where an uploaded import file waits between the preview and the confirmation.

The admin's import reads the file twice: once for the preview, once when the
user confirms. In between, the file (personal data) sits on disk. The
library's default storage leaves it in the system temp folder for good when
the user walks away from the preview. This storage keeps such files in one
private folder, removes them as soon as no confirmation can follow, and
purges those older than ``MAX_AGE`` on every upload and from
``manage.py clear_import_files``.
"""

import datetime
import os
import re
import tempfile
import time
from pathlib import Path
from uuid import uuid4

from import_export.tmp_storages import BaseStorage

#: How long a previewed file waits for its confirmation.
MAX_AGE = datetime.timedelta(hours=1)

FOLDER_NAME = "ropa-imports"
_NAME = re.compile(r"^[0-9a-f]{32}$")


class ImportFileExpired(Exception):
    """The file of a previewed import is gone: it must be uploaded again."""


def folder():
    """The private folder of waiting import files."""
    return Path(tempfile.gettempdir()) / FOLDER_NAME


def purge(max_age=MAX_AGE):
    """Remove the waiting files older than ``max_age``; return how many."""
    if not folder().is_dir():
        return 0
    cutoff = time.time() - max_age.total_seconds()
    removed = 0
    for path in folder().iterdir():
        if path.is_file() and path.stat().st_mtime <= cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


class ImportFileStorage(BaseStorage):
    """A django-import-export temporary storage that cleans up after itself."""

    def save(self, data):
        purge()
        folder().mkdir(mode=0o700, exist_ok=True)
        self.name = uuid4().hex
        # Readable by this process's user only: the file holds personal data.
        descriptor = os.open(self._path(), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)

    def read(self):
        try:
            with open(self._path(), self.read_mode, encoding=self.encoding) as file:
                return file.read()
        except FileNotFoundError:
            raise ImportFileExpired(self.name) from None

    def remove(self):
        self._path().unlink(missing_ok=True)

    def _path(self):
        # The name comes back from the browser in the confirmation form.
        if not self.name or not _NAME.match(self.name):
            raise ImportFileExpired(self.name)
        return folder() / self.name
