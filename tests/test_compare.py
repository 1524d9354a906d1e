"""compare.py, the multirun callback and find_siblings, on fake run directories written by hand.

The fixture tree mimics what the trainer and Hydra leave behind:

    multirun/2024-05-01/12-00-00/   multirun.yaml
        0..5   gru, lstm, mlp x seeds 0, 1     completed
        6      cnn seed 0                      failed, with an error message
        7      cnn seed 1                      running: no test_acc, half-written metrics.csv
    outputs/2024-05-02/08-00-00     gru seed 0   results.json cut off mid-write
    outputs/2024-05-02/09-00-00     lstm seed 0, model.hidden_size=128, completed
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from rnn_speech import compare
from rnn_speech.callbacks import CompareOnMultirunEnd
from rnn_speech.sibling_runs import find_siblings

REPO = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
N_PARAMS = {"gru": 10_000, "lstm": 13_000, "mlp": 50_000, "cnn": 30_000}
MACS = {"gru": 1_000_000, "lstm": 1_300_000, "mlp": 50_000, "cnn": 3_000_000}
SWEEP_ACC = {("gru", 0): 0.80, ("gru", 1): 0.90, ("lstm", 0): 0.70, ("lstm", 1): 0.74,
             ("mlp", 0): 0.50, ("mlp", 1): 0.60}
CLASSES = ["yes", "no"]


# ---------------------------------------------------------------------------------------------------------------
# Fixture factory


def make_run(run_dir: Path, *, model: str = "gru", seed: int = 0, data: str = "course", status: str = "completed",
             test_acc: float | None = 0.5, overrides: list[str] | None = None, error: str | None = None,
             results_text: str | None = None, metrics_text: str | None = None, started: float | None = None,
             hidden_size: int = 64, class_names: list[str] = CLASSES) -> Path:
    """A run directory as the trainer writes it; ``started`` sets the job start time (config.yaml's mtime)."""
    hydra_dir = run_dir / ".hydra"
    hydra_dir.mkdir(parents=True)
    config = {
        "model": {"_target_": "rnn_speech.models.Recurrent", "rnn_type": model.upper(), "hidden_size": hidden_size},
        "data": {"_target_": f"rnn_speech.data.{data}.load"}, "optimizer": {"lr": 0.001},
        "seed": {"value": seed},
        "trainer": {"epochs": 5, "batch_size": 1024, "eval_every": 1, "device": "cpu", "precision": "fp32"},
    }
    choices = {"model": model, "data": data, "optimizer": "adam", "seed": "default", "hydra/launcher": "basic"}
    (hydra_dir / "config.yaml").write_text(yaml.safe_dump(config))
    (hydra_dir / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"runtime": {"choices": choices}}}))
    (hydra_dir / "overrides.yaml").write_text(yaml.safe_dump(overrides or []))
    if metrics_text is None:
        metrics_text = _metrics(final_val=test_acc if test_acc is not None else 0.3)
    (run_dir / "metrics.csv").write_text(metrics_text)
    if results_text is None:
        results_text = json.dumps(_results(model, seed, data, status, test_acc, error, class_names))
    (run_dir / "results.json").write_text(results_text)
    if started is not None:
        os.utime(hydra_dir / "config.yaml", (started, started))
    return run_dir


def _metrics(final_val: float) -> str:
    header = "iteration,epoch,train_loss,train_acc,val_loss,val_acc,elapsed_s\n"
    rows = ["1,0,1.0,0.4,,,0.1", f"2,0,0.9,0.5,0.95,{final_val - 0.1:.3f},0.2",
            "3,1,0.8,0.6,,,0.3", f"4,1,0.7,0.7,0.75,{final_val:.3f},0.4"]
    return header + "\n".join(rows) + "\n"


def _results(model, seed, data, status, test_acc, error, class_names) -> dict:
    results = {"status": status, "model": model, "data": data, "seed": seed, "n_params": N_PARAMS[model],
               "n_params_by_hand": N_PARAMS[model], "macs_per_example": MACS[model], "n_classes": len(class_names),
               "class_names": class_names, "input_shape": [101, 40], "device": "cpu", "precision": "fp32",
               "torch_version": "2.13.0"}
    if status == "completed":
        results.update(test_acc=test_acc, test_loss=1 - test_acc, best_val_acc=test_acc + 0.01, epochs=5,
                       iterations=4, train_seconds=10.0, seconds_per_epoch=2.0)
    if error is not None:
        results["error"] = error
    return results


