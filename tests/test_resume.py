"""Checkpoints and resume: a run killed or interrupted mid-epoch finishes exactly like an uninterrupted one."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, run_cli

pytestmark = pytest.mark.slow
# 240 training clips / batch 16 = 15 iterations per epoch, 45 in all.
ARGS = ["data=course", "trainer.epochs=3", "trainer.batch_size=16"]
PER_EPOCH = 15


def rows_without_time(run_dir):
    with open(run_dir / "metrics.csv", newline="") as f:
        return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in csv.DictReader(f)]


def count_rows(run_dir) -> int:
    path = run_dir / "metrics.csv"
    return max(0, len(path.read_text().splitlines()) - 1) if path.exists() else 0


def start(course_dir, run_dir):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-m", "rnn_speech.run", *ARGS, f"data.dir={course_dir}",
                             f"hydra.run.dir={run_dir}"], env=env, cwd=run_dir.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_rows(proc, run_dir, n: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while count_rows(run_dir) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run did not reach the expected iteration in time"
        time.sleep(0.005)


@pytest.fixture
def reference(course_dir, tmp_path):
    ref = tmp_path / "reference"
    proc = run_cli([*ARGS, f"data.dir={course_dir}", f"hydra.run.dir={ref}"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return ref


def assert_same_as_reference(run_dir, reference):
    assert rows_without_time(run_dir) == rows_without_time(reference)
    done, ref = (json.loads((d / "results.json").read_text()) for d in (run_dir, reference))
    assert done["status"] == "completed"
    for key in ("test_acc", "test_loss", "best_val_acc", "iterations"):
        assert done[key] == ref[key], key


def test_sigkill_mid_epoch_then_resume_is_identical(course_dir, tmp_path, reference):
    run_dir = tmp_path / "killed"
    run_dir.mkdir()
    proc = start(course_dir, run_dir)
    wait_for_rows(proc, run_dir, PER_EPOCH + 5)  # inside the second epoch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = count_rows(run_dir)
    assert json.loads((run_dir / "results.json").read_text())["status"] == "running"
    assert (run_dir / "checkpoint.pt").is_file() and not (run_dir / "report.md").exists()

    resumed = run_cli([f"resume={run_dir}"], cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in (run_dir / "run.log").read_text()
    assert killed_at % PER_EPOCH != 0 or killed_at > PER_EPOCH  # rows past the checkpoint were rewritten
    assert_same_as_reference(run_dir, reference)
    # The run keeps its own saved config; the resume invocation's config is filed below .hydra/.
    assert "trainer.batch_size=16" in (run_dir / ".hydra" / "overrides.yaml").read_text()
    assert list((run_dir / ".hydra").glob("resume-*/config.yaml"))


def test_ctrl_c_writes_a_clean_checkpoint_and_resume_is_identical(course_dir, tmp_path, reference):
    run_dir = tmp_path / "interrupted"
    run_dir.mkdir()
    proc = start(course_dir, run_dir)
    wait_for_rows(proc, run_dir, PER_EPOCH + 4)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines() == [f"interrupted; continue with: python -m rnn_speech.run resume={run_dir}"]
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "interrupted" and "test_acc" not in results
    stopped_at = count_rows(run_dir)
    assert PER_EPOCH + 4 <= stopped_at < 3 * PER_EPOCH

    resumed = run_cli([f"resume={run_dir}"], cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"at epoch 1, iteration {stopped_at}" in (run_dir / "run.log").read_text()  # mid-epoch, no row lost
    assert_same_as_reference(run_dir, reference)


def test_resume_refuses_a_completed_run_and_a_non_run(tmp_path, reference):
    proc = run_cli([f"resume={reference}"], cwd=tmp_path)
    assert proc.returncode == 1 and "has completed; there is nothing to resume" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run_cli([f"resume={tmp_path / 'nothing'}"], cwd=tmp_path)
    assert proc.returncode == 1 and "not a run directory" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "nothing").exists()  # refused before Hydra creates anything
