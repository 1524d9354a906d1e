"""OmegaConf resolvers used by conf/config.yaml to place run directories.

``resume=PATH`` must send Hydra's output (and its job log) back into the run
being resumed, without overwriting that run's saved ``.hydra/config.yaml``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from omegaconf import OmegaConf


def run_dir(resume: str | None, fresh: str) -> str:
    return str(resume) if resume else fresh


def hydra_subdir(resume: str | None, output_dir: str) -> str:
    """Where Hydra saves this invocation's config inside the run directory.

    A directory that already holds a run (results.json) keeps its original
    ``.hydra/`` files, which compare and resume read: a resume invocation's own
    config goes one level down, and so does that of a run pointed at a finished
    run's directory by mistake (which then refuses to start).
    """
    if not resume and not (Path(output_dir) / "results.json").exists():
        return ".hydra"
    kind = "resume" if resume else "refused"
    return f".hydra/{kind}-{datetime.now():%Y-%m-%d_%H-%M-%S_%f}"


def register() -> None:
    for name, fn in (("rs.run_dir", run_dir), ("rs.hydra_subdir", hydra_subdir)):
        if not OmegaConf.has_resolver(name):
            # use_cache: Hydra copies the resolver cache into sweep jobs, so every
            # job of a sweep sees the same value, as with Hydra's own ${now:}.
            OmegaConf.register_new_resolver(name, fn, use_cache=True)