def make_tree(root: Path) -> Path:
    sweep = root / "multirun" / "2024-05-01" / "12-00-00"
    sweep.mkdir(parents=True)
    (sweep / "multirun.yaml").write_text("hydra: {}\n")
    for job, ((model, seed), acc) in enumerate(SWEEP_ACC.items()):
        make_run(sweep / str(job), model=model, seed=seed, test_acc=acc,
                 overrides=[f"model={model}", f"seed.value={seed}"])
    make_run(sweep / "6", model="cnn", seed=0, status="failed", test_acc=None, error="RuntimeError: boom",
             overrides=["model=cnn", "seed.value=0"])
    make_run(sweep / "7", model="cnn", seed=1, status="running", test_acc=None,
             overrides=["model=cnn", "seed.value=1"],
             metrics_text="iteration,epoch,train_loss,train_acc,val_loss,val_acc,elapsed_s\n"
                          "1,0,1.0,0.4,1.1,0.35,0.1\n2,0,0.9")
    make_run(root / "outputs" / "2024-05-02" / "08-00-00", model="gru", results_text='{"status": "compl')
    make_run(root / "outputs" / "2024-05-02" / "09-00-00", model="lstm", test_acc=0.77, hidden_size=128,
             overrides=["model=lstm", "model.hidden_size=128"])
    return root


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "rnn_speech.compare", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def run_main(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = compare.main(list(args))
    return code, out.getvalue(), err.getvalue()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    return make_tree(tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def compared(tree: Path):
    """compare run once over the whole tree (plotting is the slow part); tests read what it wrote."""
    out = tree / "cmp"
    code, stdout, stderr = run_main(str(tree / "multirun"), str(tree / "outputs"), "--out", str(out))
    return code, stdout, stderr, out


# ---------------------------------------------------------------------------------------------------------------
# Reading runs


def test_every_run_is_listed_with_its_status(compared):
    code, _, stderr, out = compared
    assert code == 0, stderr
    rows = read_csv(out / "comparison.csv")
    statuses = sorted(r["status"] for r in rows)
    assert statuses == ["completed"] * 7 + ["failed", "running", "unreadable"]
    failed = next(r for r in rows if r["status"] == "failed")
    assert (failed["model"], failed["error"]) == ("cnn", "RuntimeError: boom")
    unreadable = next(r for r in rows if r["status"] == "unreadable")
    assert unreadable["model"] == "gru" and unreadable["error"].startswith("results.json:")
    running = next(r for r in rows if r["status"] == "running")
    assert running["test_acc"] == "" and float(running["best_val_acc"]) == pytest.approx(0.35)


def test_csv_columns_start_with_the_documented_order(compared):
    rows = read_csv(compared[3] / "comparison.csv")
    assert tuple(rows[0].keys())[: len(compare.CSV_COLUMNS)] == compare.CSV_COLUMNS
    gru0 = next(r for r in rows if r["run_dir"].endswith(os.path.join("12-00-00", "0")))
    assert json.loads(gru0["class_names"]) == CLASSES
    assert gru0["sweep_dir"].endswith("12-00-00") and gru0["overrides"] == "model=gru seed.value=0"


def test_runs_differing_only_by_seed_share_a_row_with_exact_mean_and_sample_std(tree):
    records = [compare.load_run(d) for d in compare.find_runs([tree / "multirun", tree / "outputs"])]
    summary = compare.summarize(records).set_index(["model", "variant", "status"])
    gru = summary.loc[("gru", "", "completed")]
    assert gru["runs"] == 2 and gru["seeds"] == "0,1"
    assert gru["test_acc_mean"] == pytest.approx(0.85, abs=1e-12)
    assert gru["test_acc_std"] == pytest.approx(math.sqrt(0.005), abs=1e-12)  # (0.8-0.85)^2 * 2 / (2-1)
    lstm = summary.loc[("lstm", "", "completed")]
    assert (lstm["test_acc_mean"], lstm["test_acc_std"]) == pytest.approx((0.72, math.sqrt(0.0008)))
    single = summary.loc[("lstm", "model.hidden_size=128", "completed")]
    assert single["runs"] == 1 and single["test_acc_mean"] == pytest.approx(0.77)
    assert math.isnan(single["test_acc_std"])
    # The failed and the running cnn are rows of their own, with no accuracy.
    assert math.isnan(summary.loc[("cnn", "", "failed")]["test_acc_mean"])
    assert summary.loc[("cnn", "", "running")]["runs"] == 1


def test_markdown_and_printed_table_show_mean_pm_std_and_single_values(compared):
    _, stdout, _, out = compared
    md = (out / "comparison.md").read_text()
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert table[0].startswith("| model | data | variant | epochs | seeds | params | MACs/example | test acc |")
    gru_row = next(line for line in table if line.startswith("| gru |") and "completed" in line)
    assert "| 0.8500 ± 0.0707 |" in gru_row and "| 10,000 |" in gru_row and "| 0,1 |" in gru_row
    single = next(line for line in table if "model.hidden_size=128" in line)
    assert "| 0.7700 |" in single and "±" not in single
    failed = next(line for line in table if "failed" in line)
    assert "| — |" in failed
    assert len(table) == 2 + 7  # header, rule, and gru/gru-unreadable/lstm/lstm-128/mlp/cnn-failed/cnn-running
    assert "0.8500 ± 0.0707" in stdout and "unreadable" in stdout


def test_plots_are_png_files(compared):
    out = compared[3]
    for name in ("val_acc.png", "acc_vs_macs.png", "acc_vs_params.png"):
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE, name


# ---------------------------------------------------------------------------------------------------------------
# Command line


def test_where_filters_by_field_in_a_subprocess_without_traceback(tree, tmp_path):
    result = run_cli(str(tree / "multirun"), str(tree / "outputs"), "--where", "model=gru",
                     "--out", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    rows = read_csv(tmp_path / "comparison.csv")
    assert {r["model"] for r in rows} == {"gru"}
    assert sorted(r["status"] for r in rows) == ["completed", "completed", "unreadable"]


def test_where_reaches_config_paths_and_combines(tree, tmp_path):
    code, _, stderr = run_main(str(tree), "--where", "model.hidden_size=128", "--where", "trainer.epochs=5",
                               "--out", str(tmp_path))
    assert code == 0, stderr
    assert [r["model"] for r in read_csv(tmp_path / "comparison.csv")] == ["lstm"]


def test_where_with_unknown_key_is_a_one_line_error(tree, tmp_path):
    code, _, stderr = run_main(str(tree), "--where", "modle=gru", "--out", str(tmp_path))
    assert code == 2 and stderr.count("\n") == 1 and "modle" in stderr


def test_latest_keeps_the_newest_run_of_each_configuration(tmp_path, monkeypatch):
    old, new = tmp_path / "multirun" / "d" / "old", tmp_path / "multirun" / "d" / "new"
    for sweep in (old, new):
        sweep.mkdir(parents=True)
        (sweep / "multirun.yaml").write_text("{}\n")
    make_run(old / "0", model="gru", seed=0, test_acc=0.6, overrides=["model=gru", "seed.value=0"], started=1000)
    make_run(old / "1", model="lstm", seed=0, test_acc=0.7, overrides=["model=lstm", "seed.value=0"], started=1000)
    make_run(new / "0", model="gru", seed=0, test_acc=0.9, overrides=["model=gru", "seed.value=0"], started=3000)
    # Same configuration as the gru jobs (seed 0 is the config default), launched in between: superseded.
    make_run(tmp_path / "outputs" / "d" / "t", model="gru", test_acc=0.8, started=2000)
    make_run(tmp_path / "outputs" / "d" / "u", model="gru", seed=1, test_acc=0.5, started=500)

    monkeypatch.chdir(tmp_path)  # no PATH: the default outputs/ and multirun/ of the current directory
    code, _, stderr = run_main("--latest")
    assert code == 0, stderr
    kept = {(Path(r["run_dir"]).parent.name, Path(r["run_dir"]).name)
            for r in read_csv(tmp_path / "comparison" / "comparison.csv")}
    assert kept == {("new", "0"), ("old", "1"), ("d", "u")}


def test_no_runs_found_exits_1_with_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    code, stdout, stderr = run_main(str(tmp_path / "empty"))
    assert code == 1 and stdout == ""
    assert stderr.startswith("compare: no run directories") and stderr.count("\n") == 1


def test_default_paths_missing_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, stderr = run_main()
    assert code == 1 and "neither outputs/ nor multirun/" in stderr


def test_nonexistent_path_exits_2_without_traceback(tmp_path):
    result = run_cli(str(tmp_path / "nope"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == f"compare: no such file or directory: {tmp_path / 'nope'}"


def test_module_stays_light_to_import():
    code = "import sys, rnn_speech.compare; print(sorted({'torch', 'pandas', 'matplotlib'} & set(sys.modules)))"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


# ---------------------------------------------------------------------------------------------------------------
# Callback and siblings


def test_callback_writes_the_comparison_into_the_sweep_dir(tmp_path):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "multirun.yaml").write_text("{}\n")
    make_run(sweep / "0", model="gru", test_acc=0.8)
    make_run(sweep / "1", model="mlp", test_acc=0.6)
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}}})
    CompareOnMultirunEnd().on_multirun_end(config, config_name="config")
    for name in compare.OUTPUT_FILES:
        assert (sweep / name).is_file(), name
    assert len(read_csv(sweep / "comparison.csv")) == 2


