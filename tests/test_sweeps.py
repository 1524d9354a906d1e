"""Real ``-m`` sweeps through Hydra's launchers, then ``python -m rnn_speech.compare``."""

import csv
import json

import pytest

from conftest import make_course_arrays, run_cli, write_course_dir

pytestmark = pytest.mark.slow
FAST = ["trainer.epochs=1", "trainer.batch_size=128"]


@pytest.fixture(scope="module")
def small_course(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep-data")
    return write_course_dir(tmp / "course", make_course_arrays(n=(120, 30, 30)))


def job_results(sweep_dir):
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(sweep_dir.glob("*/results.json"))}


def only_sweep(tmp_path):
    sweeps = list((tmp_path / "multirun").glob("*/*"))
    assert len(sweeps) == 1, sweeps
    return sweeps[0]


def test_three_model_sweep_then_compare(small_course, tmp_path):
    proc = run_cli(["-m", "data=course", f"data.dir={small_course}", "model=mlp,cnn,gru", *FAST], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    sweep = only_sweep(tmp_path)
    results = job_results(sweep)
    assert {r["model"]: r["n_params"] for r in results.values()} == {"mlp": 567_171, "cnn": 346_067, "gru": 70_531}
    assert all(r["status"] == "completed" for r in results.values())
    # The callback wrote the sweep's comparison, and refreshed each report's question 4 with its siblings.
    for name in ("comparison.csv", "comparison.md", "val_acc.png", "acc_vs_macs.png", "acc_vs_params.png"):
        assert (sweep / name).is_file(), name
    mlp_report = next((sweep / k / "report.md").read_text() for k, r in results.items() if r["model"] == "mlp")
    gru_acc = next(r["test_acc"] for r in results.values() if r["model"] == "gru")
    assert f"| gru | 70,531 | 4,523,904 | {100 * gru_acc:.2f}% |" in mlp_report

    out = tmp_path / "cmp"
    proc = run_cli([str(tmp_path / "multirun"), "--out", str(out)], cwd=tmp_path, module="rnn_speech.compare")
    assert proc.returncode == 0, proc.stderr
    with open(out / "comparison.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["model"] for r in rows) == ["cnn", "gru", "mlp"]
    assert {r["model"]: float(r["test_acc"]) for r in rows} == {r["model"]: r["test_acc"] for r in results.values()}
    assert "gru" in proc.stdout and "70,531" in proc.stdout


def test_a_failing_job_does_not_take_the_sweep_down(small_course, tmp_path):
    proc = run_cli(["-m", "data=course", f"data.dir={tmp_path / 'missing'},{small_course}", *FAST], cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "1 of 2 jobs did not complete" in proc.stderr
    results = job_results(only_sweep(tmp_path))
    assert results["0"]["status"] == "failed" and "data folder not found" in results["0"]["error"]
    assert results["1"]["status"] == "completed"


def test_joblib_launcher_runs_jobs_in_parallel_directories(small_course, tmp_path):
    proc = run_cli(["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "data=course",
                    f"data.dir={small_course}", "seed.value=0,1", *FAST], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    results = job_results(only_sweep(tmp_path))
    assert sorted(r["seed"] for r in results.values()) == [0, 1]
    assert all(r["status"] == "completed" for r in results.values())


def test_submitit_local_launcher(small_course, tmp_path):
    proc = run_cli(["-m", "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10", "data=course",
                    f"data.dir={small_course}", "model=mlp", *FAST], cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    results = job_results(only_sweep(tmp_path))
    assert [r["status"] for r in results.values()] == ["completed"]


def test_baselines_experiment_pairs_each_model_with_its_course_optimizer(small_course, tmp_path):
    proc = run_cli(["experiment=baselines", "data=course", f"data.dir={small_course}", *FAST], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    results = job_results(only_sweep(tmp_path))
    assert {r["model"]: r["optimizer"] for r in results.values()} == {"mlp": "sgd", "cnn": "adam", "gru": "adam"}
