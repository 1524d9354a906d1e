"""Compare runs: one table on stdout, and a CSV, a markdown table and three plots on disk.

``python -m rnn_speech.compare [PATH ...]`` walks each PATH (default: ``outputs/`` and ``multirun/``) for run
directories -- any directory holding ``.hydra/`` and ``results.json`` -- and only *reads* them. It never imports
the trainer or torch, so it works on runs copied back from another machine, and ``--help`` is instant; pandas
and matplotlib are imported inside the functions that draw or tabulate, for the same reason.

A run that is still running, failed, was interrupted or left an unparsable ``results.json`` is listed with its
status; it never stops the comparison and never enters a mean, a standard deviation or a plot.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from rnn_speech.errors import UserInputError

if TYPE_CHECKING:
    import pandas as pd

COMPLETED = "completed"
UNREADABLE = "unreadable"
SEED_OVERRIDE = "seed.value"
DEFAULT_PATHS = ("outputs", "multirun")
DEFAULT_OUT = "comparison"
OUTPUT_FILES = ("comparison.csv", "comparison.md", "val_acc.png", "acc_vs_macs.png", "acc_vs_params.png")

# comparison.csv starts with these columns, in this order; any further results.json keys follow, sorted.
CSV_COLUMNS = (
    "run_dir", "sweep_dir", "started", "status", "error", "model", "data", "optimizer", "epochs", "seed",
    "overrides", "config", "test_acc", "test_loss", "best_val_acc", "n_params", "n_params_by_hand",
    "macs_per_example", "n_classes", "class_names", "input_shape", "iterations", "train_seconds",
    "seconds_per_epoch", "device", "precision", "torch_version",
)
# Fields this module derives itself; a results.json key of the same name must not overwrite them.
OWN_FIELDS = ("run_dir", "sweep_dir", "started", "status", "overrides", "config")

SUMMARY_COLUMNS = (
    "model", "data", "variant", "epochs", "seeds", "n_params", "macs_per_example", "test_acc_mean",
    "test_acc_std", "best_val_acc_mean", "best_val_acc_std", "seconds_per_epoch", "status", "runs", "config",
)
DASH = "—"

LATEST_HELP = (
    "keep only the newest run of each configuration. A configuration is the chosen config groups plus the "
    "value overrides (hydra.* settings left out) plus the seed, so re-running a sweep supersedes the older "
    "sweep's runs of the same configurations, while configurations that were run only once are all kept. "
    "'Newest' is the latest modification time of the run's .hydra/config.yaml (written when the job starts); "
    "ties go to the later run directory path. Applied after --where."
)


# ---------------------------------------------------------------------------------------------------------------
# Finding and reading runs


def is_run_dir(path: Path) -> bool:
    return (path / ".hydra").is_dir() and (path / "results.json").is_file()


def find_runs(paths: Iterable[str | Path], max_depth: int | None = None) -> list[Path]:
    """Every run directory at or below each path, sorted and without duplicates.

    Hidden directories (.git, .venv, a run's own .hydra) are not entered, nor is a run directory once found:
    the walk over a large outputs/ folder then costs one listing per run. ``max_depth`` bounds how many
    levels below a path are searched (None: no bound).
    """
    found: dict[Path, Path] = {}
    for root in map(Path, paths):
        for dirpath, dirnames, _ in os.walk(root):
            here = Path(dirpath)
            if is_run_dir(here):
                found.setdefault(here.resolve(), here)
                dirnames.clear()
                continue
            depth = len(here.relative_to(root).parts)
            if max_depth is not None and depth >= max_depth:
                dirnames.clear()
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
    return sorted(found.values())


def load_run(run_dir: str | Path) -> dict[str, Any]:
    """One run as a flat record: the fields of CSV_COLUMNS, every results.json key, and private ``_`` keys.

    The private keys, left out of the CSV, are ``_config`` (the composed job config, for ``--where
    trainer.epochs=5``), ``_choices`` (Hydra's chosen config groups), ``_items`` (the configuration used
    for grouping, see :func:`config_items`) and ``_mtime`` (job start, for ``--latest``). Nothing here raises on a half-written or broken run: a
    results.json that cannot be parsed gives status "unreadable" and the parser's message in ``error``.
    """
    run_dir = Path(run_dir)
    hydra_dir = run_dir / ".hydra"
    config = _read_yaml(hydra_dir / "config.yaml", default={})
    choices = _read_yaml(hydra_dir / "hydra.yaml", default={})
    choices = _dig(choices, "hydra.runtime.choices", default={})
    choices = {str(k): v for k, v in choices.items() if v is not None} if isinstance(choices, dict) else {}
    overrides = [str(o) for o in _read_yaml(hydra_dir / "overrides.yaml", default=[])]
    results, problem = _read_results(run_dir / "results.json")

    record: dict[str, Any] = dict.fromkeys(CSV_COLUMNS)
    record.update(
        model=choices.get("model"), data=choices.get("data"), optimizer=choices.get("optimizer"),
        epochs=_dig(config, "trainer.epochs"), seed=_dig(config, SEED_OVERRIDE),
    )
    record.update({k: v for k, v in results.items() if v is not None and k not in OWN_FIELDS})
    if record["best_val_acc"] is None:
        # A running run has no best_val_acc yet; the best so far is more useful in the CSV than a blank.
        record["best_val_acc"] = max(read_val_curve(run_dir)[1], default=None)
    if problem:
        record["error"] = problem

    items = config_items(choices, overrides, record)
    mtime = _mtime(hydra_dir / "config.yaml")
    record.update(
        run_dir=str(run_dir), sweep_dir=_sweep_dir(run_dir), overrides=" ".join(overrides),
        started=datetime.fromtimestamp(mtime).isoformat(timespec="seconds"),
        status=UNREADABLE if problem else str(results.get("status") or "unknown"),
        config=" ".join(f"{k}={v}" for k, v in items.items()),
        _config=config, _choices=choices, _items=items, _mtime=mtime,
    )
    return record


def config_items(choices: dict[str, Any], overrides: Sequence[str], record: dict[str, Any]) -> dict[str, str]:
    """The configuration that groups runs: chosen config groups plus value overrides, minus the seed.

    Group overrides (``model=gru``) are already in the choices, so a run that names the default group
    explicitly groups with one that relies on it. Hydra's own settings (``hydra/launcher``,
    ``hydra.sweep.dir``) change where a job runs, not what it computes, so they are left out.
    """
    items = {k: str(v) for k, v in choices.items() if not k.startswith("hydra")}
    for text in overrides:
        key, _, value = text.lstrip("+~").partition("=")
        if key in choices or key.startswith("hydra") or key == SEED_OVERRIDE:
            continue
        items[key] = value
    for key in ("model", "data"):
        if key not in items and record.get(key) is not None:
            items[key] = str(record[key])
    return dict(sorted(items.items()))


def read_val_curve(run_dir: Path) -> tuple[list[float], list[float]]:
    """(iterations, val_acc) from metrics.csv, skipping rows without validation and a half-written last row."""
    path = Path(run_dir) / "metrics.csv"
    if not path.is_file():  # a device or fifo (a link to /dev/full, say) would never end
        return [], []
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error):
        return [], []
    points = [(_number(row.get("iteration")), _number(row.get("val_acc"))) for row in rows]
    points = [(it, acc) for it, acc in points if it is not None and acc is not None]
    return [it for it, _ in points], [acc for _, acc in points]


def _read_results(path: Path) -> tuple[dict[str, Any], str | None]:
    if not path.is_file():
        return {}, "results.json: not a regular file"
    try:
        results = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        return {}, f"results.json: {err}"
    if not isinstance(results, dict):
        return {}, "results.json: not a JSON object"
    return results, None


def _read_yaml(path: Path, default: Any) -> Any:
    try:
        loaded = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return default
    return loaded if isinstance(loaded, type(default)) else default


def _dig(tree: Any, dotted: str, default: Any = None) -> Any:
    for part in dotted.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return default
        tree = tree[part]
    return tree


def _sweep_dir(run_dir: Path) -> str:
    return str(run_dir.parent) if (run_dir.parent / "multirun.yaml").is_file() else ""


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


# ---------------------------------------------------------------------------------------------------------------
# Selecting runs

_MISSING = object()


def parse_where(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def field_value(record: dict[str, Any], key: str) -> Any:
    """A record field, else a dotted path into the job config, else a chosen config group; _MISSING if none."""
    if key in record and not key.startswith("_"):
        return record[key]
    value = _dig(record.get("_config", {}), key, default=_MISSING)
    if value is not _MISSING:
        return value
    return record.get("_choices", {}).get(key, _MISSING)


def matches(actual: Any, wanted: str) -> bool:
    """Compare as the user means it: 5 == "5", 0.001 == "1e-3", True == "true", None == "null"."""
    if actual is _MISSING:
        return False
    if actual is None:
        return wanted.lower() in ("null", "none", "")
    if isinstance(actual, bool):
        return wanted.lower() == str(actual).lower()
    if isinstance(actual, (int, float)) and _number(wanted) is not None:
        return float(actual) == _number(wanted)
    return str(actual) == wanted


def filter_records(records: list[dict[str, Any]], wheres: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """Runs matching every KEY=VALUE. A key no run knows is a typo, reported rather than matching nothing."""
    for key, _ in wheres:
        if all(field_value(r, key) is _MISSING for r in records):
            raise UserInputError(f"--where {key}: no run has a field, config path or config group named {key!r}")
    return [r for r in records if all(matches(field_value(r, k), v) for k, v in wheres)]


def group_key(record: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(record["_items"].items())


def keep_latest(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest run of each configuration (group key plus seed); see LATEST_HELP. Order is kept."""
    newest: dict[tuple, dict[str, Any]] = {}
    for record in records:
        identity = (group_key(record), str(record["seed"]))
        held = newest.get(identity)
        if held is None or (record["_mtime"], record["run_dir"]) > (held["_mtime"], held["run_dir"]):
            newest[identity] = record
    kept = {id(r) for r in newest.values()}
    return [r for r in records if id(r) in kept]


