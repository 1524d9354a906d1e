"""The single value every data source returns: train/val/test tensors plus metadata."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from rnn_speech.errors import UserInputError

NORMALIZE_MODES = ("scalar", "per_feature", "none")


@dataclass(frozen=True)
class Splits:
    """Features shaped (N, T, F) as float32, labels as int64 class indices.

    ``mean`` and ``std`` are the normalisation constants computed on the training
    split (a 0-d tensor for ``scalar``, shape (F,) for ``per_feature``); they are
    ``None`` until :func:`normalize` has been applied.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    class_names: tuple[str, ...]
    source: str = ""
    mean: torch.Tensor | None = None
    std: torch.Tensor | None = None
    normalize_mode: str = "none"

    @property
    def input_shape(self) -> tuple[int, int]:
        return (int(self.x_train.shape[1]), int(self.x_train.shape[2]))

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}


def normalization_constants(x_train: torch.Tensor, mode: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std of the training features: one scalar pair, or one per feature."""
    if mode not in NORMALIZE_MODES:
        raise UserInputError(
            f"data.normalize={mode!r} is not known; expected one of {', '.join(NORMALIZE_MODES)}"
        )
    x = x_train.double()  # float32 sums over ~4e7 values lose digits
    if mode == "none":
        return torch.tensor(0.0), torch.tensor(1.0)
    if mode == "scalar":
        mean, std = x.mean(), x.std()
    else:
        flat = x.reshape(-1, x.shape[-1])
        mean, std = flat.mean(0), flat.std(0)
    # A constant feature would divide by zero; leave it unscaled instead.
    std = torch.where(std > 0, std, torch.ones_like(std))
    return mean.float(), std.float()


def apply_normalization(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    return (x - mean) / std


def normalize(splits: Splits, mode: str = "scalar") -> Splits:
    """Normalise all three splits with constants computed on the training split only."""
    mean, std = normalization_constants(splits.x_train, mode)
    return replace(
        splits,
        x_train=apply_normalization(splits.x_train, mean, std),
        x_val=apply_normalization(splits.x_val, mean, std),
        x_test=apply_normalization(splits.x_test, mean, std),
        mean=mean,
        std=std,
        normalize_mode=mode,
    )
