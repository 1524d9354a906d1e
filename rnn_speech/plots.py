"""``loss.png`` and ``accuracy.png``: training and validation curves against the iteration."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def read_metrics(path: Path) -> pd.DataFrame:
    return pd.read_csv(path)


def plot_curves(metrics: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    out_dir = Path(out_dir)
    return {
        "loss": _plot(metrics, "loss", "cross-entropy loss", out_dir / "loss.png"),
        "accuracy": _plot(metrics, "acc", "accuracy", out_dir / "accuracy.png"),
    }


def _plot(m: pd.DataFrame, metric: str, ylabel: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    ax.plot(m["iteration"], m[f"train_{metric}"], lw=0.9, alpha=0.8, label="training (minibatch)")
    val = m.dropna(subset=[f"val_{metric}"])
    ax.plot(val["iteration"], val[f"val_{metric}"], lw=1.6, label="validation (whole split)",
            marker="o" if len(val) < 30 else None, ms=3)
    ax.set_xlabel("training iteration")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{ylabel.capitalize()} against training iteration")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
