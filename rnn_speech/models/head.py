"""The fully-connected stack every course model ends with: Linear+ReLU blocks, then logits."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from rnn_speech.models.derivation import ParamStep, linear_step


def mlp_head(n_in: int, hidden: Sequence[int], n_out: int) -> nn.Sequential:
    """Linear+ReLU for each hidden size, then a plain Linear to logits.

    No softmax: ``cross_entropy`` applies log-softmax itself, and doing it twice
    would squash the gradients.
    """
    layers: list[nn.Module] = []
    for size in hidden:
        layers += [nn.Linear(n_in, size), nn.ReLU()]
        n_in = size
    layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


def head_steps(n_in: int, hidden: Sequence[int], n_out: int) -> list[ParamStep]:
    steps = []
    for i, size in enumerate(hidden):
        steps.append(linear_step(f"Linear {i + 1} ({n_in}→{size})", n_in, size))
        n_in = size
    steps.append(linear_step(f"Output ({n_in}→{n_out})", n_in, n_out))
    return steps


def head_macs(n_in: int, hidden: Sequence[int], n_out: int) -> int:
    sizes = [n_in, *hidden, n_out]
    return sum(a * b for a, b in zip(sizes, sizes[1:]))
