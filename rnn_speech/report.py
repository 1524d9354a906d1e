"""``report.md``: the assignment's four answers for one run, from the run's own numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torch import nn

from rnn_speech.models import CNNClassifier, MLPClassifier, RNNClassifier
from rnn_speech.models.derivation import counted, derivation_markdown

# The three course models with their course settings; analytic size and cost
# need no training, so question 4 always has the complexity side of the answer.
SECTION_4 = "## 4. Comparison with the earlier assignments' models"
COURSE_MODELS = {
    "mlp": lambda shape, c: MLPClassifier(shape, c),
    "cnn": lambda shape, c: CNNClassifier(shape, c),
    "gru": lambda shape, c: RNNClassifier(shape, c, "GRU"),
}


def course_model_costs(input_shape, n_classes: int) -> dict[str, dict[str, int]]:
    costs = {}
    for name, build in COURSE_MODELS.items():
        m = build(input_shape, n_classes)
        costs[name] = {"n_params": counted(m), "macs_per_example": m.macs_per_example()}
    return costs


def write_report(run_dir: Path, results: dict[str, Any], model: nn.Module, siblings: list[dict] | None = None) -> Path:
    text = "\n\n".join([
        _title(results),
        _curves(results),
        _test_accuracy(results),
        _parameters(model),
        comparison_section(results, siblings or []),
    ]) + "\n"
    path = Path(run_dir) / "report.md"
    path.write_text(text, encoding="utf-8")
    return path


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


def _title(r: dict) -> str:
    return (f"# Run report — model `{r['model']}` on data `{r['data']}`\n\n"
            f"Seed {r['seed']}, {r['epochs']} epochs ({r['iterations']} iterations), "
            f"device {r['device']} ({r['precision']}), torch {r['torch_version']}. "
            f"{r['n_classes']} classes: {', '.join(r['class_names'])}; input {r['input_shape'][0]} frames × "
            f"{r['input_shape'][1]} features.")


def _curves(r: dict) -> str:
    return ("## 1. Training and validation loss and accuracy against the training iteration\n\n"
            "![loss](loss.png)\n\n![accuracy](accuracy.png)\n\n"
            f"Training points are single minibatches; validation points are the whole validation split. "
            f"Best validation accuracy: {_pct(r['best_val_acc'])} at iteration {r['best_iteration']}; "
            f"final validation accuracy: {_pct(r['final_val_acc'])}.")


def _test_accuracy(r: dict) -> str:
    which = "the best-on-validation weights" if r.get("test_on") == "best" else "the weights after the last epoch"
    return ("## 2. Test accuracy\n\n"
            f"**{_pct(r['test_acc'])}** on {r['n_test']} test clips (test loss {r['test_loss']:.4f}), "
            f"using {which}.")


def _parameters(model: nn.Module) -> str:
    steps = model.param_derivation()
    return ("## 3. Number of parameters, derived by hand\n\n"
            "A recurrent layer with input size *in* and hidden size *H* has, per gate block, an input matrix "
            "(H·in), a recurrent matrix (H·H) and two bias vectors (PyTorch keeps b_ih and b_hh, 2·H); a GRU has "
            "3 gate blocks (reset, update, candidate), an LSTM 4. A linear layer has in·out weights and out "
            "biases; a convolution c_in·c_out·kh·kw weights and c_out biases.\n\n"
            + derivation_markdown(steps, counted(model)))


def _sibling_summary(siblings: list[dict]) -> dict[str, dict]:
    """Per other model: mean test accuracy and s/epoch over its runs (seeds), with its own size and cost."""
    by_model: dict[str, list[dict]] = {}
    for sib in siblings:
        if sib.get("model") and sib.get("test_acc") is not None:
            by_model.setdefault(str(sib["model"]), []).append(sib)
    summary = {}
    for name, runs in by_model.items():
        spe = [r["seconds_per_epoch"] for r in runs if r.get("seconds_per_epoch") is not None]
        summary[name] = {
            "test_acc": sum(r["test_acc"] for r in runs) / len(runs),
            "seconds_per_epoch": sum(spe) / len(spe) if spe else None,
            "n_params": runs[0].get("n_params"),
            "macs_per_example": runs[0].get("macs_per_example"),
            "where": runs[0]["run_dir"] if len(runs) == 1 else f"{len(runs)} runs (mean)",
        }
    return summary


def comparison_section(r: dict, siblings: list[dict]) -> str:
    """Question 4: this run against the course's other models (analytic cost; accuracy when they were run)."""
    costs = course_model_costs(r["input_shape"], r["n_classes"])
    seen = _sibling_summary(siblings)
    rows = ["| model | parameters | MACs / example | test accuracy | s / epoch | run |", "|---|---:|---:|---:|---:|---|"]
    rows.append(f"| **{r['model']} (this run)** | {r['n_params']:,} | {r['macs_per_example']:,} | "
                f"{_pct(r['test_acc'])} | {r['seconds_per_epoch']:.2f} | this run |")
    for name in [*costs, *sorted(set(seen) - set(costs))]:
        if name == r["model"]:
            continue
        sib = seen.get(name, {})
        n_params = sib.get("n_params") or costs.get(name, {}).get("n_params")
        macs = sib.get("macs_per_example") or costs.get(name, {}).get("macs_per_example")
        acc = _pct(sib["test_acc"]) if sib else "not run"
        spe = f"{sib['seconds_per_epoch']:.2f}" if sib.get("seconds_per_epoch") is not None else "—"
        where = f"`{sib['where']}`" if sib else "—"
        rows.append(f"| {name} | {n_params:,} | {macs:,} | {acc} | {spe} | {where} |")
    ratios = ", ".join(
        f"{r['macs_per_example'] / c['macs_per_example']:.2f}× the MACs and "
        f"{r['n_params'] / c['n_params']:.2f}× the parameters of the {n.upper()}"
        for n, c in costs.items() if n != r["model"])
    hint = ("" if seen else "\n\nNo finished runs of the other models on the same data were found; run "
            "`python -m rnn_speech.run -m model=mlp,cnn,gru` (or `experiment=baselines`) to fill in their accuracy.")
    return (f"{SECTION_4}\n\n"
            f"This run's model has {r['n_params']:,} parameters and needs {r['macs_per_example']:,} "
            f"multiply-accumulates per example (matrix products and convolutions; element-wise operations are "
            f"not counted); it trained at {r['seconds_per_epoch']:.2f} s per epoch on {r['device']}. "
            f"That is {ratios} (course settings at this input size).{_sequential_note(r)}\n\n"
            + "\n".join(rows) + hint)


def _sequential_note(r: dict) -> str:
    if r["model"] not in ("gru", "lstm"):
        return ""
    return (f" A recurrent layer's work is sequential over the {r['input_shape'][0]} frames: it runs as "
            f"{r['input_shape'][0]} small matrix products per layer rather than one large one, so its MACs run "
            "at a lower rate than a dense layer's (`python benchmarks/bench_models.py` measures the rates).")


def refresh_comparison(run_dir: Path, siblings: list[dict]) -> bool:
    """Rewrite only question 4 of an existing report (a sweep's early jobs finish before their siblings)."""
    path = Path(run_dir) / "report.md"
    results_path = Path(run_dir) / "results.json"
    if not path.is_file() or not results_path.is_file():
        return False
    text = path.read_text(encoding="utf-8")
    if SECTION_4 not in text:
        return False
    results = json.loads(results_path.read_text(encoding="utf-8"))
    head = text[: text.index(SECTION_4)]
    path.write_text(head + comparison_section(results, siblings) + "\n", encoding="utf-8")
    return True
