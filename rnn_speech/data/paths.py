"""Resolve user-given paths against the directory the command was launched from."""

from __future__ import annotations

import os
from pathlib import Path


def user_path(path: str | os.PathLike) -> Path:
    """Expand ``~`` and make a relative path absolute against the launch directory.

    Inside a Hydra job the original working directory is kept (``hydra.job.chdir``
    is false), but asking Hydra covers the case where a user turns chdir back on.
    """
    p = Path(os.path.expanduser(str(path)))
    if p.is_absolute():
        return p
    try:
        from hydra.utils import get_original_cwd

        base = Path(get_original_cwd())
    except (ImportError, ValueError):  # not inside a Hydra job
        base = Path.cwd()
    return base / p
