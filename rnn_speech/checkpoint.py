"""Saving and loading torch payloads (checkpoint.pt, model.pt) atomically."""

from __future__ import annotations

from pathlib import Path

import torch

from rnn_speech.atomic import atomic_write_bytes
from rnn_speech.errors import UserInputError


def save_atomic(path: Path, payload: dict) -> None:
    atomic_write_bytes(path, lambda f: torch.save(payload, f))


def load_checkpoint(path: Path) -> dict:
    """The checkpoint on the CPU: RNG states must stay CPU tensors; weights move on load_state_dict."""
    if not Path(path).is_file():
        raise UserInputError(f"{path}: no checkpoint to resume from (the run stopped before its first epoch ended)")
    try:
        # weights_only=False: the checkpoint holds RNG states and a dataclass we wrote ourselves.
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # torch raises many types for a damaged zip
        raise UserInputError(f"{path}: checkpoint is unreadable ({err})") from None
