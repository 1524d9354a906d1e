"""Shared fixtures: tiny course-format folders made on the fly (no data ships with the tests)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
COURSE_FILES = {"train": "train", "val": "valid", "test": "test"}


def make_course_arrays(n=(240, 60, 60), classes=3, frames=101, features=40, seed=0, one_hot=True):
    """Separable synthetic features: class c raises a band of features, so training learns fast."""
    rng = np.random.default_rng(seed)
    out = {}
    for split, count in zip(COURSE_FILES, n):
        y = np.arange(count) % classes
        rng.shuffle(y)
        x = rng.normal(size=(count, frames, features)).astype(np.float32)
        band = max(1, features // (classes + 1))
        for c in range(classes):
            x[y == c, :, c * band:(c + 1) * band] += 1.0
        out[split] = (x, np.eye(classes, dtype=np.float32)[y] if one_hot else y)
    return out


def write_course_dir(folder: Path, arrays: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split, (x, y) in arrays.items():
        stem = COURSE_FILES[split]
        with open(folder / f"X_{stem}.p", "wb") as f:
            pickle.dump(x, f)
        with open(folder / f"Y_{stem}.p", "wb") as f:
            pickle.dump(y, f)
    return folder


@pytest.fixture
def course_dir(tmp_path) -> Path:
    return write_course_dir(tmp_path / "course", make_course_arrays())


def run_cli(args: list[str], cwd: Path, timeout: int = 300, module: str = "rnn_speech.run"):
    """Run ``python -m MODULE ARGS`` as a user would; PYTHONPATH makes the checkout importable."""
    env = dict(os.environ, PYTHONPATH=str(REPO), HYDRA_FULL_ERROR="0")
    env.pop("PYTEST_CURRENT_TEST", None)
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
