"""Files the app writes on disk are its owner's only (SECURITY.md 9): folders 0700, files 0600.

Set where each is created, whatever the process umask: uploads (photos, attachments) through
`write_private`, the instance folder and the SQLite database file through `make_private`.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> Path:
    """`path` and each missing parent created 0700 (`Path.mkdir(parents=True)` would give the
    parents the umask's mode); an existing folder of ours is narrowed to 0700."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another worker
            folder.mkdir(mode=FOLDER_MODE)  # the umask can only narrow it further
    make_private(path)
    return path


def make_private(path: Path) -> None:
    """Narrow an existing file to 0600 or folder to 0700, if it is ours and wider than that.
    Someone else's (a mounted volume) is left as it is."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return
    mode = FOLDER_MODE if path.is_dir() else FILE_MODE
    if stat.st_uid == os.geteuid() and stat.st_mode & 0o777 & ~mode:
        os.chmod(path, stat.st_mode & 0o777 & mode)


def write_private(root: Path, relative: str, data: bytes) -> Path:
    """Write `data` to `root/relative` atomically and durably: folders 0700 from `root` down,
    the file 0600 from its creation on (never readable by others, not even for a moment)."""
    target = root / relative
    private_folder(target.parent)
    for folder in target.parent.relative_to(root).parents:  # those above it, up to `root`
        make_private(root / folder)
    tmp = target.with_suffix(target.suffix + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)
    return target
