"""Hand derivations of parameter counts, as data a report can print step by step."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class ParamStep:
    """One layer's parameters: what it is, the formula, the numbers, the subtotal."""

    layer: str
    formula: str
    numbers: str
    count: int


def linear_step(name: str, n_in: int, n_out: int) -> ParamStep:
    return ParamStep(name, "in·out + out", f"{n_in}·{n_out} + {n_out}", n_in * n_out + n_out)


def conv2d_step(name: str, c_in: int, c_out: int, kh: int, kw: int) -> ParamStep:
    return ParamStep(
        name, "c_in·c_out·kh·kw + c_out", f"{c_in}·{c_out}·{kh}·{kw} + {c_out}", c_in * c_out * kh * kw + c_out
    )


def total(steps: list[ParamStep]) -> int:
    return sum(s.count for s in steps)


def counted(model: nn.Module) -> int:
    """Parameters as ``sum(p.numel())`` counts them (trainable or not)."""
    return sum(p.numel() for p in model.parameters())


def derivation_markdown(steps: list[ParamStep], n_counted: int) -> str:
    """A markdown table of the derivation, its total and the check against the counted value."""
    rows = ["| layer | formula | numbers | parameters |", "|---|---|---|---:|"]
    rows += [f"| {s.layer} | {s.formula} | {s.numbers} | {s.count:,} |" for s in steps]
    by_hand = total(steps)
    rows.append(f"| **total** | | {' + '.join(f'{s.count:,}' for s in steps)} | **{by_hand:,}** |")
    verdict = "matches" if by_hand == n_counted else "DOES NOT match"
    rows.append("")
    rows.append(f"Check: the hand derivation gives {by_hand:,}; `sum(p.numel() for p in model.parameters())` "
                f"gives {n_counted:,}, which {verdict}.")
    return "\n".join(rows)
