"""How a run ends when something goes wrong: status in results.json, one line on stderr.

The full traceback goes to the job's log file only; the terminal gets a single
line saying what was wrong. Inside a sweep the failure is recorded and the job
returns normally, so one bad job does not take the other jobs down.
"""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from pathlib import Path

from omegaconf.errors import MissingMandatoryValue

from rnn_speech.errors import UserInputError
from rnn_speech.train import TrainingDiverged

log = logging.getLogger("rnn_speech")
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


class Interrupted(Exception):
    """Raised after a clean shutdown on Ctrl-C."""


def log_to_files(message: str, level: int = logging.INFO, exc: BaseException | None = None) -> list[str]:
    """Write a record only to file handlers (the job's .log), not the terminal; return their paths."""
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    record = log.makeRecord(log.name, level, __file__, 0, message, None, exc_info)
    paths = []
    for handler in logging.getLogger().handlers + log.handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)
            paths.append(handler.baseFilename)
    return paths


def user_facing(exc: BaseException) -> BaseException:
    """The error a user should read: Hydra wraps errors raised by ``instantiate`` targets."""
    seen = exc
    while seen is not None:
        if isinstance(seen, (UserInputError, TrainingDiverged, MissingMandatoryValue)):
            return seen
        seen = seen.__cause__ or seen.__context__
    return exc


def describe(exc: BaseException) -> str:
    exc = user_facing(exc)
    if isinstance(exc, (UserInputError, TrainingDiverged)):
        return str(exc)
    if isinstance(exc, MissingMandatoryValue):
        key = exc.full_key or "a setting"
        return f"{key} is required and has no value; give it on the command line: {key}=VALUE"
    if isinstance(exc, MemoryError):
        return "out of memory; lower trainer.batch_size or use a smaller corpus"
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"unexpected {type(exc).__name__}: {first_line}"


@contextmanager
def failure_handling(results, run_dir: Path, in_sweep: bool, job_label: str = ""):
    """Record failed/interrupted status and report one line; exit non-zero outside sweeps."""
    try:
        yield
    except KeyboardInterrupt:
        results.update(status="interrupted", error="interrupted by the user (SIGINT)")
        print(f"interrupted; continue with: python -m rnn_speech.run resume={run_dir}", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # every failure must end as a recorded status, never a half-finished run
        message = describe(exc)
        _record_failure(results, message)
        logs = log_to_files(f"failed: {message}", logging.ERROR, exc)
        plain = isinstance(user_facing(exc), (UserInputError, MissingMandatoryValue))
        where = f" (details in {logs[0]})" if logs and not plain else ""
        print(f"error{job_label}: {message}{where}", file=sys.stderr)
        if not in_sweep:
            sys.exit(EXIT_FAILED)


def _record_failure(results, message: str) -> None:
    try:
        results.update(status="failed", error=message)
    except OSError:
        pass  # the output directory itself is the problem; the terminal line still says what failed
