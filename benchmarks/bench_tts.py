"""How long the default synthetic corpus takes to build and to load from the cache.

    python benchmarks/bench_tts.py [--cache-dir DIR]

Prints numbers only (seconds); nothing is asserted. Synthesis includes planning,
the eSpeak worker processes, trimming and resampling; augmentation is placing,
reverberating, mixing noise and quantising; features is the log-Mel frontend.
The cache load is timed on a fresh temporary cache unless --cache-dir is given.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnn_speech.data import cache, tts  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args()
    config = tts.CorpusConfig()
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = args.cache_dir or tmp
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        arrays = tts.build_corpus(config, timings)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        cache.load_or_build(cache_dir, "tts", config.cache_params(), lambda: arrays)  # writes the entry
        write_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        tts.corpus_arrays(config, cache_dir)
        load_s = time.perf_counter() - t0
    clips = sum(len(arrays[f"y_{s}"]) for s in tts.SPLIT_NAMES)
    print(f"cpus              {os.cpu_count()}")
    print(f"clips             {clips}")
    print(f"synthesis_s       {timings['synthesis_s']:.2f}")
    print(f"augmentation_s    {timings['augment_s']:.2f}")
    print(f"features_s        {timings['features_s']:.2f}")
    print(f"build_total_s     {build_s:.2f}")
    print(f"cache_write_s     {write_s:.2f}")
    print(f"cache_load_s      {load_s:.2f}")


if __name__ == "__main__":
    main()
