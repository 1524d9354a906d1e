"""Training and inference speed of the course models, for question 4's complexity comparison.

Prints, per model: parameters, MACs per example (analytic), measured seconds
per training iteration and per evaluation pass at the assignment's batch size,
on random (N, 101, 40) inputs, and the evaluation throughput in GMAC/s.
Numbers only; nothing is asserted.

    python benchmarks/bench_models.py [--batch-size 1024] [--iterations 5] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from rnn_speech.models import CNNClassifier, MLPClassifier, RNNClassifier
from rnn_speech.models.derivation import counted

MODELS = {
    "mlp": lambda c: MLPClassifier((101, 40), c),
    "cnn": lambda c: CNNClassifier((101, 40), c),
    "gru": lambda c: RNNClassifier((101, 40), c, "GRU"),
    "lstm": lambda c: RNNClassifier((101, 40), c, "LSTM"),
}


def time_it(fn, repeats: int) -> float:
    """Median wall time of ``fn`` after one warm-up call (first calls pay for allocation and kernel choice)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench(name: str, batch_size: int, repeats: int, classes: int) -> dict[str, float]:
    torch.manual_seed(0)
    model = MODELS[name](classes)
    opt = torch.optim.Adam(model.parameters())
    x, y = torch.randn(batch_size, 101, 40), torch.randint(0, classes, (batch_size,))

    def train_step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    @torch.no_grad()
    def eval_pass():
        model(x)

    return {"params": counted(model), "macs": model.macs_per_example(),
            "train_s": time_it(train_step, repeats), "eval_s": time_it(eval_pass, repeats)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--iterations", type=int, default=5, help="timed repeats per measurement (median)")
    parser.add_argument("--classes", type=int, default=12)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # as the trainer does
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}, "
          f"{args.classes} classes")
    print(f"{'model':6} {'params':>9} {'MACs/example':>13} {'train s/it':>11} {'eval s/batch':>13} {'eval GMAC/s':>12}")
    for name in MODELS:
        r = bench(name, args.batch_size, args.iterations, args.classes)
        # Throughput shows how well each model's work maps onto the hardware: one large
        # matmul (the MLP) runs near peak; frame-by-frame recurrences and small
        # single-channel convolutions do not, so MACs alone do not predict time.
        gmacs = r["macs"] * args.batch_size / r["eval_s"] / 1e9
        print(f"{name:6} {r['params']:>9,} {r['macs']:>13,} {r['train_s']:>11.4f} {r['eval_s']:>13.4f} "
              f"{gmacs:>12.1f}")


if __name__ == "__main__":
    main()
