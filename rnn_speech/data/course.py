"""The course's feature matrices: ``X_{train,valid,test}.p`` and one-hot ``Y_*.p``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rnn_speech.data.assemble import splits_from_arrays
from rnn_speech.data.paths import user_path
from rnn_speech.data.safe_pickle import load_array_pickle
from rnn_speech.data.splits import Splits
from rnn_speech.errors import UserInputError

# The course names its validation split "valid"; internally it is "val".
FILE_STEMS = {"train": "train", "val": "valid", "test": "test"}


def course_files(folder: Path) -> dict[str, tuple[Path, Path]]:
    return {
        split: (folder / f"X_{stem}.p", folder / f"Y_{stem}.p") for split, stem in FILE_STEMS.items()
    }


def load(
    dir: str | None = None,
    normalize: str = "scalar",
    expect_shape: Sequence[int] | None = (101, 40),
    class_names: Sequence[str] | None = None,
) -> Splits:
    """Load the six course pickles from ``dir`` (relative to the launch directory)."""
    if dir is None or str(dir) in ("", "???"):
        raise UserInputError("data=course needs the folder holding X_train.p ... Y_test.p: data.dir=PATH")
    folder = user_path(dir)
    if not folder.is_dir():
        raise UserInputError(f"{folder}: data folder not found (data.dir); expected a folder with X_train.p ... Y_test.p")
    files = course_files(folder)
    missing = [p.name for pair in files.values() for p in pair if not p.is_file()]
    if missing:
        raise UserInputError(f"{folder}: missing course file(s) {', '.join(missing)}")
    raw_x = {split: load_array_pickle(x) for split, (x, _) in files.items()}
    raw_y = {split: load_array_pickle(y) for split, (_, y) in files.items()}
    where = {split: (str(x), str(y)) for split, (x, y) in files.items()}
    return splits_from_arrays(
        raw_x, raw_y, where,
        source=f"course:{folder}",
        class_names=class_names,
        expect_tf=expect_shape,
        normalize_mode=normalize,
    )