def distinguishing_keys(records: Sequence[dict[str, Any]], with_seed: bool = True) -> list[str]:
    """The configuration keys whose values are not the same in every run (a key some runs lack counts)."""
    keys = sorted({k for r in records for k in r["_items"]})
    differing = [k for k in keys if len({r["_items"].get(k) for r in records}) > 1]
    if with_seed and len({str(r["seed"]) for r in records}) > 1:
        differing.append("seed")
    return differing


def run_label(record: dict[str, Any], keys: Sequence[str]) -> str:
    values = dict(record["_items"], seed=str(record["seed"]))
    return " ".join(f"{k}={values[k]}" for k in keys if k in values) or str(record["model"])


# ---------------------------------------------------------------------------------------------------------------
# Summarising


def summarize(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per (configuration without the seed, status), columns SUMMARY_COLUMNS.

    Runs that differ only by seed share a row: test and best-validation accuracy are the mean and the sample
    standard deviation (n-1) over its completed runs; the std is NaN for a single run. Rows of other
    statuses keep their runs visible but carry no accuracy. ``variant`` names the overrides that tell rows
    apart beyond model, data and epochs (e.g. ``model.hidden_size=128``).
    """
    import pandas as pd

    variant_keys = [k for k in distinguishing_keys(records, with_seed=False)
                    if k not in ("model", "data", "trainer.epochs")]
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault((group_key(record), record["status"]), []).append(record)
    rows = sorted((_summary_row(members, variant_keys) for members in groups.values()), key=_row_order)
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def _summary_row(members: list[dict[str, Any]], variant_keys: Sequence[str]) -> dict[str, Any]:
    first = members[0]
    done = [r for r in members if r["status"] == COMPLETED]
    test_mean, test_std = mean_std(r["test_acc"] for r in done)
    val_mean, val_std = mean_std(r["best_val_acc"] for r in done)
    return {
        "model": first["model"], "data": first["data"],
        "variant": " ".join(f"{k}={first['_items'][k]}" for k in variant_keys if k in first["_items"]),
        "epochs": _joined(r["epochs"] for r in members), "seeds": _joined(r["seed"] for r in members),
        "n_params": _first(r["n_params"] for r in members),
        "macs_per_example": _first(r["macs_per_example"] for r in members),
        "test_acc_mean": test_mean, "test_acc_std": test_std,
        "best_val_acc_mean": val_mean, "best_val_acc_std": val_std,
        "seconds_per_epoch": mean_std(r["seconds_per_epoch"] for r in done)[0],
        "status": first["status"], "runs": len(members), "config": first["config"],
    }


def mean_std(values: Iterable[Any]) -> tuple[float, float]:
    """Mean and sample standard deviation of the numeric values; NaN where there are too few."""
    numbers = [n for n in map(_number, values) if n is not None]
    mean = statistics.fmean(numbers) if numbers else math.nan
    std = statistics.stdev(numbers) if len(numbers) > 1 else math.nan
    return mean, std


def _row_order(row: dict[str, Any]) -> tuple:
    return (str(row["data"]), str(row["model"]), row["variant"], row["status"] != COMPLETED, row["status"])


def _joined(values: Iterable[Any]) -> str:
    distinct = {v for v in values if v is not None}
    return ",".join(str(v) for v in sorted(distinct, key=lambda v: (_number(v) is None, _number(v) or 0, str(v))))


def _first(values: Iterable[Any]) -> Any:
    return next((v for v in values if v is not None), None)


# ---------------------------------------------------------------------------------------------------------------
# Formatting

# (header, formatter of a summary row, right-aligned)
_DISPLAY = (
    ("model", lambda r: _text(r["model"]), False),
    ("data", lambda r: _text(r["data"]), False),
    ("variant", lambda r: r["variant"] or "", False),
    ("epochs", lambda r: r["epochs"] or DASH, True),
    ("seeds", lambda r: r["seeds"] or DASH, False),
    ("params", lambda r: _integer(r["n_params"]), True),
    ("MACs/example", lambda r: _integer(r["macs_per_example"]), True),
    ("test acc", lambda r: _accuracy(r["test_acc_mean"], r["test_acc_std"]), True),
    ("best val acc", lambda r: _accuracy(r["best_val_acc_mean"], r["best_val_acc_std"]), True),
    ("s/epoch", lambda r: _decimal(r["seconds_per_epoch"], 2), True),
    ("status", lambda r: _text(r["status"]), False),
    ("runs", lambda r: str(r["runs"]), True),
)


def format_table(summary: pd.DataFrame, markdown: bool = False) -> str:
    """The summary as an aligned plain-text table, or as a markdown table. No variant column when unused."""
    rows = summary.to_dict("records")
    columns = [c for c in _DISPLAY if c[0] != "variant" or any(r["variant"] for r in rows)]
    headers = [name for name, _, _ in columns]
    cells = [[fmt(row) for _, fmt, _ in columns] for row in rows]
    right = [r for _, _, r in columns]
    return _markdown(headers, cells, right) if markdown else _plain(headers, cells, right)


def _plain(headers: list[str], cells: list[list[str]], right: list[bool]) -> str:
    widths = [max(len(c) for c in column) for column in zip(headers, *cells)]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, cells)])


def _markdown(headers: list[str], cells: list[list[str]], right: list[bool]) -> str:
    def line(values: list[str]) -> str:
        return "| " + " | ".join(v.replace("|", "\\|") for v in values) + " |"

    rule = "|" + "|".join("---:" if r else "---" for r in right) + "|"
    return "\n".join([line(headers), rule, *map(line, cells)])


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _text(value: Any) -> str:
    return DASH if _missing(value) else str(value)


def _integer(value: Any) -> str:
    number = _number(value)
    return DASH if number is None else f"{round(number):,}"


def _decimal(value: Any, places: int) -> str:
    number = _number(value)
    return DASH if number is None else f"{number:.{places}f}"


def _accuracy(mean: Any, std: Any) -> str:
    if _number(mean) is None:
        return DASH
    if _number(std) is None:
        return f"{mean:.4f}"
    return f"{mean:.4f} ± {std:.4f}"


# ---------------------------------------------------------------------------------------------------------------
# Writing


def write_comparison(records: Sequence[dict[str, Any]], out_dir: str | Path) -> list[Path]:
    """Write OUTPUT_FILES into out_dir (created if needed) and return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize(records)
    paths = [out_dir / name for name in OUTPUT_FILES]
    write_csv(records, paths[0])
    write_markdown(summary, records, paths[1])
    plot_val_acc(records, paths[2])
    plot_test_acc_against(summary, "macs_per_example", "multiply-accumulates per example", paths[3])
    plot_test_acc_against(summary, "n_params", "parameters", paths[4])
    return paths


def write_csv(records: Sequence[dict[str, Any]], path: Path) -> None:
    extra = sorted({k for r in records for k in r if k not in CSV_COLUMNS and not k.startswith("_")})
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[*CSV_COLUMNS, *extra], extrasaction="ignore")
        writer.writeheader()
        for record in records:
            writer.writerow({k: _csv_cell(record.get(k)) for k in writer.fieldnames})


