"""Bad input and hostile conditions through the command line: one line, non-zero exit, nothing that looks finished."""

import json
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, run_cli


def assert_one_line_failure(proc, pattern):
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and re.search(pattern, lines[0]), proc.stderr


def assert_nothing_claims_success(run_dir):
    if (run_dir / "results.json").exists():
        results = json.loads((run_dir / "results.json").read_text())
        assert results["status"] == "failed" and "test_acc" not in results
    for name in ("report.md", "model.pt", "loss.png", "accuracy.png"):
        assert not (run_dir / name).exists(), name


def course_run(course_dir, run_dir, *extra):
    return run_cli(["data=course", f"data.dir={course_dir}", "trainer.epochs=1", "trainer.batch_size=128",
                    f"hydra.run.dir={run_dir}", *extra], cwd=course_dir.parent)


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


@pytest.mark.parametrize("breakage,pattern", [
    (lambda d: (d / "X_test.p").write_bytes((d / "X_test.p").read_bytes()[:100]), r"X_test.p: not a readable pickle"),
    (lambda d: (d / "Y_train.p").write_bytes(pickle.dumps(_Payload())), r"Y_train.p: refusing to load"),
    (lambda d: (d / "X_train.p").write_bytes(pickle.dumps(np.zeros((240, 40, 101), np.float32))),
     r"X_train.p: expected shape \(N, 101, 40\) .* found \(240, 40, 101\) \(frames and features look transposed\)"),
    (lambda d: (d / "X_valid.p").unlink(), r"missing course file\(s\) X_valid.p"),
])
def test_bad_course_files_through_the_cli(course_dir, tmp_path, breakage, pattern):
    breakage(course_dir)
    run_dir = tmp_path / "run"
    proc = course_run(course_dir, run_dir)
    assert_one_line_failure(proc, pattern)
    assert "pwned" not in proc.stdout
    assert_nothing_claims_success(run_dir)


def test_unwritable_output_directory(course_dir, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    proc = course_run(course_dir, blocker / "run")
    assert_one_line_failure(proc, r"a_file/run: the output directory cannot be written")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full to simulate a full disk")
def test_disk_full_while_metrics_are_written(course_dir, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    # Every write to /dev/full fails with ENOSPC, exactly as on a full disk.
    (run_dir / "metrics.csv").symlink_to("/dev/full")
    proc = course_run(course_dir, run_dir)
    assert_one_line_failure(proc, r"metrics.csv: the disk is full; metrics could not be written")
    assert_nothing_claims_success(run_dir)


def test_nan_loss_stops_the_run(course_dir, tmp_path):
    run_dir = tmp_path / "run"
    proc = course_run(course_dir, run_dir, "model=mlp", "optimizer=sgd", "optimizer.lr=1e12", "trainer.epochs=3")
    assert_one_line_failure(proc, r"the training loss became (nan|inf) at iteration \d+; lower optimizer.lr")
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "failed" and "training loss became" in results["error"]
    assert_nothing_claims_success(run_dir)


def test_concurrent_runs_get_their_own_directories(course_dir, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    args = [sys.executable, "-m", "rnn_speech.run", "data=course", f"data.dir={course_dir}", "trainer.epochs=1",
            "trainer.batch_size=256"]
    procs = [subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(3)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    runs = sorted((tmp_path / "outputs").glob("*/*/results.json"))
    assert len(runs) == 3
    assert all(json.loads(p.read_text())["status"] == "completed" for p in runs)
