"""One line on stderr for config errors Hydra reports while composing (an unknown key, say).

Hydra prints such errors over several lines plus a hint about HYDRA_FULL_ERROR.
Until composition has succeeded (signalled by :func:`composition_succeeded`,
called when a run or a sweep's first job starts in this process), stderr is
held back; if Hydra exits before that, what it wrote is folded into a single
``error:`` line. A sweep's later jobs are composed one by one, so an error in
one of them is still shown as Hydra prints it.
"""

from __future__ import annotations

import io
import os
import sys
from contextlib import contextmanager

_HELD: list[tuple[io.StringIO, object]] = []
_HINT = "Set the environment variable HYDRA_FULL_ERROR=1"


def composition_succeeded() -> None:
    """Release held stderr: from here on the job's own messages go straight out."""
    while _HELD:
        buffer, original = _HELD.pop()
        sys.stderr = original
        original.write(buffer.getvalue())
        original.flush()


def one_line(text: str) -> str:
    """Hydra's message as one line; indented lines (lists of options) become a comma-separated list."""
    out = ""
    for line in text.splitlines():
        if line.startswith(_HINT) or line.startswith("Config search path"):
            break
        item = line.strip()
        if not item:
            continue
        if not out:
            out = item
        elif line[0].isspace():
            out += (" " if out.endswith(":") else ", ") + item
        else:
            out += " " + item
    return out


@contextmanager
def single_line_composition_errors():
    if os.environ.get("HYDRA_FULL_ERROR") == "1":  # the user asked for Hydra's full report
        yield
        return
    buffer, original = io.StringIO(), sys.stderr
    sys.stderr = buffer
    _HELD.append((buffer, original))
    try:
        yield
    except SystemExit as exit_:
        if _HELD:  # Hydra gave up before any job started
            _HELD.clear()
            sys.stderr = original
            held = buffer.getvalue()
            if exit_.code not in (0, None) and held.strip():
                print(f"error: {one_line(held)}", file=original)
            elif held:
                original.write(held)
        raise
    finally:
        composition_succeeded()
