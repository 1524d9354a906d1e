"""Atomic writes: a file is either the old complete version or the new complete version.

Shared by the run artifacts (results.json, model.pt, checkpoint.pt) and the
data cache. Deliberately free of torch so the cache and compare stay light.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_temp_beside(final: Path, write: Callable[[Any], object]) -> Path:
    """Call ``write(fileobj)`` on a fresh temporary file next to ``final``, fsync it, return its path.

    The caller renames it over ``final`` (``os.replace`` is atomic on POSIX) when
    it is ready; several files can thus be written first and renamed in order.
    """
    final = Path(final)
    fd, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the file ordinary permissions
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def atomic_write_bytes(path: Path, write: Callable[[Any], object]) -> None:
    """Write ``path`` through a temporary file and a rename: a crash (or SIGKILL)
    leaves either the previous file or the new one, never a half-written one."""
    tmp = write_temp_beside(path, write)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, lambda f: f.write(text.encode("utf-8")))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
