"""The second assignment's model: two conv+pool blocks over the (T, F) image, then an MLP."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from rnn_speech.models.derivation import ParamStep, conv2d_step
from rnn_speech.models.head import head_macs, head_steps, mlp_head


class CNNClassifier(nn.Module):
    """Conv(1→c1, k) → ReLU → MaxPool p → Conv(c1→c2, k) → ReLU → MaxPool p → flatten → MLP.

    Convolutions are 'valid' (no padding) and pooling floors, as in the course:
    101×40 → 97×36 → 48×18 → 44×14 → 22×7.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        channels: Sequence[int] = (32, 16),
        kernel_size: int = 5,
        pool: int = 2,
        fc_sizes: Sequence[int] = (128, 128),
    ):
        super().__init__()
        self.frames, self.features = int(input_shape[0]), int(input_shape[1])
        self.channels, self.k, self.pool = [int(c) for c in channels], int(kernel_size), int(pool)
        self.fc_sizes, self.num_classes = [int(s) for s in fc_sizes], int(num_classes)
        blocks: list[nn.Module] = []
        c_in = 1
        for c_out in self.channels:
            blocks += [nn.Conv2d(c_in, c_out, self.k), nn.ReLU(), nn.MaxPool2d(self.pool)]
            c_in = c_out
        self.features_net = nn.Sequential(*blocks)
        self.flat = self.channels[-1] * self.map_sizes()[-1][0] * self.map_sizes()[-1][1]
        self.head = mlp_head(self.flat, self.fc_sizes, self.num_classes)

    def map_sizes(self) -> list[tuple[int, int]]:
        """Feature-map (height, width) after each pooling stage."""
        h, w = self.frames, self.features
        sizes = []
        for _ in self.channels:
            h, w = (h - self.k + 1) // self.pool, (w - self.k + 1) // self.pool
            if h < 1 or w < 1:
                raise ValueError(f"input {self.frames}x{self.features} is too small for the CNN's conv/pool stack")
            sizes.append((h, w))
        return sizes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features_net(x.unsqueeze(1)).flatten(1))

    def param_derivation(self) -> list[ParamStep]:
        steps, c_in = [], 1
        for i, c_out in enumerate(self.channels):
            steps.append(conv2d_step(f"Conv {i + 1} ({c_in}→{c_out}, {self.k}×{self.k})", c_in, c_out, self.k, self.k))
            c_in = c_out
        return steps + head_steps(self.flat, self.fc_sizes, self.num_classes)

    def macs_per_example(self) -> int:
        """Each conv output value costs c_in·k·k MACs; pooling and ReLU cost none."""
        macs, c_in, h, w = 0, 1, self.frames, self.features
        for c_out in self.channels:
            oh, ow = h - self.k + 1, w - self.k + 1
            macs += oh * ow * c_out * c_in * self.k * self.k
            h, w, c_in = oh // self.pool, ow // self.pool, c_out
        return macs + head_macs(self.flat, self.fc_sizes, self.num_classes)
