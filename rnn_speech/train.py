"""The training loop: epochs of shuffled minibatches, validation, checkpoints, resume.

Everything the loop needs arrives as arguments (model, optimizer, data, a
``TrainConfig`` and a ``MetricsLog``); it knows nothing about Hydra or files other
than the checkpoint it writes, so a reader can follow it top to bottom.
"""

from __future__ import annotations

import logging
import math
import random
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rnn_speech.checkpoint import save_atomic
from rnn_speech.data.splits import Splits
from rnn_speech.errors import UserInputError
from rnn_speech.progress import Progress

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("fp32", "bf16")
TEST_ON = ("last", "best")
log = logging.getLogger(__name__)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; further epochs would only produce NaN."""


@dataclass
class TrainConfig:
    epochs: int = 50
    batch_size: int = 1024
    eval_every: int = 1
    device: str = "auto"
    precision: str = "fp32"
    test_on: str = "last"
    threads: int | None = None
    seed: int = 0

    def validate(self) -> None:
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise UserInputError(f"trainer.epochs must be a positive integer, got {self.epochs!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise UserInputError(f"trainer.batch_size must be a positive integer, got {self.batch_size!r}")
        if not isinstance(self.eval_every, int) or self.eval_every < 1:
            raise UserInputError(f"trainer.eval_every must be a positive integer (iterations), got {self.eval_every!r}")
        for name, value, allowed in (("device", self.device, DEVICES), ("precision", self.precision, PRECISIONS),
                                     ("test_on", self.test_on, TEST_ON)):
            if value not in allowed:
                raise UserInputError(f"trainer.{name}={value!r} is not known; expected one of {', '.join(allowed)}")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise UserInputError(f"trainer.threads must be null or a positive integer, got {self.threads!r}")


@dataclass
class TrainState:
    """Everything that must survive a restart to continue bit-for-bit."""

    epoch: int = 0  # completed epochs
    iteration: int = 0  # completed optimizer steps
    best_val_acc: float = -1.0
    best_iteration: int = 0
    best_model: dict | None = None
    train_seconds: float = 0.0
    last_val: tuple[float, float] | None = None
    last_train: tuple[float, float] = (float("nan"), float("nan"))
    # The current epoch's shuffled order, kept so an interrupted epoch resumes where it stopped.
    epoch_order: torch.Tensor | None = None


@contextmanager
def _interrupt_between_iterations():
    """Turn SIGINT into a flag the loop checks; restore the old handler afterwards.

    Signal handlers can only be set from the main thread; elsewhere (a launcher's
    worker thread) the default behaviour is kept.
    """
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda signum, frame: flag.set())
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserInputError("trainer.device=cuda but no CUDA device is available; use trainer.device=auto or cpu")
    return torch.device(name)


def iterations_per_epoch(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)  # the last, smaller batch is kept: no clip is dropped


def _autocast(device: torch.device, precision: str):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int, device: torch.device,
             precision: str = "fp32") -> tuple[float, float]:
    """Mean cross-entropy and accuracy over a whole split."""
    was_training = model.training
    model.eval()
    loss_sum, correct = 0.0, 0
    for start in range(0, len(y), batch_size):
        xb, yb = x[start:start + batch_size].to(device), y[start:start + batch_size].to(device)
        with _autocast(device, precision):
            logits = model(xb)
        loss_sum += F.cross_entropy(logits.float(), yb, reduction="sum").item()
        correct += (logits.argmax(1) == yb).sum().item()
    model.train(was_training)
    return loss_sum / len(y), correct / len(y)


class Trainer:
    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, splits: Splits, cfg: TrainConfig,
                 metrics, checkpoint_path: Path | None = None):
        cfg.validate()
        self.model, self.optimizer, self.splits, self.cfg = model, optimizer, splits, cfg
        self.metrics = metrics
        self.checkpoint_path = checkpoint_path
        self.device = resolve_device(cfg.device)
        self.model.to(self.device)
        # Once a GRU fits its data, gate gradients shrink into subnormal floats, which
        # x86 CPUs process far slower: a 3-epoch toy run (tests' course data, batch 16)
        # took 363 s instead of 6.6 s. Flushing them to zero changes nothing that
        # matters at magnitudes below 1e-38.
        torch.set_flush_denormal(True)
        # A private generator makes the shuffling order depend only on the seed,
        # not on how many random numbers model construction happened to draw.
        self.shuffle_gen = torch.Generator().manual_seed(cfg.seed)
        self.state = TrainState()

    @property
    def total_iterations(self) -> int:
        return self.cfg.epochs * iterations_per_epoch(len(self.splits.y_train), self.cfg.batch_size)

    def restore(self, ckpt: dict) -> None:
        """Continue from a checkpoint written by :meth:`save_checkpoint` (as loaded by load_checkpoint)."""
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.shuffle_gen.set_state(ckpt["shuffle_gen"])
        torch.set_rng_state(ckpt["torch_rng"])
        np.random.set_state(ckpt["numpy_rng"])
        random.setstate(ckpt["python_rng"])
        self.state = ckpt["state"]

    def save_checkpoint(self) -> None:
        if self.checkpoint_path is None:
            return
        save_atomic(self.checkpoint_path, {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "shuffle_gen": self.shuffle_gen.get_state(),
            "torch_rng": torch.get_rng_state(),
            "numpy_rng": np.random.get_state(),
            "python_rng": random.getstate(),
            "state": self.state,
        })

    def fit(self) -> TrainState:
        """Train for the remaining epochs; checkpoint after each one.

        Ctrl-C is honoured between iterations only (``KeyboardInterrupt`` is raised
        there), so the state a caller checkpoints is never half an optimizer step.
        """
        with _interrupt_between_iterations() as self._interrupted:
            return self._fit()

    def _fit(self) -> TrainState:
        s, cfg = self.state, self.cfg
        self.model.train()
        with Progress(self.total_iterations, "train", unit="it", log_every_fraction=None) as bar:
            bar.update(s.iteration)
            while s.epoch < cfg.epochs:
                if s.epoch_order is None:  # None unless resuming inside an interrupted epoch
                    s.epoch_order = torch.randperm(len(self.splits.y_train), generator=self.shuffle_gen)
                self._run_epoch(s.epoch + 1, bar)
                s.epoch += 1
                s.epoch_order = None
                self.save_checkpoint()
                self._log_epoch()
        return s

    def _run_epoch(self, epoch: int, bar: Progress) -> None:
        s, cfg = self.state, self.cfg
        x_all, y_all = self.splits.x_train, self.splits.y_train
        per_epoch = iterations_per_epoch(len(y_all), cfg.batch_size)
        done_in_epoch = s.iteration - s.epoch * per_epoch
        for start in range(done_in_epoch * cfg.batch_size, len(y_all), cfg.batch_size):
            if self._interrupted.is_set():
                raise KeyboardInterrupt
            t0 = time.perf_counter()
            idx = s.epoch_order[start:start + cfg.batch_size]
            loss, acc = self._step(x_all[idx].to(self.device), y_all[idx].to(self.device))
            s.iteration += 1
            val = self._maybe_validate()
            s.train_seconds += time.perf_counter() - t0
            s.last_train = (loss, acc)
            self.metrics.write(s.iteration, epoch, loss, acc, val, s.train_seconds)
            shown = val or s.last_val
            bar.update(1, epoch=epoch, loss=loss, val_acc=shown[1] if shown else float("nan"))

    def _log_epoch(self) -> None:
        s = self.state
        val = f"val_loss {s.last_val[0]:.4f} val_acc {s.last_val[1]:.4f}" if s.last_val else "no validation yet"
        log.info("epoch %d/%d  iteration %d  train_loss %.4f train_acc %.4f  %s  %.1fs",
                 s.epoch, self.cfg.epochs, s.iteration, s.last_train[0], s.last_train[1], val, s.train_seconds)

    def _step(self, xb: torch.Tensor, yb: torch.Tensor) -> tuple[float, float]:
        with _autocast(self.device, self.cfg.precision):
            logits = self.model(xb)
        loss = F.cross_entropy(logits.float(), yb)
        if not torch.isfinite(loss):
            raise TrainingDiverged(
                f"the training loss became {loss.item()} at iteration {self.state.iteration + 1}; "
                "lower optimizer.lr or check the features for extreme values"
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        acc = (logits.argmax(1) == yb).float().mean().item()
        return loss.item(), acc

    def _maybe_validate(self) -> tuple[float, float] | None:
        s = self.state
        if s.iteration % self.cfg.eval_every != 0 and s.iteration != self.total_iterations:
            return None
        val = evaluate(self.model, self.splits.x_val, self.splits.y_val, self.cfg.batch_size, self.device,
                       self.cfg.precision)
        s.last_val = val
        if val[1] > s.best_val_acc:
            s.best_val_acc, s.best_iteration = val[1], s.iteration
            s.best_model = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
        return val

    def test(self) -> tuple[float, float]:
        """Test-split loss and accuracy of the last (default) or best-on-validation weights."""
        if self.cfg.test_on == "best" and self.state.best_model is not None:
            self.model.load_state_dict(self.state.best_model)
        return evaluate(self.model, self.splits.x_test, self.splits.y_test, self.cfg.batch_size, self.device,
                        self.cfg.precision)
