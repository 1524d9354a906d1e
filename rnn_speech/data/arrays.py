"""Any features as one ``.npz``: ``x_train, y_train, x_val, y_val, x_test, y_test`` (+ ``class_names``)."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence

import numpy as np

from rnn_speech.data.assemble import splits_from_arrays
from rnn_speech.data.paths import user_path
from rnn_speech.data.splits import Splits
from rnn_speech.data.validate import SPLIT_NAMES
from rnn_speech.errors import UserInputError

REQUIRED_KEYS = tuple(f"{kind}_{split}" for split in SPLIT_NAMES for kind in ("x", "y"))


def load(
    path: str | None = None,
    normalize: str = "scalar",
    expect_shape: Sequence[int] | None = None,
) -> Splits:
    if path is None or str(path) in ("", "???"):
        raise UserInputError("data=arrays needs an .npz file: data.path=FILE.npz")
    file = user_path(path)
    if not file.is_file():
        raise UserInputError(f"{file}: file not found (data.path)")
    arrays = _read_npz(file)
    missing = [k for k in REQUIRED_KEYS if k not in arrays]
    if missing:
        raise UserInputError(
            f"{file}: missing key(s) {', '.join(missing)}; expected {', '.join(REQUIRED_KEYS)}"
        )
    names = arrays.get("class_names")
    return splits_from_arrays(
        {s: arrays[f"x_{s}"] for s in SPLIT_NAMES},
        {s: arrays[f"y_{s}"] for s in SPLIT_NAMES},
        {s: (f"{file}[x_{s}]", f"{file}[y_{s}]") for s in SPLIT_NAMES},
        source=f"arrays:{file}",
        class_names=None if names is None else [str(n) for n in names.tolist()],
        expect_tf=expect_shape,
        normalize_mode=normalize,
    )


def _read_npz(file) -> dict[str, np.ndarray]:
    try:
        # allow_pickle=False: object arrays in an .npz are pickles and could run code.
        with np.load(file, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise UserInputError(f"{file}: not a readable .npz archive ({err})") from None