def _csv_cell(value: Any) -> Any:
    # Lists (class_names, input_shape) as JSON rather than Python reprs, so any tool can read them back.
    return json.dumps(value) if isinstance(value, (list, dict)) else ("" if value is None else value)


def write_markdown(summary: pd.DataFrame, records: Sequence[dict[str, Any]], path: Path) -> None:
    counts = ", ".join(f"{n} {s}" for s, n in sorted(_status_counts(records).items()))
    text = [
        "# Comparison", "",
        f"{_runs(len(records))} ({counts}). Accuracy: mean ± sample standard deviation over the completed runs "
        "that differ only by seed; a single run shows its value alone. Per-run values: `comparison.csv`.", "",
        format_table(summary, markdown=True), "",
        "![validation accuracy](val_acc.png)", "",
        "![test accuracy against MACs per example](acc_vs_macs.png)", "",
        "![test accuracy against parameters](acc_vs_params.png)", "",
    ]
    path.write_text("\n".join(text))


def _status_counts(records: Iterable[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        counts[record["status"]] = counts.get(record["status"], 0) + 1
    return counts


def plot_val_acc(records: Sequence[dict[str, Any]], path: Path) -> None:
    """Validation accuracy against iteration for every completed run; replicas of a configuration share a colour."""
    done = [r for r in records if r["status"] == COMPLETED]
    keys = distinguishing_keys(done)
    colours: dict[tuple, str] = {}
    fig, ax = _figure()
    for record in done:
        iterations, accuracy = read_val_curve(Path(record["run_dir"]))
        if iterations:
            colour = colours.setdefault(group_key(record), f"C{len(colours) % 10}")
            ax.plot(iterations, accuracy, color=colour, linewidth=1.2, label=run_label(record, keys))
    ax.set(xlabel="iteration", ylabel="validation accuracy", title="Validation accuracy")
    if ax.lines:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        _say_empty(ax, "no completed run with validation accuracy in metrics.csv")
    _save(fig, path)


def plot_test_acc_against(summary: pd.DataFrame, column: str, xlabel: str, path: Path) -> None:
    """Mean test accuracy (error bar: std over seeds) of each completed configuration against a cost, log x."""
    import pandas as pd

    done = summary[summary["status"] == COMPLETED].copy()
    done["x"] = pd.to_numeric(done[column], errors="coerce")
    done = done[(done["x"] > 0) & done["test_acc_mean"].notna()]
    fig, ax = _figure()
    if len(done):
        ax.errorbar(done["x"], done["test_acc_mean"], yerr=done["test_acc_std"].fillna(0.0), fmt="o", capsize=3)
        for row in done.to_dict("records"):
            label = " ".join(str(p) for p in (row["model"], row["variant"]) if p)
            ax.annotate(label, (row["x"], row["test_acc_mean"]), xytext=(4, 4), textcoords="offset points",
                        fontsize="small")
        ax.set_xscale("log")
    else:
        _say_empty(ax, f"no completed run with test accuracy and {column}")
    ax.set(xlabel=f"{xlabel} (log scale)", ylabel="test accuracy (mean ± std over seeds)",
           title=f"Test accuracy against {xlabel}")
    _save(fig, path)


def _figure() -> tuple[Any, Any]:
    # Figure without pyplot: no global figure registry, no GUI backend to pick, safe inside Hydra's process
    # (Matplotlib >= 3.1, see its "Embed in a web application server" example).
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5))
    ax = fig.subplots()
    ax.grid(alpha=0.3)
    return fig, ax


