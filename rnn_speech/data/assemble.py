"""Turn validated numpy arrays from any array source into a normalised ``Splits``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from rnn_speech.data import validate
from rnn_speech.data.splits import Splits, normalize
from rnn_speech.errors import UserInputError


def splits_from_arrays(
    raw_x: dict[str, object],
    raw_y: dict[str, object],
    where: dict[str, tuple[str, str]],
    *,
    source: str,
    class_names: Sequence[str] | None = None,
    expect_tf: Sequence[int] | None = None,
    normalize_mode: str = "scalar",
) -> Splits:
    """Validate per-split arrays (keys train/val/test) and build normalised ``Splits``."""
    xs, ys, widths = {}, {}, {}
    for split in validate.SPLIT_NAMES:
        x_where, y_where = where[split]
        xs[split] = validate.as_features(raw_x[split], x_where, expect_tf)
        ys[split], widths[split] = validate.as_labels(raw_y[split], y_where)
        validate.check_pair(xs[split], ys[split], x_where, y_where)
    n_names = len(class_names) if class_names is not None else None
    c = validate.check_consistent(xs, ys, widths, where, n_classes=n_names)
    names = tuple(str(n) for n in class_names) if class_names is not None else default_class_names(c)
    if len(names) != c:
        raise UserInputError(f"{len(names)} class names given for {c} classes")
    splits = Splits(
        x_train=torch.from_numpy(np.ascontiguousarray(xs["train"])),
        y_train=torch.from_numpy(ys["train"]),
        x_val=torch.from_numpy(np.ascontiguousarray(xs["val"])),
        y_val=torch.from_numpy(ys["val"]),
        x_test=torch.from_numpy(np.ascontiguousarray(xs["test"])),
        y_test=torch.from_numpy(ys["test"]),
        class_names=names,
        source=source,
    )
    return normalize(splits, normalize_mode)


def default_class_names(c: int) -> tuple[str, ...]:
    return tuple(f"class_{i}" for i in range(c))
