"""A small ctypes binding to eSpeak NG, the formant synthesizer behind the default corpus.

The shared library and its data come from the ``espeakng-loader`` wheel, so
nothing needs installing system-wide. Function signatures, enum values and
parameter ranges follow espeak-ng's public header ``speak_lib.h`` (API
revision 12): ``espeak_Initialize(output, buflength, path, options)`` returns
the sample rate (22,050 Hz), ``AUDIO_OUTPUT_SYNCHRONOUS = 2`` makes
``espeak_Synth`` return only once every sample has gone through the callback
``int cb(short *wav, int numsamples, espeak_EVENT *events)``, and
``espeakRATE = 1`` (words per minute, 80..450), ``espeakPITCH = 3`` (0..100,
50 normal), ``espeakRANGE = 4`` (0..100, 0 monotone).

The library is one global synthesizer, so this module initialises it once and
serialises calls with a lock. It also carries state from one utterance to the
next (wavegen.c keeps a pitch-flutter index, an automatic gain and an echo
buffer in static variables), so the same text can come out a few samples
different the second time. Its noise generator (breath, whisper) is seeded from
the clock in ``espeak_ng_Initialize``; we reseed it, and libc's ``rand()``, from
a hash of each utterance with ``espeak_ng_SetRandSeed(long)``. Corpus building
therefore calls :func:`synthesize_isolated`, which runs fixed shards of
utterances in fresh worker processes: a fresh process replaying the same calls
produces the same samples, whatever else the parent process did before.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from rnn_speech.errors import UserInputError

# speak_lib.h constants
AUDIO_OUTPUT_SYNCHRONOUS = 2
POS_CHARACTER = 1
ESPEAK_CHARS_UTF8 = 1
ESPEAK_RATE, ESPEAK_PITCH, ESPEAK_RANGE = 1, 3, 4
EE_OK = 0
RATE_LIMITS = (80, 450)
PITCH_LIMITS = (0, 100)

# Accents: eSpeak's English voices, then a few other languages reading the
# English words with their own letter-to-sound rules (a foreign accent; eSpeak
# switches a word it knows is English back to the English voice).
ENGLISH_ACCENTS = ("en-us", "en", "en-029", "en-gb-scotland", "en-gb-x-rp",
                   "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc")
OTHER_LANGUAGE_ACCENTS = ("de", "nl", "es", "it", "pl")
DEFAULT_ACCENTS = ENGLISH_ACCENTS + OTHER_LANGUAGE_ACCENTS

# Voice variants (files in espeak-ng-data/voices/!v) that sound like a person:
# the numbered male/female voices, the Klatt-synthesis ones, whisper and croak,
# and the contributed named voices, leaving out the deliberately robotic, echoing
# or comment-only files (robosoft*, UniRobot, Demonic, RicishayMax*, fast...).
DEFAULT_VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "klatt4", "whisper", "whisperf", "croak",
    "Alex", "Andy", "Annie", "Andrea", "Denis", "Gene", "Jacky", "Lee", "Mario", "Michael", "Mike",
    "adam", "anika", "antonio", "aunty", "belinda", "benjamin", "boris", "caleb", "david", "ed",
    "edward", "grandma", "grandpa", "gustave", "linda", "marcelo", "max", "michel", "paul", "pedro",
    "quincy", "rob", "robert", "shelby", "steph", "travis", "victor", "zac",
)

_lock = threading.Lock()


@dataclass(frozen=True)
class SynthJob:
    """One utterance: text spoken by ``voice`` ("accent" or "accent+variant") with prosody settings."""

    text: str
    voice: str
    rate: int = 175
    pitch: int = 50
    pitch_range: int = 50

    def noise_seed(self) -> int:
        digest = hashlib.sha256(repr((self.text, self.voice, self.rate, self.pitch, self.pitch_range)).encode())
        return int.from_bytes(digest.digest()[:4], "little") & 0x7FFFFFFF


class _Engine:
    """The initialised library plus the callback that collects samples."""

    def __init__(self) -> None:
        self.lib = _load_library()
        self.data_path = _data_path()
        self._declare_signatures()
        self.sample_rate = self.lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS, 0, str(self.data_path).encode(), 0)
        if self.sample_rate <= 0:
            raise UserInputError(f"eSpeak NG failed to initialise with data at {self.data_path}")
        self._chunks: list[np.ndarray] = []
        callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
        # Keep a reference: if the ctypes thunk were garbage collected, the
        # library would call into freed memory.
        self._callback = callback_type(self._collect)
        self.lib.espeak_SetSynthCallback(self._callback)

    def _declare_signatures(self) -> None:
        lib = self.lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed.restype = ctypes.c_int
        self.libc = ctypes.CDLL(None)  # the process's C library, for srand()
        self.libc.srand.argtypes = [ctypes.c_uint]

    def _collect(self, wav, n_samples, events) -> int:  # noqa: ANN001 (ctypes pointers)
        # wav is NULL at the end of synthesis; n_samples may be 0 mid-way.
        if wav and n_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n_samples,)).copy())
        return 0  # 0 = continue

    def synthesize(self, job: SynthJob) -> np.ndarray:
        check_voice(job.voice)
        if self.lib.espeak_SetVoiceByName(job.voice.encode()) != EE_OK:
            raise UserInputError(f"eSpeak NG has no voice {job.voice!r}")
        # Parameters survive a voice change, so set all three every time.
        self.lib.espeak_SetParameter(ESPEAK_RATE, int(job.rate), 0)
        self.lib.espeak_SetParameter(ESPEAK_PITCH, int(job.pitch), 0)
        self.lib.espeak_SetParameter(ESPEAK_RANGE, int(job.pitch_range), 0)
        seed = job.noise_seed()
        self.lib.espeak_ng_SetRandSeed(seed)
        self.libc.srand(seed)
        text = job.text.encode("utf-8") + b"\0"
        self._chunks = []
        status = self.lib.espeak_Synth(text, len(text), 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8, None, None)
        if status != EE_OK:
            raise RuntimeError(f"espeak_Synth failed with status {status} for {job}")
        chunks, self._chunks = self._chunks, []
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)

    def version(self) -> str:
        return self.lib.espeak_Info(None).decode()


def _load_library() -> ctypes.CDLL:
    try:
        import espeakng_loader
        return ctypes.CDLL(espeakng_loader.get_library_path())
    except (ImportError, OSError, RuntimeError) as exc:
        raise UserInputError(
            f"cannot load eSpeak NG for the synthetic corpus ({exc}); install it with "
            "`pip install espeakng-loader`, or train on other data (data=course data.dir=PATH)"
        ) from exc


def _data_path() -> Path:
    try:
        import espeakng_loader
        return Path(espeakng_loader.get_data_path())
    except (ImportError, RuntimeError) as exc:
        raise UserInputError(f"cannot find eSpeak NG's data directory ({exc}); reinstall espeakng-loader") from exc


_engine: _Engine | None = None


def _get_engine() -> _Engine:
    global _engine
    if _engine is None:
        _engine = _Engine()
    return _engine


def sample_rate() -> int:
    """The rate eSpeak NG synthesizes at (22,050 Hz for the bundled voices)."""
    with _lock:
        return _get_engine().sample_rate


def version() -> str:
    """The library's version string, part of every corpus cache key (new versions sound different)."""
    with _lock:
        return _get_engine().version()


