"""The synthetic speech corpus: tasks, speaker-disjoint splits, determinism, the cache, export."""

from __future__ import annotations

import inspect
import logging
import multiprocessing
import re
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from conftest import REPO, run_cli
from rnn_speech.data import augment, cache, features, tts
from rnn_speech.errors import UserInputError

TINY = dict(words=["yes", "no"], n_train=24, n_val=8, n_test=8, n_speakers=30, seed=0)


def tiny_config(**overrides) -> tts.CorpusConfig:
    return tts.CorpusConfig.from_args(**{**TINY, **overrides})


# ----------------------------------------------------------------------------- tasks

def test_the_12_class_task_is_the_ten_commands_plus_unknown_and_silence():
    task = tts.resolve_task(12)
    assert task.class_names == ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go",
                                "_unknown_", "_silence_")
    assert len(task.unknown_words) == 25 and not set(task.unknown_words) & set(tts.COMMANDS)


def test_12_class_clips_are_balanced_and_unknown_clips_say_other_words():
    plan = tts.make_plan(tts.CorpusConfig(n_train=1200, n_val=120, n_test=120))
    train = plan.splits["train"]
    assert np.bincount(train.labels, minlength=12).tolist() == [100] * 12
    names = np.array(tts.resolve_task(12).class_names)[train.labels]
    said = np.array(train.words)
    assert set(said[names == "_unknown_"]) <= set(tts.VOCABULARY) - set(tts.COMMANDS)
    assert set(said[names == "_silence_"]) == {""}
    commands = ~np.isin(names, ["_unknown_", "_silence_"])
    assert np.all(said[commands] == names[commands])


def test_custom_words_task_has_exactly_those_classes(tmp_path):
    splits = tts.load(**{**TINY, "words": ["no", "yes", "up"]}, cache_dir=tmp_path)
    assert splits.class_names == ("no", "yes", "up")
    for y in (splits.y_train, splits.y_val, splits.y_test):
        assert set(y.tolist()) == {0, 1, 2}
    assert splits.x_train.shape[1:] == (101, 40) and splits.x_train.dtype == torch.float32
    assert splits.y_train.dtype == torch.int64


def test_the_35_class_task_has_every_word_as_a_class(tmp_path):
    splits = tts.load(task=35, n_train=35, n_val=35, n_test=35, n_speakers=30, cache_dir=tmp_path)
    assert splits.class_names == tts.VOCABULARY and splits.n_classes == 35
    assert sorted(splits.y_test.tolist()) == list(range(35))


@pytest.mark.parametrize("words, message", [(["yes", "maybe"], "'maybe' not among the 35"),
                                            (["yes"], "at least two"), (["yes", "yes"], "at least two")])
def test_bad_words_are_one_clear_error(words, message):
    with pytest.raises(UserInputError, match=message):
        tts.load(words=words)


def test_an_unknown_task_is_one_clear_error():
    with pytest.raises(UserInputError, match="data.task=7 is not known; expected 12 or 35"):
        tts.load(task=7)


@pytest.mark.parametrize("overrides, message", [({"snr_db": [10, 0]}, "snr_db"),
                                                ({"noise_types": ["rain"]}, "noise_types"),
                                                ({"variants": ["m1", "nobody"]}, "no voice variant 'nobody'"),
                                                ({"rate": [50, 100]}, "rate")])
def test_bad_generation_parameters_are_one_clear_error(overrides, message):
    with pytest.raises(UserInputError, match=message):
        tiny_config(**overrides)


# ----------------------------------------------------------------------------- speakers and splits

def test_the_default_corpus_has_hundreds_of_distinct_speakers_with_stable_ids():
    plan = tts.make_plan(tts.CorpusConfig())
    ids = [s.id for s in plan.speakers]
    assert len(set(ids)) == len(ids) == 1000
    assert len({s.voice for s in plan.speakers}) > 300  # accent x variant combinations
    assert re.fullmatch(r"[a-z0-9-]+\+\w+_r\d+_p\d+_g\d+", ids[0])
    assert [s.id for s in tts.make_plan(tts.CorpusConfig()).speakers] == ids


def test_splits_are_speaker_disjoint_and_about_80_10_10():
    plan = tts.make_plan(tts.CorpusConfig())
    used = {name: {int(s) for s in split.speakers} for name, split in plan.splits.items()}
    assert not used["train"] & used["val"] and not used["train"] & used["test"] and not used["val"] & used["test"]
    members = tts.assign_splits(plan.speakers, tts.CorpusConfig())
    shares = {name: len(m) / len(plan.speakers) for name, m in members.items()}
    assert 0.75 < shares["train"] < 0.85 and 0.06 < shares["val"] < 0.14 and 0.06 < shares["test"] < 0.14


