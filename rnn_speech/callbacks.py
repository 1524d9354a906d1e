"""Hydra callbacks. Registered in conf/config.yaml under ``hydra.callbacks``.

``CompareOnMultirunEnd`` writes ``python -m rnn_speech.compare``'s files for a sweep into the sweep directory
once all of its jobs have returned, so every ``-m`` run ends with its own comparison.csv, comparison.md and
plots next to the job folders.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from rnn_speech import compare
from rnn_speech.compose_errors import composition_succeeded
from rnn_speech.rundir import run_dir_problem

log = logging.getLogger(__name__)


class CompareOnMultirunEnd(Callback):
    """Compare the runs of the sweep that just ended; log, never raise.

    Hydra calls ``on_multirun_end`` in the launching process after the sweeper returns (also with the joblib
    and submitit launchers). It is not called when a job raised: Hydra's basic sweeper re-raises the first
    job failure before reaching it.
    """

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            sweep_dir = Path(str(config.hydra.sweep.dir))
            records = [compare.load_run(d) for d in compare.find_runs([sweep_dir])]
            self._compare(sweep_dir, records)
        except Exception as err:  # noqa: BLE001 -- a summary that cannot be made must not fail a finished sweep
            log.warning("Could not write the comparison of this sweep: %s: %s", type(err).__name__, err)
            log.debug("Comparison failure", exc_info=True)
            return
        _exit_nonzero_if_jobs_failed(sweep_dir, records)

    @staticmethod
    def _compare(sweep_dir: Path, records: list[dict]) -> None:
        if not records:
            log.warning("No run directories in %s; no comparison written", sweep_dir)
            return
        compare.write_comparison(records, sweep_dir)
        _refresh_reports(records)
        table = compare.format_table(compare.summarize(records))
        log.info("Comparison of %d runs written to %s\n%s", len(records), sweep_dir, table)


def _refresh_reports(records: list[dict]) -> None:
    """Jobs that finished early could not see their siblings; give every report the whole sweep."""
    from rnn_speech.report import refresh_comparison
    from rnn_speech.sibling_runs import find_siblings

    for record in records:
        if record.get("status") == compare.COMPLETED:
            refresh_comparison(Path(record["run_dir"]), find_siblings(record["run_dir"]))


def _exit_nonzero_if_jobs_failed(sweep_dir: Path, records: list[dict]) -> None:
    """Failed jobs let the others finish (see rnn_speech.failure), but the sweep's exit code must tell."""
    failed = [r for r in records if r.get("status") != compare.COMPLETED]
    if failed:
        print(f"error: {len(failed)} of {len(records)} jobs did not complete "
              f"(see the status column of {sweep_dir / 'comparison.md'})", file=sys.stderr)
        raise SystemExit(1)


class GuardOutputDir(Callback):
    """Check the output directory before Hydra creates it and writes ``.hydra/`` into it.

    Hydra would otherwise print a traceback for an unwritable directory, and would
    overwrite a finished run's saved config when pointed at its directory.
    """

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        composition_succeeded()
        run_dir = Path(str(config.hydra.run.dir))
        problem = run_dir_problem(run_dir, resuming=config.get("resume") is not None)
        if problem:
            _refuse(problem)
        _require_writable(run_dir)

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        composition_succeeded()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _require_writable(Path(str(config.hydra.sweep.dir)))


def _require_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        _refuse(f"{folder}: the output directory cannot be written ({err.strerror or err})")


def _refuse(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(1)  # SystemExit passes through Hydra's error printing: no traceback
