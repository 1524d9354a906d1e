"""``report.md``: the assignment's four answers for one run, from the run's own numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from rnn_speech.models import CNNClassifier, MLPClassifier, RNNClassifier
from rnn_speech.models.derivation import counted, derivation_markdown

# The three course models with their course settings; analytic size and cost
# need no training, so question 4 always has the complexity side of the answer.
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
        _comparison(results, siblings or []),
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


def _comparison(r: dict, siblings: list[dict]) -> str:
    costs = course_model_costs(r["input_shape"], r["n_classes"])
    seen = {s["model"]: s for s in siblings if s.get("model") and s.get("test_acc") is not None}
    rows = ["| model | parameters | MACs / example | test accuracy | s / epoch | run |", "|---|---:|---:|---:|---:|---|"]
    rows.append(f"| **{r['model']} (this run)** | {r['n_params']:,} | {r['macs_per_example']:,} | "
                f"{_pct(r['test_acc'])} | {r['seconds_per_epoch']:.2f} | this run |")
    for name, cost in costs.items():
        if name == r["model"]:
            continue
        sib = seen.get(name)
        acc = _pct(sib["test_acc"]) if sib else "not run"
        spe = f"{sib['seconds_per_epoch']:.2f}" if sib and sib.get("seconds_per_epoch") is not None else "—"
        where = f"`{sib['run_dir']}`" if sib else "—"
        rows.append(f"| {name} | {cost['n_params']:,} | {cost['macs_per_example']:,} | {acc} | {spe} | {where} |")
    ratios = ", ".join(
        f"{r['macs_per_example'] / c['macs_per_example']:.2f}× the MACs and "
        f"{r['n_params'] / c['n_params']:.2f}× the parameters of the {n.upper()}"
        for n, c in costs.items() if n != r["model"])
    hint = ("" if seen else "\n\nNo finished runs of the other models on the same data were found; run "
            "`python -m rnn_speech.run -m model=mlp,cnn,gru` (or `experiment=baselines`) to fill in their accuracy.")
    return ("## 4. Comparison with the earlier assignments' models\n\n"
            f"This run's model has {r['n_params']:,} parameters and needs {r['macs_per_example']:,} "
            f"multiply-accumulates per example (matrix products and convolutions; element-wise operations are "
            f"not counted); it trained at {r['seconds_per_epoch']:.2f} s per epoch on {r['device']}. "
            f"That is {ratios}. A recurrent layer's work is sequential over the {r['input_shape'][0]} frames, so "
            f"its wall-clock time per MAC is higher than a convolution's or a dense layer's.\n\n"
            + "\n".join(rows) + hint)
