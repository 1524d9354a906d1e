"""Progress reporting: a live bar on a terminal, plain log lines otherwise.

Long steps (corpus synthesis, featurizing, training) go through :func:`progress`
so that an interactive user sees a bar while a batch job or CI log gets a few
readable lines instead of carriage-return noise.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

T = TypeVar("T")
log = logging.getLogger("rnn_speech")


def is_interactive() -> bool:
    return sys.stderr.isatty()


class Progress:
    """A counter with a description; draws a bar on a tty, logs ~10 lines otherwise."""

    def __init__(self, total: int, desc: str, unit: str = "it", log_every_fraction: float | None = 0.1):
        self.total = max(int(total), 1)
        self.desc = desc
        self.n = 0
        self._postfix = ""
        self._bar = None
        self._redirect = None
        if is_interactive():
            self._bar = tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)
            # Log lines printed while the bar is live go through tqdm.write, above the bar.
            self._redirect = logging_redirect_tqdm()
            self._redirect.__enter__()
        # None: the caller logs its own summaries (the trainer logs one line per epoch).
        self._step = max(1, int(self.total * log_every_fraction)) if log_every_fraction else None
        self._next_log = self._step
        self._t0 = time.perf_counter()

    def update(self, n: int = 1, **postfix: object) -> None:
        self.n += n
        if postfix:
            self._postfix = " ".join(f"{k}={_fmt(v)}" for k, v in postfix.items())
        if self._bar is not None:
            if postfix:
                self._bar.set_postfix_str(self._postfix, refresh=False)
            self._bar.update(n)
        elif self._step is not None and (self.n >= self._next_log or self.n == self.total):
            self._next_log = self.n + self._step
            elapsed = time.perf_counter() - self._t0
            log.info("%s: %d/%d (%.0f%%) %.1fs %s", self.desc, self.n, self.total,
                     100.0 * self.n / self.total, elapsed, self._postfix)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        if self._redirect is not None:
            self._redirect.__exit__(None, None, None)
            self._redirect = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(items: Iterable[T], total: int, desc: str, unit: str = "it") -> Iterator[T]:
    """Iterate ``items`` while reporting progress."""
    with Progress(total, desc, unit) as bar:
        for item in items:
            yield item
            bar.update()


def _fmt(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
