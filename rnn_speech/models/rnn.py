"""The assignment's recurrent classifier: stacked GRU (or LSTM) → last frame → MLP head."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from rnn_speech.models.derivation import ParamStep
from rnn_speech.models.head import head_macs, head_steps, mlp_head

# Gate blocks per recurrent type: a GRU has reset, update and candidate (3);
# an LSTM has input, forget, cell and output (4). PyTorch keeps two bias vectors
# per block (b_ih and b_hh), which is why the formula has 2·out biases.
GATES = {"GRU": 3, "LSTM": 4, "RNN": 1}


class RNNClassifier(nn.Module):
    """``getattr(nn, rnn_type)`` layers (batch-first); the last layer's state at the last frame feeds the head."""

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        rnn_type: str = "GRU",
        hidden_size: int = 64,
        num_layers: int = 2,
        fc_sizes: Sequence[int] = (128, 128),
    ):
        super().__init__()
        if rnn_type not in GATES:
            raise ValueError(f"model.rnn_type={rnn_type!r} is not supported; expected one of {', '.join(GATES)}")
        if hidden_size < 1 or num_layers < 1:
            raise ValueError(f"model.hidden_size and model.num_layers must be >= 1, got {hidden_size}, {num_layers}")
        self.frames, self.features = int(input_shape[0]), int(input_shape[1])
        self.rnn_type, self.hidden_size, self.num_layers = rnn_type, int(hidden_size), int(num_layers)
        self.fc_sizes = [int(s) for s in fc_sizes]
        self.num_classes = int(num_classes)
        self.rnn = getattr(nn, rnn_type)(self.features, self.hidden_size, self.num_layers, batch_first=True)
        self.head = mlp_head(self.hidden_size, self.fc_sizes, self.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)  # out: (N, T, H), the top layer's state at every frame
        return self.head(out[:, -1])

    def param_derivation(self) -> list[ParamStep]:
        g = GATES[self.rnn_type]
        h = self.hidden_size
        steps = []
        for layer in range(self.num_layers):
            n_in = self.features if layer == 0 else h
            steps.append(
                ParamStep(
                    f"{self.rnn_type} layer {layer + 1}",
                    f"{g}·(in·H + H·H + 2·H)",
                    f"{g}·({n_in}·{h} + {h}·{h} + 2·{h})",
                    g * (n_in * h + h * h + 2 * h),
                )
            )
        return steps + head_steps(h, self.fc_sizes, self.num_classes)

    def macs_per_example(self) -> int:
        """Multiply-accumulates of the matrix products for one clip (T frames).

        Element-wise gate arithmetic (sigmoids, the products with r, z, c) is O(H)
        per frame against O(H·(in+H)) for the matrix products, so it is left out,
        as FLOP counters such as torch's FlopCounterMode also leave it out.
        """
        g, h = GATES[self.rnn_type], self.hidden_size
        rnn = sum(self.frames * g * h * ((self.features if l == 0 else h) + h) for l in range(self.num_layers))
        return rnn + head_macs(h, self.fc_sizes, self.num_classes)


