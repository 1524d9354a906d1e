"""``metrics.csv``: one row per training iteration, flushed as written."""

from __future__ import annotations

import csv
import errno
import os
from pathlib import Path

from rnn_speech.errors import UserInputError

COLUMNS = ("iteration", "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "elapsed_s")


class MetricsLog:
    """Append-only CSV writer; ``truncate_to`` cuts rows past a checkpoint before resuming."""

    def __init__(self, path: Path):
        self.path = Path(path)
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._file = self._guard(lambda: open(self.path, "a", newline="", encoding="utf-8"))
        self._writer = csv.writer(self._file)
        if new:
            self._emit(COLUMNS)

    def write(self, iteration: int, epoch: int, train_loss: float, train_acc: float,
              val: tuple[float, float] | None, elapsed_s: float) -> None:
        val_loss, val_acc = (f"{val[0]:.6g}", f"{val[1]:.6g}") if val else ("", "")
        self._emit((iteration, epoch, f"{train_loss:.6g}", f"{train_acc:.6g}", val_loss, val_acc, f"{elapsed_s:.3f}"))

    def _emit(self, row) -> None:
        def write():
            self._writer.writerow(row)
            # Flushed per row so that a crashed or killed run leaves a readable file.
            self._file.flush()
        self._guard(write)

    def _guard(self, action):
        try:
            return action()
        except OSError as err:
            if err.errno == errno.ENOSPC:
                raise UserInputError(f"{self.path}: the disk is full; metrics could not be written") from None
            raise UserInputError(f"{self.path}: cannot write metrics ({err.strerror})") from None

    def close(self) -> None:
        try:
            self._file.close()
        except OSError:
            pass

    @staticmethod
    def truncate_to(path: Path, iteration: int) -> None:
        """Keep the header and the rows up to ``iteration`` (a resumed run rewrites the rest)."""
        path = Path(path)
        if not path.exists():
            return
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [lines[0]] if lines else []
        for line in lines[1:]:
            head = line.split(",", 1)[0]
            if head.isdigit() and int(head) <= iteration and line.endswith("\n"):
                kept.append(line)
        tmp = path.with_suffix(".csv.tmp")
        tmp.write_text("".join(kept), encoding="utf-8")
        os.replace(tmp, path)
