"""A small on-disk cache of named numpy arrays, shared by every data source.

An entry is identified by the SHA-256 of a canonical JSON of every parameter
that shaped it (the caller includes its generator version among them), so a
changed parameter or a new generator never reads a stale entry. Each entry is
one uncompressed ``.npz`` (log-Mel features barely compress, and loading
uncompressed data is fast) plus a ``.sha256`` file with its checksum.

Safety, because a parallel sweep starts several processes that all want the
same corpus:

* writes go to a temporary file in the same directory, are fsync'ed and then
  renamed over the final name (``os.replace`` is atomic on POSIX), so a reader
  never sees half a file;
* a truncated or otherwise corrupt entry (checksum mismatch, unreadable zip,
  parameters that do not match) is rebuilt, with a logged warning;
* builders take an exclusive ``fcntl.flock`` on a lock file: the first one
  builds, the others block, then find the finished entry and load it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rnn_speech.atomic import write_temp_beside
from rnn_speech.data.paths import user_path

log = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = "~/.cache/rnn_speech"
_PARAMS_KEY = "__params__"


class CorruptCacheEntry(Exception):
    """The entry exists but cannot be trusted."""


def resolve_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """``~`` expanded; a relative path is taken from the directory the command was launched in."""
    return user_path(cache_dir if cache_dir is not None else DEFAULT_CACHE_DIR)


def canonical_json(params: Mapping[str, Any]) -> str:
    """One spelling per parameter set: sorted keys, no whitespace, plain JSON types only."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def cache_key(params: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(params).encode()).hexdigest()


def entry_paths(cache_dir: str | os.PathLike | None, name: str, params: Mapping[str, Any]) -> dict[str, Path]:
    """Where the entry for ``params`` lives: data (.npz), checksum (.sha256) and lock (.lock)."""
    stem = resolve_cache_dir(cache_dir) / f"{name}-{cache_key(params)[:16]}"
    return {"data": stem.with_suffix(".npz"), "checksum": stem.with_suffix(".sha256"),
            "lock": stem.with_suffix(".lock")}


def load_or_build(cache_dir: str | os.PathLike | None, name: str, params: Mapping[str, Any],
                  build_fn: Callable[[], Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays cached under (``name``, ``params``), calling ``build_fn()`` only if none are stored.

    ``params`` must be JSON-serialisable and should include a version string of
    the code that builds the arrays.
    """
    paths = entry_paths(cache_dir, name, params)
    paths["data"].parent.mkdir(parents=True, exist_ok=True)
    expected = canonical_json(params)
    with contextlib.suppress(CorruptCacheEntry):
        arrays = _read_entry(paths, expected)
        if arrays is not None:
            return arrays
    with _exclusive_lock(paths["lock"]):
        # Another process may have finished the entry while we waited; and a
        # checksum that looked wrong outside the lock may have been a rename in
        # progress, so only a failure seen under the lock counts as corruption.
        try:
            arrays = _read_entry(paths, expected)
            if arrays is not None:
                return arrays
        except CorruptCacheEntry as exc:
            log.warning("cache entry %s is corrupt (%s); rebuilding it", paths["data"], exc)
        t0 = time.perf_counter()
        arrays = {k: np.asarray(v) for k, v in build_fn().items()}
        _write_entry(paths, arrays, expected)
        log.info("cached %s in %.1fs: %s", name, time.perf_counter() - t0, paths["data"])
        return arrays


def _read_entry(paths: Mapping[str, Path], expected_params: str) -> dict[str, np.ndarray] | None:
    """None when no entry exists; raises CorruptCacheEntry when one exists but is damaged."""
    data_path, sum_path = paths["data"], paths["checksum"]
    if not data_path.exists():
        return None
    try:
        stored_sum = sum_path.read_text().strip()
    except FileNotFoundError as exc:
        raise CorruptCacheEntry("checksum file missing") from exc
    if _file_sha256(data_path) != stored_sum:
        raise CorruptCacheEntry("checksum mismatch")
    try:
        with np.load(data_path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise CorruptCacheEntry(f"unreadable: {exc}") from exc
    params = arrays.pop(_PARAMS_KEY, None)
    if params is None or str(params) != expected_params:
        raise CorruptCacheEntry("stored parameters differ from the requested ones")
    return arrays


def _write_entry(paths: Mapping[str, Path], arrays: Mapping[str, np.ndarray], params_json: str) -> None:
    data_path, sum_path = paths["data"], paths["checksum"]
    data_tmp = write_temp_beside(data_path, lambda f: np.savez(f, **arrays, **{_PARAMS_KEY: np.array(params_json)}))
    try:
        digest = _file_sha256(data_tmp)
        sum_tmp = write_temp_beside(sum_path, lambda f: f.write(f"{digest}\n".encode()))
        # Data first, checksum second: a reader that sees the new data with the
        # old checksum takes the lock and waits for us instead of rebuilding.
        os.replace(data_tmp, data_path)
        os.replace(sum_tmp, sum_path)
        _fsync_dir(data_path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            data_tmp.unlink()


def _fsync_dir(directory: Path) -> None:
    """Make the renames themselves durable (a crash could otherwise undo them)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def _exclusive_lock(lock_path: Path) -> Iterator[None]:
    with open(lock_path, "a+") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process to finish building %s", lock_path.with_suffix(".npz"))
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