def _say_empty(ax: Any, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="grey")


def _save(fig: Any, path: Path) -> None:
    fig.savefig(path, dpi=120, bbox_inches="tight")


# ---------------------------------------------------------------------------------------------------------------
# Command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rnn_speech.compare",
        description="Compare training runs: print a grouped table and write comparison.csv, comparison.md, "
                    "val_acc.png, acc_vs_macs.png and acc_vs_params.png. A run directory is any directory "
                    "holding .hydra/ and results.json.",
        epilog="Runs differing only by seed.value share a table row: accuracy is mean ± sample std over their "
               "completed runs. Running, failed, interrupted and unreadable runs are listed with their status "
               "and kept out of means and plots. Exit status: 0 done, 1 no runs to compare (or output could "
               "not be written), 2 bad arguments.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="run directories, sweep directories or folders to search "
                             "(default: outputs/ and multirun/ in the current directory, those that exist)")
    parser.add_argument("--where", action="append", default=[], type=parse_where, metavar="KEY=VALUE",
                        help="keep runs whose KEY equals VALUE; KEY is a comparison.csv column (model, status, "
                             "seed, ...), a config path (trainer.epochs, seed.value, model.hidden_size) or a "
                             "config group (optimizer). Repeat to require several.")
    parser.add_argument("--latest", action="store_true", help=LATEST_HELP)
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                        help=f"folder for the written files, created if needed (default: ./{DEFAULT_OUT}/)")
    return parser


