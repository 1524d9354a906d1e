"""Checks shared by every array-based source: shapes, values and labels.

Every failure is a ``UserInputError`` whose message names the file (or key) and
says what was expected and what was found, so the user sees one useful line.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnn_speech.errors import UserInputError

SPLIT_NAMES = ("train", "val", "test")


def as_features(x: object, where: str, expect_tf: Sequence[int] | None = None) -> np.ndarray:
    """Return ``x`` as a finite float32 array shaped (N, T, F)."""
    if not isinstance(x, np.ndarray) or x.dtype == object:
        raise UserInputError(f"{where}: expected a numeric array (N, T, F), found {type(x).__name__}")
    if x.ndim != 3:
        raise UserInputError(
            f"{where}: expected a rank-3 array (clips, frames, features), found shape {tuple(x.shape)}"
        )
    if x.shape[0] == 0:
        raise UserInputError(f"{where}: the split is empty (shape {tuple(x.shape)})")
    if expect_tf is not None:
        _check_frames_features(x.shape, where, tuple(expect_tf))
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise UserInputError(f"{where}: expected real numbers, found dtype {x.dtype}")
    x = x.astype(np.float32, copy=False)
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise UserInputError(
            f"{where}: {int(bad.sum())} NaN/Inf value(s) in the features (first at index {first})"
        )
    return x


def _check_frames_features(shape: tuple[int, ...], where: str, expect_tf: tuple[int, int]) -> None:
    t, f = expect_tf
    if shape[1:] == (t, f):
        return
    hint = " (frames and features look transposed)" if shape[1:] == (f, t) else ""
    raise UserInputError(
        f"{where}: expected shape (N, {t}, {f}) as clips x frames x features, "
        f"found {tuple(shape)}{hint}"
    )


def as_labels(y: object, where: str, n_classes: int | None = None) -> tuple[np.ndarray, int | None]:
    """Return integer labels (N,) from one-hot (N, C) or integer (N,) labels.

    The second value is the one-hot width (the class count it implies), or None
    for integer labels.
    """
    if not isinstance(y, np.ndarray) or y.dtype == object:
        raise UserInputError(f"{where}: expected labels as an array, found {type(y).__name__}")
    if y.ndim == 2:
        return _from_one_hot(y, where), int(y.shape[1])
    if y.ndim == 1:
        return _from_integers(y, where), None
    raise UserInputError(
        f"{where}: expected one-hot labels (N, C) or integer labels (N,), found shape {tuple(y.shape)}"
    )


def _from_one_hot(y: np.ndarray, where: str) -> np.ndarray:
    if not np.issubdtype(y.dtype, np.number) or not np.isfinite(y).all():
        raise UserInputError(f"{where}: one-hot labels must be finite numbers, found dtype {y.dtype}")
    is_binary = np.isin(y, (0, 1)).all(axis=1)
    has_one = (y == 1).sum(axis=1) == 1
    bad = np.flatnonzero(~(is_binary & has_one))
    if bad.size:
        row = y[bad[0]]
        raise UserInputError(
            f"{where}: expected one-hot rows (a single 1, zeros elsewhere); "
            f"{bad.size} row(s) are not, first is row {bad[0]}: {np.array2string(row, threshold=12)}"
        )
    return y.argmax(axis=1).astype(np.int64)


def _from_integers(y: np.ndarray, where: str) -> np.ndarray:
    if np.issubdtype(y.dtype, np.floating):
        if not np.isfinite(y).all() or not (y == np.round(y)).all():
            raise UserInputError(f"{where}: expected integer class labels, found non-integer values")
    elif not np.issubdtype(y.dtype, np.integer):
        raise UserInputError(f"{where}: expected integer class labels, found dtype {y.dtype}")
    return y.astype(np.int64)


def check_pair(x: np.ndarray, y: np.ndarray, x_where: str, y_where: str) -> None:
    if len(x) != len(y):
        raise UserInputError(
            f"{y_where}: {len(y)} labels for {len(x)} clips in {x_where}; expected one label per clip"
        )


def check_consistent(
    xs: dict[str, np.ndarray],
    ys: dict[str, np.ndarray],
    widths: dict[str, int | None],
    where: dict[str, tuple[str, str]],
    n_classes: int | None = None,
) -> int:
    """Cross-split checks; returns the class count C.

    ``where[split] = (x_name, y_name)`` are the file (or key) names used in messages.
    """
    train_tf = xs["train"].shape[1:]
    for split in SPLIT_NAMES[1:]:
        if xs[split].shape[1:] != train_tf:
            raise UserInputError(
                f"{where[split][0]}: frames x features {tuple(xs[split].shape[1:])} differ from "
                f"the training split's {tuple(train_tf)} ({where['train'][0]})"
            )
    c = _class_count(ys, widths, where, n_classes)
    for split in SPLIT_NAMES:
        _check_label_range(ys[split], c, where[split][1])
    seen = set(np.unique(ys["train"]).tolist())
    for split in SPLIT_NAMES[1:]:
        unseen = sorted(set(np.unique(ys[split]).tolist()) - seen)
        if unseen:
            raise UserInputError(
                f"{where[split][1]}: class(es) {unseen} never appear in the training labels "
                f"({where['train'][1]}); a classifier cannot learn them"
            )
    return c


def _class_count(ys, widths, where, n_classes: int | None) -> int:
    known = [(s, w) for s, w in widths.items() if w is not None]
    reference = n_classes
    ref_name = "the class names"
    if reference is None and known:
        ref_split, reference = known[0]
        ref_name = where[ref_split][1]
    for split, width in known:
        if width != reference:
            raise UserInputError(
                f"{where[split][1]}: one-hot width {width} differs from the class count {reference} "
                f"given by {ref_name}"
            )
    if reference is None:
        reference = int(max(int(y.max()) for y in ys.values())) + 1
    return int(reference)


def _check_label_range(y: np.ndarray, c: int, where: str) -> None:
    bad = (y < 0) | (y >= c)
    if bad.any():
        raise UserInputError(
            f"{where}: labels must lie in [0, {c}); found {int(y[bad][0])} ({int(bad.sum())} out of range)"
        )
