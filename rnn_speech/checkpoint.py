"""Atomic writes: a file is either the old complete version or the new complete version."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from rnn_speech.errors import UserInputError


def atomic_write_bytes(path: Path, write) -> None:
    """Call ``write(fileobj)`` on a temporary file beside ``path``, fsync, then rename over it.

    The rename is atomic on POSIX, so a crash (or SIGKILL) leaves either the
    previous file or the new one, never a half-written one.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the file ordinary permissions
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, lambda f: f.write(text.encode("utf-8")))


def save_checkpoint(path: Path, payload: dict) -> None:
    atomic_write_bytes(path, lambda f: torch.save(payload, f))


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict:
    if not Path(path).is_file():
        raise UserInputError(f"{path}: no checkpoint to resume from (the run stopped before its first epoch ended)")
    try:
        # weights_only=False: the checkpoint holds RNG states and a dataclass we wrote ourselves.
        return torch.load(path, map_location=device, weights_only=False)
    except Exception as err:  # torch raises many types for a damaged zip
        raise UserInputError(f"{path}: checkpoint is unreadable ({err})") from None