def search_paths(given: Sequence[str]) -> list[Path]:
    if not given:
        return [Path(p) for p in DEFAULT_PATHS if Path(p).is_dir()]
    for path in map(Path, given):
        if not path.exists():
            raise UserInputError(f"no such file or directory: {path}")
        if not path.is_dir():
            raise UserInputError(f"not a directory: {path}")
    return [Path(p) for p in given]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        selected = select_runs(args)
    except UserInputError as err:
        return _fail(str(err), code=2)
    if isinstance(selected, str):
        return _fail(selected)
    try:
        # Files first: `compare | head` closing stdout early must not cost the comparison on disk.
        written = write_comparison(selected, args.out)
    except OSError as err:
        return _fail(f"cannot write the comparison to {args.out}: {err}")
    print(format_table(summarize(selected)))
    print(f"\n{_runs(len(selected))}; wrote {', '.join(p.name for p in written)} to {Path(args.out)}/")
    return 0


def select_runs(args: argparse.Namespace) -> list[dict[str, Any]] | str:
    """The records to compare, or the one-line reason there are none."""
    paths = search_paths(args.paths)
    records = [load_run(d) for d in find_runs(paths)]
    if not records:
        return _nothing_found(paths, defaulted=not args.paths)
    selected = filter_records(records, args.where)
    if args.latest:
        selected = keep_latest(selected)
    if not selected:
        conditions = " ".join(f"{k}={v}" for k, v in args.where)
        return f"none of the {_runs(len(records))} found matches --where {conditions}"
    return selected


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def _nothing_found(paths: Sequence[Path], defaulted: bool) -> str:
    if defaulted and not paths:
        return f"no runs to compare: neither outputs/ nor multirun/ exists in {Path.cwd()} (give a PATH)"
    return f"no run directories (with .hydra/ and results.json) found under {', '.join(map(str, paths))}"


def _fail(message: str, code: int = 1) -> int:
    print(f"compare: {message}", file=sys.stderr)
    return code


def entry_point() -> int:
    """main() for a shell: a reader that closes the pipe early (`| head`) ends the program quietly."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # As the Python docs' "Note on SIGPIPE" advise: point stdout at devnull so the flush at exit cannot
        # raise a second time, and exit 1 like other tools cut off by their reader.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return code


if __name__ == "__main__":
    sys.exit(entry_point())