def test_a_speakers_split_depends_only_on_its_id():
    s = tts.Speaker("en-us", "f3", 160, 40, 60)
    assert tts.which_split(s.short_id, 10, 10) == tts.which_split(s.short_id, 10, 10)
    assert len(s.short_id) == 8 and int(s.short_id, 16) >= 0


def test_cached_speaker_ids_never_cross_splits(tmp_path):
    arrays = tts.corpus_arrays(tiny_config(), tmp_path)
    train, val, test = (set(arrays[f"speaker_{n}"].tolist()) for n in ("train", "val", "test"))
    assert train and val and test
    assert not train & val and not train & test and not val & test


# ----------------------------------------------------------------------------- clips

def test_babble_never_says_a_label_or_a_homophone():
    banned = set(tts.VOCABULARY) | {"to", "too", "for", "fore", "won", "ate", "know", "write", "rite", "tee"}
    for phrase in tts.BABBLE_PHRASES:
        assert not set(phrase.split()) & banned, phrase


def test_silence_clips_are_noise_at_the_drawn_snr_below_a_typical_word():
    config = tiny_config(snr_db=[10, 10], gain_db=[-20, -20], noise_types=["white"], reverb=0.0)
    rng = np.random.default_rng(0)
    audio = tts.render_batch(np.full(64, -1), [], np.zeros(32_000, np.float32), 0.05, config, rng)
    power = np.mean((audio / 32767.0) ** 2)
    assert power == pytest.approx(0.05 * 10 ** (-10 / 10) * 10 ** (-20 / 10), rel=0.02)


def test_words_are_placed_whole_inside_the_window():
    word = np.hanning(4000).astype(np.float32)
    speech, power = tts.place_words(np.array([0, 0, 0, -1]), [word], np.array([0.0, 0.999999, 0.5, 0.3]))
    assert np.array_equal(speech[0, :4000], word) and np.array_equal(speech[1, -4000:], word)
    assert np.allclose(speech.sum(axis=1)[:3], word.sum()) and not speech[3].any()
    assert power[0] == pytest.approx(np.mean(word.astype(np.float64) ** 2)) and power[3] == 0.0


def test_loud_clips_are_limited_instead_of_clipped():
    config = tiny_config(snr_db=[30, 30], gain_db=[20, 20], noise_types=["pink"], reverb=0.0)
    audio = tts.render_batch(np.zeros(8, dtype=np.int64), [np.ones(8000, np.float32)],
                             np.zeros(32_000, np.float32), 1.0, config, np.random.default_rng(0))
    assert np.abs(audio.astype(np.int32)).max() <= round(tts.LIMITER_PEAK * 32767)


def test_reverberation_keeps_the_energy_and_adds_a_tail():
    x = np.zeros((4, 16_000), np.float32)
    x[:, 1000] = 1.0
    wet = augment.reverberate(x, np.random.default_rng(0), (0.3, 0.3))
    assert np.allclose(np.sum(wet ** 2, axis=1), 1.0, rtol=1e-3)
    assert np.all(np.abs(wet[:, 1000]) > np.abs(wet[:, 1500]))  # the direct sound dominates
    assert np.all(np.sum(wet[:, 1200:] ** 2, axis=1) > 0.01)


@pytest.mark.parametrize("kind", tts.NOISE_TYPES)
def test_each_noise_type_has_unit_power(kind):
    track = np.random.default_rng(1).standard_normal(40_000).astype(np.float32)
    noise = augment.make_noise(kind, np.random.default_rng(0), 3, 16_000, track)
    assert noise.shape == (3, 16_000)
    assert np.allclose(np.mean(noise.astype(np.float64) ** 2, axis=1), 1.0, rtol=1e-3)


def test_pink_and_brown_noise_tilt_towards_low_frequencies():
    rng = np.random.default_rng(0)
    for kind in ("pink", "brown"):
        spectrum = np.abs(np.fft.rfft(augment.make_noise(kind, rng, 8, 16_000, np.zeros(1)), axis=1)) ** 2
        low, high = spectrum[:, 100:400].mean(), spectrum[:, 4000:7000].mean()  # 100-400 Hz vs 4-7 kHz
        assert low > 10 * high, kind


def test_hum_sits_on_the_mains_frequency():
    hum = augment.hum_noise(np.random.default_rng(0), 1, 16_000)[0]
    spectrum = np.abs(np.fft.rfft(hum))  # 1 Hz per bin for one second
    assert int(np.argmax(spectrum[:1000])) % 50 == 0 or int(np.argmax(spectrum[:1000])) % 60 == 0


# ----------------------------------------------------------------------------- determinism and cache

