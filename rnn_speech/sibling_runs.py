"""Runs to compare one run against: other models, same data, already completed.

Used by the report's question-4 section. Reads run directories only (through :mod:`rnn_speech.compare`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rnn_speech.compare import COMPLETED, find_runs, keep_latest, load_run

# Single runs sit at outputs/<date>/<time>; searching deeper would only walk unrelated folders when a custom
# hydra.run.dir puts the run somewhere else (the "outputs" folder could then be a home directory).
OUTPUTS_DEPTH = 2


def find_siblings(run_dir: str | Path) -> list[dict[str, Any]]:
    """Completed runs of other models on the same data, as load_run records sorted by model, then seed.

    Searched in the run's sweep directory when its parent holds multirun.yaml, otherwise in outputs/ when
    the run sits in Hydra's default outputs/<date>/<time> layout; elsewhere there are no siblings. "Same data" means the same data config group and, when both runs
    recorded them, the same class names (so 12- and 35-word Speech Commands tasks do not mix). Repeats of
    an identical configuration keep only the newest (see compare --latest).
    """
    run_dir = Path(os.path.abspath(run_dir))
    this = load_run(run_dir)
    if (run_dir.parent / "multirun.yaml").is_file():
        candidates = find_runs([run_dir.parent], max_depth=1)
    elif len(run_dir.parents) > 1 and run_dir.parents[1].name == "outputs":
        candidates = find_runs([run_dir.parents[1]], max_depth=OUTPUTS_DEPTH)
    else:
        # A custom hydra.run.dir: its parent folders are the user's, not a tree of runs to search.
        return []
    others = [load_run(d) for d in candidates if d.resolve() != run_dir.resolve()]
    siblings = keep_latest([r for r in others if _is_sibling(r, this)])
    return sorted(siblings, key=lambda r: (str(r["model"]), *_seed_order(r["seed"]), r["run_dir"]))


def _is_sibling(other: dict[str, Any], this: dict[str, Any]) -> bool:
    same_classes = None in (other["class_names"], this["class_names"]) or other["class_names"] == this["class_names"]
    return (other["status"] == COMPLETED and other["model"] != this["model"]
            and other["data"] == this["data"] and same_classes)


def _seed_order(seed: Any) -> tuple[int, int | str]:
    return (0, seed) if isinstance(seed, int) else (1, str(seed))