def synthesize(text: str, voice: str = "en-us", rate: int = 175, pitch: int = 50,
               pitch_range: int = 50) -> np.ndarray:
    """Speak ``text`` in this process: int16 samples at :func:`sample_rate`.

    Repeated calls can differ by a few samples (see the module docstring); use
    :func:`synthesize_isolated` when results must be reproducible.
    """
    job = SynthJob(text, voice, rate, pitch, pitch_range)
    check_prosody(job)
    with _lock:
        return _get_engine().synthesize(job)


@lru_cache(maxsize=1)
def list_variants() -> tuple[str, ...]:
    """Every voice variant shipped with the library (append as ``"en-us+NAME"``)."""
    return tuple(sorted(p.name for p in (_data_path() / "voices" / "!v").iterdir() if p.is_file()))


@lru_cache(maxsize=1)
def list_languages() -> tuple[str, ...]:
    """Every base voice (language or accent) shipped with the library, lower-cased like "en-gb-scotland"."""
    return tuple(sorted(p.name.lower() for p in (_data_path() / "lang").rglob("*") if p.is_file()))


def voice_name(accent: str, variant: str | None = None) -> str:
    return f"{accent}+{variant}" if variant else accent


def check_voice(voice: str) -> None:
    """Raise a one-line UserInputError unless ``voice`` names a shipped language and variant.

    eSpeak itself falls back silently to the plain voice for an unknown variant,
    which would quietly make two "speakers" identical.
    """
    accent, _, variant = voice.partition("+")
    if accent.lower() not in list_languages():
        raise UserInputError(f"eSpeak NG has no language/accent {accent!r} (voice {voice!r}); "
                             f"see rnn_speech.data.espeak.list_languages()")
    if variant and variant not in list_variants():
        raise UserInputError(f"eSpeak NG has no voice variant {variant!r} (voice {voice!r}); "
                             f"see rnn_speech.data.espeak.list_variants()")