def test_the_same_config_gives_byte_identical_features():
    first = tts.build_corpus(tiny_config())
    second = tts.build_corpus(tiny_config())
    assert first.keys() == second.keys()
    for key in first:
        assert first[key].tobytes() == second[key].tobytes(), key


def test_a_different_seed_gives_a_different_corpus():
    assert tts.build_corpus(tiny_config(seed=1))["x_train"].tobytes() != \
        tts.build_corpus(tiny_config(seed=0))["x_train"].tobytes()


def test_loading_normalises_with_training_statistics(tmp_path):
    splits = tts.load(**TINY, cache_dir=tmp_path)
    assert splits.normalize_mode == "scalar"
    assert abs(splits.x_train.double().mean().item()) < 1e-4
    assert abs(splits.x_train.double().std().item() - 1.0) < 1e-4


def test_a_second_load_reuses_the_cache(tmp_path, monkeypatch):
    first = tts.load(**TINY, cache_dir=tmp_path)
    monkeypatch.setattr(tts, "build_corpus", lambda *a, **k: pytest.fail("the cache was not reused"))
    second = tts.load(**TINY, cache_dir=tmp_path)
    assert torch.equal(first.x_train, second.x_train) and torch.equal(first.y_test, second.y_test)
    assert len(list(tmp_path.glob("tts-*.npz"))) == 1


def test_a_changed_parameter_gets_its_own_cache_entry(tmp_path):
    tts.load(**TINY, cache_dir=tmp_path)
    tts.load(**{**TINY, "snr_db": [0, 5]}, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("tts-*.npz"))) == 2


def test_a_relative_cache_dir_is_taken_from_the_launch_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cache.resolve_cache_dir("corpora") == tmp_path / "corpora"
    assert cache.resolve_cache_dir("~/x") == Path.home() / "x"


def test_a_truncated_cache_file_is_detected_and_rebuilt(tmp_path, caplog):
    original = tts.corpus_arrays(tiny_config(), tmp_path)
    (npz,) = tmp_path.glob("tts-*.npz")
    npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
    with caplog.at_level(logging.WARNING, logger="rnn_speech.data.cache"):
        rebuilt = tts.corpus_arrays(tiny_config(), tmp_path)
    assert "corrupt" in caplog.text
    assert rebuilt["x_train"].tobytes() == original["x_train"].tobytes()
    assert tts.corpus_arrays(tiny_config(), tmp_path)["y_val"].tolist() == original["y_val"].tolist()


def test_a_damaged_checksum_or_garbage_file_is_rebuilt(tmp_path):
    params = {"v": 1}
    cache.load_or_build(tmp_path, "demo", params, lambda: {"a": np.arange(5)})
    paths = cache.entry_paths(tmp_path, "demo", params)
    paths["data"].write_bytes(b"not a zip file at all")
    paths["checksum"].write_text(cache._file_sha256(paths["data"]))  # checksum agrees, content is junk
    assert cache.load_or_build(tmp_path, "demo", params, lambda: {"a": np.arange(3)})["a"].tolist() == [0, 1, 2]


def _slow_build(log_file: str) -> dict[str, np.ndarray]:
    with open(log_file, "a") as f:
        f.write("built\n")
    time.sleep(1.0)
    return {"values": np.arange(1000)}


def _load_in_child(cache_dir: str, log_file: str, queue) -> None:
    arrays = cache.load_or_build(cache_dir, "shared", {"k": 1}, lambda: _slow_build(log_file))
    queue.put(arrays["values"].sum().item())


