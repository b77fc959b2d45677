"""Register uploads waiting between the preview and the confirmation."""

import contextlib
import datetime
import os
import re
import tempfile
import time
from pathlib import Path

from django.conf import settings

from ropa.exchange.workbook import check_size

UPLOAD_PREFIX = "import-"
UPLOAD_SUFFIX = ".xlsx"
# The names tempfile.mkstemp gives: the prefix, random letters, the suffix.
UPLOAD_NAME = re.compile(rf"{UPLOAD_PREFIX}[a-z0-9_]+\{UPLOAD_SUFFIX}")
STALE_AFTER = datetime.timedelta(hours=1)


def upload_dir():
    """
    The directory uploads wait in, used for nothing else.

    ``ROPA_IMPORT_UPLOAD_DIR`` when set, else a directory of the system's
    temporary directory; readable by this process's user only.
    """
    configured = getattr(settings, "ROPA_IMPORT_UPLOAD_DIR", "")
    directory = Path(
        configured or Path(tempfile.gettempdir()) / "ropa-register-imports"
    )
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def save_upload(upload):
    """
    Write an uploaded file to ``upload_dir()``; return its name there.

    The name, never a path, is what a session may keep; ``upload_path``
    turns it back into a path only if it is one of these uploads.
    """
    check_size(upload.size, upload.name)
    descriptor, path = tempfile.mkstemp(
        prefix=UPLOAD_PREFIX, suffix=UPLOAD_SUFFIX, dir=upload_dir()
    )
    try:
        with os.fdopen(descriptor, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
    except BaseException:
        Path(path).unlink(missing_ok=True)
        raise
    return Path(path).name


def upload_path(name):
    """The path of the waiting upload called ``name``, or None."""
    if not isinstance(name, str) or not UPLOAD_NAME.fullmatch(name):
        return None
    path = upload_dir() / name
    return path if path.is_file() else None


def discard_upload(name):
    """Delete a waiting upload; a name that is not one is ignored."""
    path = upload_path(name)
    if path is not None:
        path.unlink(missing_ok=True)


def purge_stale_uploads(older_than=STALE_AFTER):
    """Delete uploads abandoned at the preview; return how many."""
    cutoff = time.time() - older_than.total_seconds()
    removed = 0
    for path in upload_dir().glob(f"{UPLOAD_PREFIX}*{UPLOAD_SUFFIX}"):
        # Another request may delete the same file meanwhile.
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    return removed