def test_callback_logs_instead_of_raising(tmp_path, caplog, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    sweep = tmp_path / "sweep"
    make_run(sweep / "0")
    monkeypatch.setattr(compare, "write_comparison", broken)
    CompareOnMultirunEnd().on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}}}))
    CompareOnMultirunEnd().on_multirun_end(OmegaConf.create({"hydra": {}}))  # no sweep dir at all
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2 and "disk full" in warnings[0]


def test_siblings_in_a_sweep_are_the_other_completed_models(tree):
    siblings = find_siblings(tree / "multirun" / "2024-05-01" / "12-00-00" / "0")
    assert [(r["model"], r["seed"]) for r in siblings] == [("lstm", 0), ("lstm", 1), ("mlp", 0), ("mlp", 1)]


def test_siblings_of_a_single_run_come_from_outputs(tmp_path):
    outputs = tmp_path / "outputs"
    make_run(outputs / "2024-01-01" / "10-00-00", model="gru")
    make_run(outputs / "2024-01-02" / "10-00-00", model="lstm", test_acc=0.7)
    make_run(outputs / "2024-01-02" / "11-00-00", model="mlp", data="tts", test_acc=0.6)  # other data
    make_run(outputs / "2024-01-02" / "12-00-00", model="cnn", class_names=["a", "b", "c"])  # other task
    make_run(outputs / "2024-01-03" / "10-00-00", model="cnn", status="failed", test_acc=None)
    siblings = find_siblings(outputs / "2024-01-01" / "10-00-00")
    assert [r["model"] for r in siblings] == ["lstm"]


