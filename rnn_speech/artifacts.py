"""``results.json`` (atomically rewritten as the run progresses) and ``model.pt``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch

from rnn_speech.atomic import atomic_write_text
from rnn_speech.checkpoint import save_atomic

RESULTS = "results.json"


class Results:
    """The run's summary; every ``update`` rewrites the file atomically."""

    def __init__(self, run_dir: Path, keep_existing: bool = False):
        self.path = Path(run_dir) / RESULTS
        self.data: dict[str, Any] = {}
        if keep_existing and self.path.exists():
            self.data = self.read(run_dir)

    @classmethod
    def read(cls, run_dir: Path) -> dict[str, Any]:
        return json.loads((Path(run_dir) / RESULTS).read_text(encoding="utf-8"))

    def update(self, **fields: Any) -> None:
        self.data.update({k: _jsonable(v) for k, v in fields.items()})
        atomic_write_text(self.path, json.dumps(self.data, indent=2, allow_nan=False) + "\n")


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None  # JSON has no NaN; null reads as "no value"
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, torch.Tensor):
        return v.tolist()
    return v


def save_model(path: Path, model: torch.nn.Module, splits, model_config: dict) -> None:
    """Weights plus what is needed to use them: normalisation, class names, model config."""
    payload = {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "model_config": model_config,
        "input_shape": list(splits.input_shape),
        "num_classes": splits.n_classes,
        "class_names": list(splits.class_names),
        "normalize": splits.normalize_mode,
        "mean": splits.mean,
        "std": splits.std,
    }
    save_atomic(Path(path), payload)