def test_concurrent_builders_build_once_and_never_clobber(tmp_path):
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    log_file = tmp_path / "builds.log"
    procs = [ctx.Process(target=_load_in_child, args=(str(tmp_path / "c"), str(log_file), queue)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert sorted(queue.get(timeout=5) for _ in procs) == [499500] * 3
    assert log_file.read_text() == "built\n"
    assert not list((tmp_path / "c").glob("*.tmp"))


def test_parameters_that_do_not_match_the_stored_ones_are_not_returned(tmp_path):
    a = cache.load_or_build(tmp_path, "demo", {"k": 1}, lambda: {"x": np.zeros(2)})
    b = cache.load_or_build(tmp_path, "demo", {"k": 2}, lambda: {"x": np.ones(2)})
    assert a["x"].tolist() == [0, 0] and b["x"].tolist() == [1, 1]


# ----------------------------------------------------------------------------- config

def test_the_hydra_config_defaults_match_load():
    yaml = OmegaConf.to_container(OmegaConf.load(REPO / "conf" / "data" / "tts.yaml"))
    assert yaml.pop("_target_") == "rnn_speech.data.tts.load"
    params = inspect.signature(tts.load).parameters
    assert set(yaml) == set(params)
    for name, value in yaml.items():
        default = params[name].default
        assert value == (list(default) if isinstance(default, tuple) else default), name


def test_the_hydra_config_instantiates_a_tiny_corpus(tmp_path):
    from hydra.utils import instantiate
    cfg = OmegaConf.load(REPO / "conf" / "data" / "tts.yaml")
    cfg.merge_with(OmegaConf.create({**TINY, "cache_dir": str(tmp_path)}))
    splits = instantiate(cfg)  # list values arrive as ListConfig
    assert splits.class_names == ("yes", "no") and splits.input_shape == (101, 40)


# ----------------------------------------------------------------------------- export

def test_export_writes_the_speech_commands_layout(tmp_path):
    out = tmp_path / "corpus"
    config = tiny_config()
    counts = tts.export(out, config, background_seconds=2)
    assert counts == {"train": 24, "val": 8, "test": 8}
    wavs = sorted(p.relative_to(out).as_posix() for p in out.glob("*/*.wav"))
    clips = [w for w in wavs if not w.startswith("_background_noise_/")]
    assert len(clips) == 40 and {w.split("/")[0] for w in clips} == {"yes", "no"}
    assert all(re.fullmatch(r"(yes|no)/[0-9a-f]{8}_nohash_\d+\.wav", w) for w in clips)
    val = (out / "validation_list.txt").read_text().split()
    test = (out / "testing_list.txt").read_text().split()
    assert len(val) == 8 and len(test) == 8 and set(val) <= set(clips) and set(test) <= set(clips)
    speaker = lambda path: path.split("/")[1].split("_nohash_")[0]  # noqa: E731
    train_speakers = {speaker(w) for w in clips if w not in val and w not in test}
    assert not train_speakers & {speaker(w) for w in val + test}
    assert {f"_background_noise_/{k}_noise.wav" for k in tts.NOISE_TYPES} <= set(wavs)
    samples, rate = tts.read_wav(out / clips[0])
    assert rate == 16_000 and samples.dtype == np.int16 and samples.shape == (16_000,)


def test_exported_wavs_give_back_the_cached_features(tmp_path):
    config = tiny_config()
    cached = tts.corpus_arrays(config, tmp_path / "cache")["x_val"]
    tts.export(tmp_path / "corpus", config, background_seconds=1)
    paths = (tmp_path / "corpus" / "validation_list.txt").read_text().split()
    audio = np.stack([tts.read_wav(tmp_path / "corpus" / p)[0] for p in paths])
    from_wav = features.log_mel(torch.from_numpy(audio).float() / 32768.0).numpy()
    distance = np.abs(from_wav[:, None] - cached[None]).max(axis=(2, 3))  # exported x cached
    assert np.all(distance.min(axis=1) < 1e-3)


def test_export_cli_writes_a_corpus_and_reports_it(tmp_path):
    result = run_cli(["export", str(tmp_path / "out"), "--words", "yes,no", "--n-train", "12", "--n-val", "4",
                      "--n-test", "4", "--n-speakers", "30", "--background-seconds", "1"],
                     cwd=tmp_path, module="rnn_speech.data.tts")
    assert result.returncode == 0, result.stderr
    assert "wrote 20 clips" in result.stdout
    assert (tmp_path / "out" / "testing_list.txt").is_file()


@pytest.mark.parametrize("args, message", [(["--words", "yes,maybe"], "'maybe' not among"),
                                           (["--n-train", "0"], "n_train must be at least 1"),
                                           (["--task", "7"], "data.task=7 is not known"),
                                           (["--n-train", "many"], "invalid int value")])
def test_export_cli_errors_are_one_line_and_exit_2(tmp_path, args, message):
    result = run_cli(["export", str(tmp_path / "out"), *args], cwd=tmp_path, module="rnn_speech.data.tts")
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_export_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    result = run_cli(["export", str(tmp_path / "out"), "--words", "yes,no"], cwd=tmp_path,
                     module="rnn_speech.data.tts")
    assert result.returncode == 2 and "not empty" in result.stderr
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


# ----------------------------------------------------------------------------- end to end

@pytest.mark.slow
def test_a_tiny_corpus_trains_end_to_end_through_the_runner(tmp_path):
    result = run_cli(["data=tts", "data.words=[yes,no]", "data.n_train=48", "data.n_val=12", "data.n_test=12",
                      "data.n_speakers=30", "data.cache_dir=corpora", "trainer.epochs=1",
                      f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "test accuracy" in result.stdout
    assert len(list((tmp_path / "corpora").glob("tts-*.npz"))) == 1  # relative to the launch directory
    assert (tmp_path / "run" / "results.json").is_file()
