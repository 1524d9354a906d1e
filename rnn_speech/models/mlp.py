"""The first assignment's model: the whole (T, F) clip flattened into an MLP."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from rnn_speech.models.derivation import ParamStep
from rnn_speech.models.head import head_macs, head_steps, mlp_head


class MLPClassifier(nn.Module):
    def __init__(self, input_shape: Sequence[int], num_classes: int, hidden_sizes: Sequence[int] = (128,) * 4):
        super().__init__()
        self.frames, self.features = int(input_shape[0]), int(input_shape[1])
        self.n_in = self.frames * self.features
        self.hidden_sizes = [int(s) for s in hidden_sizes]
        self.num_classes = int(num_classes)
        self.net = mlp_head(self.n_in, self.hidden_sizes, self.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))

    def param_derivation(self) -> list[ParamStep]:
        return head_steps(self.n_in, self.hidden_sizes, self.num_classes)

    def macs_per_example(self) -> int:
        return head_macs(self.n_in, self.hidden_sizes, self.num_classes)