STUB_APP = '''
import json
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg):
    out = Path(HydraConfig.get().runtime.output_dir)
    acc = {"gru": 0.8, "lstm": 0.7}[cfg.model] + 0.02 * cfg.seed.value
    (out / "results.json").write_text(json.dumps({"status": "completed", "model": cfg.model, "seed": cfg.seed.value,
                                                  "test_acc": acc, "n_params": 100, "macs_per_example": 1000}))


if __name__ == "__main__":
    main()
'''
STUB_CONFIG = """
model: gru
seed: {value: 0}
hydra:
  callbacks:
    compare:
      _target_: rnn_speech.callbacks.CompareOnMultirunEnd
"""


def test_callback_runs_at_the_end_of_a_real_hydra_multirun(tmp_path):
    """A stub task instead of the trainer: checks Hydra's side of the contract (sweep dir resolvable at the end)."""
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "config.yaml").write_text(STUB_CONFIG)
    (tmp_path / "app.py").write_text(STUB_APP)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "app.py", "-m", "model=gru,lstm", "seed.value=0,1"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    (sweep,) = (tmp_path / "multirun").glob("*/*")
    assert [p.name for p in sorted(sweep.glob("comparison.*"))] == ["comparison.csv", "comparison.md"]
    assert "| gru |" in (sweep / "comparison.md").read_text() and "0.8100 ± 0.0141" in result.stdout + result.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_metrics_file_that_is_a_device_is_not_read(tmp_path):
    # /dev/full reads as an endless stream of zeros; reading it would exhaust memory.
    run = make_run(tmp_path / "run", metrics_text=None)
    (run / "metrics.csv").unlink(missing_ok=True)
    (run / "metrics.csv").symlink_to("/dev/full")
    assert compare.read_val_curve(run) == ([], [])
    assert compare.load_run(run)["status"] == "completed"


def test_no_sibling_search_outside_hydra_layouts(tmp_path):
    make_run(tmp_path / "elsewhere" / "a", model="mlp")
    this = make_run(tmp_path / "elsewhere" / "b", model="gru")
    assert find_siblings(this) == []
