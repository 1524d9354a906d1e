"""``python -m rnn_speech.run``: train one model on one data source and write its run directory.

This module only wires parts together (data, model, optimizer, trainer,
artifacts); the logic lives in the modules it calls.
"""

from __future__ import annotations

import logging
import random
import sys
from pathlib import Path

import hydra
import numpy as np
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from rnn_speech import resolvers
from rnn_speech.artifacts import Results, save_model
from rnn_speech.checkpoint import load_checkpoint
from rnn_speech.compose_errors import single_line_composition_errors
from rnn_speech.failure import failure_handling, log_to_files
from rnn_speech.metrics import MetricsLog
from rnn_speech.rundir import run_dir_problem
from rnn_speech.models.derivation import counted, total
from rnn_speech.plots import plot_curves, read_metrics
from rnn_speech.report import write_report
from rnn_speech.train import Trainer, TrainConfig

log = logging.getLogger("rnn_speech")
resolvers.register()


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    hc = HydraConfig.get()
    in_sweep = hc.mode == RunMode.MULTIRUN
    run_dir = Path(hc.runtime.output_dir)
    resuming = cfg.get("resume") is not None
    label = f" [job {hc.job.num}]" if in_sweep else ""
    problem = run_dir_problem(run_dir, resuming)
    if problem:  # reported without touching the run that owns the directory
        print(f"error{label}: {problem}", file=sys.stderr)
        if in_sweep:
            return None
        sys.exit(1)
    if resuming:
        cfg = resumed_config(run_dir)
    choices = dict(hc.runtime.choices) if not resuming else resumed_choices(run_dir)
    results = Results(run_dir, keep_existing=resuming)
    with failure_handling(results, run_dir, in_sweep, label):
        results.update(status="running", **identity(cfg, choices))
        return execute(cfg, run_dir, results, resuming)
    return None


def resumed_config(run_dir: Path) -> DictConfig:
    """A resumed run continues with the config it was started with, not today's defaults."""
    return OmegaConf.load(run_dir / ".hydra" / "config.yaml")


def resumed_choices(run_dir: Path) -> dict:
    hydra_yaml = OmegaConf.load(run_dir / ".hydra" / "hydra.yaml")
    return dict(hydra_yaml.hydra.runtime.choices)


def identity(cfg: DictConfig, choices: dict) -> dict:
    return {
        "model": choices.get("model"),
        "data": choices.get("data"),
        "optimizer": choices.get("optimizer"),
        "seed": int(cfg.seed.value),
        "epochs": int(cfg.trainer.epochs),
        "precision": cfg.trainer.precision,
        "torch_version": torch.__version__,
    }


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def execute(cfg: DictConfig, run_dir: Path, results: Results, resuming: bool) -> float:
    train_cfg = TrainConfig(**OmegaConf.to_container(cfg.trainer, resolve=True), seed=int(cfg.seed.value))
    train_cfg.validate()  # fail on a bad trainer value before spending time on data
    if train_cfg.threads is not None:
        torch.set_num_threads(train_cfg.threads)  # before featurizing, which uses torch too
    seed_everything(train_cfg.seed)
    splits = hydra.utils.instantiate(cfg.data)
    log.info("data %s: %s clips, input %s, %d classes", splits.source, splits.sizes(), splits.input_shape,
             splits.n_classes)
    torch.manual_seed(train_cfg.seed)  # the assignment: seed right before the model is built
    model = hydra.utils.instantiate(cfg.model, input_shape=splits.input_shape, num_classes=splits.n_classes)
    optimizer = hydra.utils.instantiate(cfg.optimizer)(model.parameters())
    n_params, by_hand = counted(model), total(model.param_derivation())
    results.update(n_params=n_params, n_params_by_hand=by_hand, macs_per_example=model.macs_per_example(),
                   n_classes=splits.n_classes, class_names=list(splits.class_names),
                   input_shape=list(splits.input_shape), n_train=len(splits.y_train), n_val=len(splits.y_val),
                   n_test=len(splits.y_test), normalize=splits.normalize_mode, test_on=train_cfg.test_on)

    metrics_path, ckpt_path = run_dir / "metrics.csv", run_dir / "checkpoint.pt"
    ckpt = load_checkpoint(ckpt_path) if resuming and ckpt_path.is_file() else None
    if resuming:
        # Rows past the checkpoint are recomputed; a run killed before its first
        # checkpoint starts again from iteration 0.
        MetricsLog.truncate_to(metrics_path, ckpt["state"].iteration if ckpt else 0)
    metrics = MetricsLog(metrics_path)
    trainer = Trainer(model, optimizer, splits, train_cfg, metrics, ckpt_path)
    results.update(device=str(trainer.device), iterations_per_epoch=trainer.total_iterations // train_cfg.epochs)
    if ckpt:
        trainer.restore(ckpt)
        log.info("resuming %s at epoch %d, iteration %d", run_dir, trainer.state.epoch, trainer.state.iteration)
    try:
        state = trainer.fit()
    except KeyboardInterrupt:
        trainer.save_checkpoint()  # mid-epoch: keeps the epoch's order, so resume continues exactly here
        raise
    finally:
        metrics.close()
    test_loss, test_acc = trainer.test()
    return finish(cfg, run_dir, results, trainer, model, splits, state, test_loss, test_acc)


def finish(cfg, run_dir, results, trainer, model, splits, state, test_loss, test_acc) -> float:
    plot_curves(read_metrics(run_dir / "metrics.csv"), run_dir)
    save_model(run_dir / "model.pt", model, splits, OmegaConf.to_container(cfg.model, resolve=True))
    results.update(
        test_acc=test_acc, test_loss=test_loss, best_val_acc=state.best_val_acc, best_iteration=state.best_iteration,
        final_val_acc=state.last_val[1] if state.last_val else None, iterations=state.iteration,
        train_seconds=round(state.train_seconds, 3), seconds_per_epoch=round(state.train_seconds / state.epoch, 3),
    )
    write_report(run_dir, results.data, model, siblings=_siblings(run_dir))
    results.update(status="completed")
    line = (f"test accuracy {100 * test_acc:.2f}% | {results.data['n_params']:,} parameters | "
            f"trained {state.train_seconds:.1f} s | run dir {run_dir}")
    log_to_files(line)
    print(line, flush=True)
    return test_acc


def _siblings(run_dir: Path) -> list[dict]:
    try:
        from rnn_speech.sibling_runs import find_siblings
    except ImportError:
        return []
    try:
        return find_siblings(run_dir)
    except Exception as err:  # a sibling's broken files must not fail this finished run
        log.warning("could not read sibling runs for the comparison: %s", err)
        return []


if __name__ == "__main__":
    with single_line_composition_errors():
        main()