def check_prosody(job: SynthJob) -> None:
    lo, hi = RATE_LIMITS
    if not lo <= job.rate <= hi:
        raise UserInputError(f"speaking rate {job.rate} is outside eSpeak's {lo}..{hi} words per minute")
    lo, hi = PITCH_LIMITS
    for name, value in (("pitch", job.pitch), ("pitch range", job.pitch_range)):
        if not lo <= value <= hi:
            raise UserInputError(f"{name} {value} is outside eSpeak's {lo}..{hi}")


def synthesize_isolated(jobs: Sequence[SynthJob], shard_size: int = 1024, workers: int | None = None,
                        on_shard_done: Callable[[int], None] | None = None) -> list[np.ndarray]:
    """Synthesize ``jobs`` reproducibly: shards of ``shard_size`` each run in a fresh process.

    The result depends only on ``jobs`` and ``shard_size``, not on ``workers``
    (how many shards run at once) or on anything this process synthesized
    before. ``on_shard_done(n_utterances)`` is called as shards finish.
    """
    for job in {(j.voice, j.rate, j.pitch, j.pitch_range): j for j in jobs}.values():
        check_voice(job.voice)
        check_prosody(job)
    _get_engine_checked()
    shards = [list(jobs[i:i + shard_size]) for i in range(0, len(jobs), shard_size)]
    workers = max(1, min(workers or os.cpu_count() or 1, len(shards) or 1))
    with tempfile.TemporaryDirectory(prefix="rnn_speech_espeak_") as tmp, \
            ThreadPoolExecutor(max_workers=workers) as pool:
        # Threads only wait on the worker processes; progress is reported from
        # this thread, as shards finish in whatever order.
        futures = {pool.submit(_run_worker, shard, Path(tmp) / f"shard{i}"): i for i, shard in enumerate(shards)}
        for future in as_completed(futures):
            future.result()  # a failed shard fails now, not after the others
            if on_shard_done is not None:
                on_shard_done(len(shards[futures[future]]))
        results = {i: f.result() for f, i in futures.items()}
    return [audio for i in range(len(shards)) for audio in results[i]]


def _get_engine_checked() -> None:
    """Load the library here first, so a missing library is one clear error, not N worker failures."""
    with _lock:
        _get_engine()


def _run_worker(jobs: list[SynthJob], stem: Path) -> list[np.ndarray]:
    job_file, out_file = stem.with_suffix(".json"), stem.with_suffix(".npz")
    job_file.write_text(json.dumps([[j.text, j.voice, j.rate, j.pitch, j.pitch_range] for j in jobs]))
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run([sys.executable, "-m", "rnn_speech.data.espeak", str(job_file), str(out_file)],
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"eSpeak worker failed (exit {proc.returncode}): {last}")
    with np.load(out_file) as data:
        lengths, samples = data["lengths"], data["samples"]
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    return [samples[bounds[i]:bounds[i + 1]] for i in range(len(lengths))]


def _worker_main(job_file: str, out_file: str) -> None:
    jobs = [SynthJob(*row) for row in json.loads(Path(job_file).read_text())]
    audio = [synthesize(j.text, j.voice, j.rate, j.pitch, j.pitch_range) for j in jobs]
    lengths = np.array([len(a) for a in audio], dtype=np.int64)
    samples = np.concatenate(audio) if audio else np.zeros(0, dtype=np.int16)
    np.savez(out_file, lengths=lengths, samples=samples)


if __name__ == "__main__":
    _worker_main(*sys.argv[1:3])
