"""Whether a directory may receive this run: the one rule for new runs and resumes.

Checked before Hydra writes anything (callbacks.GuardOutputDir) and again by
each job (a sweep's job directories are only known once the job starts).
"""

from __future__ import annotations

import json
from pathlib import Path


def run_dir_problem(run_dir: Path, resuming: bool) -> str | None:
    """Why ``run_dir`` cannot be used, or None when it can."""
    has_results = (run_dir / "results.json").is_file()
    if not resuming:
        if has_results:
            return (f"{run_dir}: already holds a run (results.json); choose another hydra.run.dir "
                    f"or continue it with resume={run_dir}")
        return None
    if not (run_dir / ".hydra" / "config.yaml").is_file() or not has_results:
        return f"{run_dir}: not a run directory (no .hydra/config.yaml and results.json); resume=PATH_TO_RUN_DIR"
    if _status(run_dir) == "completed":
        return f"{run_dir}: this run has completed; there is nothing to resume"
    return None


def _status(run_dir: Path) -> str | None:
    try:
        return json.loads((run_dir / "results.json").read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError, AttributeError):
        return None  # an unreadable results.json is no completed run: resuming rewrites it
