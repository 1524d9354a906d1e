"""``python -m rnn_speech.run`` end to end on tiny course-format folders."""

import csv
import json
import math
import re

import pytest
import torch

from conftest import run_cli

RESULT_KEYS = {"status", "test_acc", "test_loss", "best_val_acc", "n_params", "n_params_by_hand", "macs_per_example",
               "n_classes", "class_names", "input_shape", "epochs", "iterations", "train_seconds",
               "seconds_per_epoch", "model", "data", "seed", "device", "precision", "torch_version"}


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def train(course_dir, tmp_path, *extra, name="run"):
    run_dir = tmp_path / name
    proc = run_cli(["data=course", f"data.dir={course_dir}", "trainer.epochs=2", "trainer.batch_size=64",
                    f"hydra.run.dir={run_dir}", *extra], cwd=tmp_path)
    return proc, run_dir


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    from conftest import make_course_arrays, write_course_dir

    tmp = tmp_path_factory.mktemp("e2e")
    course_dir = write_course_dir(tmp / "course", make_course_arrays())
    proc, run_dir = train(course_dir, tmp)
    assert proc.returncode == 0, proc.stderr
    return proc, run_dir, course_dir, tmp


def test_run_writes_every_artifact(finished_run):
    proc, run_dir, _, _ = finished_run
    for name in ("metrics.csv", "loss.png", "accuracy.png", "results.json", "report.md", "model.pt",
                 "checkpoint.pt", ".hydra/config.yaml", ".hydra/hydra.yaml", ".hydra/overrides.yaml", "run.log"):
        assert (run_dir / name).is_file(), name
    for png in ("loss.png", "accuracy.png"):
        assert (run_dir / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results = json.loads((run_dir / "results.json").read_text())
    assert RESULT_KEYS <= results.keys()
    assert results["status"] == "completed"
    assert results["n_params"] == results["n_params_by_hand"] == 70_531
    assert results["model"] == "gru" and results["data"] == "course" and results["seed"] == 0
    assert results["iterations"] == 2 * math.ceil(240 / 64) == 8
    assert results["input_shape"] == [101, 40] and results["n_classes"] == 3
    assert 0.0 <= results["test_acc"] <= 1.0 and results["test_acc"] > 0.6  # separable toy data
    # The last line printed names the accuracy, the parameters, the time and the run directory.
    last = proc.stdout.strip().splitlines()[-1]
    assert f"test accuracy {100 * results['test_acc']:.2f}%" in last and "70,531 parameters" in last
    assert str(run_dir) in last
    # Not a terminal here: progress goes to plain log lines, which the job's log keeps too.
    log_text = (run_dir / "run.log").read_text()
    assert "epoch 1/2  iteration 4" in log_text and "epoch 2/2  iteration 8" in log_text
    assert "epoch 2/2" in proc.stdout


def test_metrics_has_one_row_per_iteration(finished_run):
    _, run_dir, _, _ = finished_run
    rows = read_rows(run_dir / "metrics.csv")
    assert list(rows[0]) == ["iteration", "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "elapsed_s"]
    assert [int(r["iteration"]) for r in rows] == list(range(1, 9))
    assert [int(r["epoch"]) for r in rows] == [1] * 4 + [2] * 4
    assert all(r["val_acc"] != "" for r in rows)  # eval_every=1
    elapsed = [float(r["elapsed_s"]) for r in rows]
    assert elapsed == sorted(elapsed)
    results = json.loads((run_dir / "results.json").read_text())
    assert max(float(r["val_acc"]) for r in rows) == pytest.approx(results["best_val_acc"], abs=1e-6)


def test_report_numbers_equal_results(finished_run):
    _, run_dir, _, _ = finished_run
    results = json.loads((run_dir / "results.json").read_text())
    report = (run_dir / "report.md").read_text()
    assert "![loss](loss.png)" in report and "![accuracy](accuracy.png)" in report
    assert f"**{100 * results['test_acc']:.2f}%** on 60 test clips" in report
    assert "| GRU layer 1 | 3·(in·H + H·H + 2·H) | 3·(40·64 + 64·64 + 2·64) | 20,352 |" in report
    assert "**70,531**" in report and "which matches" in report
    assert f"{results['macs_per_example']:,} multiply-accumulates per example" in report
    assert f"{results['seconds_per_epoch']:.2f} s per epoch" in report
    assert "| mlp | 567,171 | 566,656 |" in report and "| cnn | 346,067 | 11,010,560 |" in report


def test_model_file_holds_weights_and_what_is_needed_to_use_them(finished_run):
    from rnn_speech.models import RNNClassifier

    _, run_dir, _, _ = finished_run
    saved = torch.load(run_dir / "model.pt", weights_only=False)
    assert saved["class_names"] == ["class_0", "class_1", "class_2"]
    assert saved["normalize"] == "scalar" and saved["mean"].ndim == 0 and saved["std"].item() > 0
    assert saved["model_config"]["hidden_size"] == 64 and saved["input_shape"] == [101, 40]
    cfg = {k: v for k, v in saved["model_config"].items() if k != "_target_"}
    model = RNNClassifier(saved["input_shape"], saved["num_classes"], **cfg)
    model.load_state_dict(saved["state_dict"])


def test_same_seed_gives_identical_metrics(finished_run):
    _, run_dir, course_dir, tmp = finished_run
    proc, again = train(course_dir, tmp, name="again")
    assert proc.returncode == 0, proc.stderr

    def without_time(path):
        return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in read_rows(path)]

    assert without_time(again / "metrics.csv") == without_time(run_dir / "metrics.csv")
    first, second = (json.loads((d / "results.json").read_text()) for d in (run_dir, again))
    assert first["test_acc"] == second["test_acc"] and first["test_loss"] == second["test_loss"]


@pytest.mark.slow
def test_other_seed_and_eval_every(finished_run):
    _, run_dir, course_dir, tmp = finished_run
    proc, other = train(course_dir, tmp, "seed.value=1", "trainer.eval_every=3", name="seed1")
    assert proc.returncode == 0, proc.stderr
    rows = read_rows(other / "metrics.csv")
    assert read_rows(run_dir / "metrics.csv")[0]["train_loss"] != rows[0]["train_loss"]
    # Validation every 3 iterations, and always after the last one.
    assert [r["iteration"] for r in rows if r["val_acc"]] == ["3", "6", "8"]
    assert json.loads((other / "results.json").read_text())["seed"] == 1


def test_default_output_directory_is_outputs_date_time(course_dir, tmp_path):
    proc = run_cli(["data=course", f"data.dir={course_dir}", "trainer.epochs=1", "trainer.batch_size=256"],
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    runs = list((tmp_path / "outputs").glob("*/*/results.json"))
    assert len(runs) == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\d/\d\d-\d\d-\d\d_\d{6}", str(runs[0].parent.relative_to(tmp_path / "outputs")))


def test_report_compares_with_other_models_in_the_outputs_folder(course_dir, tmp_path):
    for model in ("mlp", "gru"):
        proc = run_cli(["data=course", f"data.dir={course_dir}", f"model={model}", "trainer.epochs=1",
                        "trainer.batch_size=256"], cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    runs = {json.loads(p.read_text())["model"]: p.parent for p in (tmp_path / "outputs").glob("*/*/results.json")}
    mlp = json.loads((runs["mlp"] / "results.json").read_text())
    report = (runs["gru"] / "report.md").read_text()
    assert f"| mlp | 567,171 | 566,656 | {100 * mlp['test_acc']:.2f}% | {mlp['seconds_per_epoch']:.2f} |" in report
    assert "| cnn | 346,067 | 11,010,560 | not run |" in report


def assert_clean_failure(proc, run_dir, pattern):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert re.search(pattern, lines[0]), lines[0]
    if (run_dir / "results.json").exists():
        results = json.loads((run_dir / "results.json").read_text())
        assert results["status"] == "failed" and re.search(pattern, results["error"])
        assert "test_acc" not in results
    assert not (run_dir / "report.md").exists() and not (run_dir / "model.pt").exists()


def test_missing_data_folder_is_one_line_on_stderr(tmp_path):
    proc, run_dir = train(tmp_path / "missing", tmp_path)
    assert_clean_failure(proc, run_dir, r"missing: data folder not found")
    assert "Traceback" in (run_dir / "run.log").read_text()  # the details are kept in the job's log


def test_bad_trainer_values_are_rejected(course_dir, tmp_path):
    proc, run_dir = train(course_dir, tmp_path, "trainer.epochs=-1")
    assert_clean_failure(proc, run_dir, r"trainer.epochs must be a positive integer, got -1")
    proc, run_dir = train(course_dir, tmp_path, "trainer.batch_size=0", name="bs0")
    assert_clean_failure(proc, run_dir, r"trainer.batch_size must be a positive integer, got 0")


def test_unknown_config_key_is_refused(course_dir, tmp_path):
    proc, run_dir = train(course_dir, tmp_path, "trainer.epocks=3")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "error: Could not override 'trainer.epocks'. To append to your config use +trainer.epocks=3 "
        "Key 'epocks' is not in struct, full_key: trainer.epocks, object_type=dict"]
    assert not run_dir.exists()
    proc = run_cli(["model=transformer"], cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "error: In 'config': Could not find 'model/transformer' Available options in 'model': cnn, gru, lstm, mlp"]


def test_a_missing_required_setting_is_named(tmp_path):
    proc = run_cli(["data=course", f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path)
    assert_clean_failure(proc, tmp_path / "run", r"data.dir is required and has no value; .* data.dir=VALUE")


def test_a_finished_run_is_never_overwritten(finished_run):
    _, run_dir, course_dir, tmp = finished_run
    kept = {name: (run_dir / name).read_bytes() for name in ("results.json", "metrics.csv", ".hydra/config.yaml")}
    proc, _ = train(course_dir, tmp, "seed.value=5", name=run_dir.name)
    assert proc.returncode != 0 and "already holds a run" in proc.stderr
    assert {name: (run_dir / name).read_bytes() for name in kept} == kept
