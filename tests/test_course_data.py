"""The course and arrays loaders: happy paths, normalisation, and every kind of bad input."""

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import make_course_arrays, write_course_dir
from rnn_speech.data import arrays, course
from rnn_speech.data.safe_pickle import RefusedPickleError, load_array_pickle
from rnn_speech.errors import UserInputError


def test_course_loader_returns_normalised_splits(course_dir):
    raw = make_course_arrays()
    s = course.load(str(course_dir))
    assert s.x_train.shape == (240, 101, 40) and s.x_val.shape == (60, 101, 40) and s.x_test.shape == (60, 101, 40)
    assert s.y_train.dtype == torch.int64 and s.n_classes == 3
    assert s.class_names == ("class_0", "class_1", "class_2")
    np.testing.assert_array_equal(s.y_test.numpy(), raw["test"][1].argmax(1))
    # Scalar constants of the training split only, applied to every split.
    mean, std = raw["train"][0].astype(np.float64).mean(), raw["train"][0].astype(np.float64).std(ddof=1)
    assert s.mean.item() == pytest.approx(mean, rel=1e-5) and s.std.item() == pytest.approx(std, rel=1e-5)
    np.testing.assert_allclose(s.x_val.numpy(), (raw["val"][0] - mean) / std, rtol=1e-4, atol=1e-5)
    assert abs(s.x_train.mean().item()) < 1e-4 and s.x_train.std().item() == pytest.approx(1.0, abs=1e-4)


def test_per_feature_normalisation(course_dir):
    s = course.load(str(course_dir), normalize="per_feature")
    assert s.mean.shape == (40,) and s.std.shape == (40,)
    assert torch.allclose(s.x_train.mean(dim=(0, 1)), torch.zeros(40), atol=1e-4)


def test_integer_labels_are_accepted(tmp_path):
    folder = write_course_dir(tmp_path / "c", make_course_arrays(one_hot=False))
    assert course.load(str(folder)).n_classes == 3


def test_relative_dir_is_resolved_against_the_launch_directory(course_dir, monkeypatch):
    monkeypatch.chdir(course_dir.parent)
    assert course.load("course").sizes() == {"train": 240, "val": 60, "test": 60}


def test_arrays_npz_with_class_names(tmp_path):
    raw = make_course_arrays(n=(30, 9, 9), frames=20, features=8)
    path = tmp_path / "feats.npz"
    np.savez(path, x_train=raw["train"][0], y_train=raw["train"][1].argmax(1), x_val=raw["val"][0],
             y_val=raw["val"][1].argmax(1), x_test=raw["test"][0], y_test=raw["test"][1].argmax(1),
             class_names=np.array(["yes", "no", "up"]))
    s = arrays.load(str(path))
    assert s.input_shape == (20, 8) and s.class_names == ("yes", "no", "up")


# --- bad input: one clear message naming the file, what was expected and what was found ---

def corrupt(tmp_path, edit):
    data = make_course_arrays(n=(30, 9, 9))
    edit(data)
    return write_course_dir(tmp_path / "bad", data)


def expect_error(folder, pattern):
    with pytest.raises(UserInputError, match=pattern) as info:
        course.load(str(folder))
    assert "\n" not in str(info.value)
    return str(info.value)


def test_missing_folder(tmp_path):
    expect_error(tmp_path / "nowhere", r"nowhere: data folder not found")


def test_missing_one_file(course_dir):
    (course_dir / "Y_valid.p").unlink()
    expect_error(course_dir, r"missing course file\(s\) Y_valid.p")


def test_truncated_pickle(course_dir):
    data = (course_dir / "X_train.p").read_bytes()
    (course_dir / "X_train.p").write_bytes(data[: len(data) // 2])
    expect_error(course_dir, r"X_train.p: not a readable pickle")


def test_length_mismatch(tmp_path):
    def edit(d):
        d["train"] = (d["train"][0], d["train"][1][:-1])
    expect_error(corrupt(tmp_path, edit), r"Y_train.p: 29 labels for 30 clips in .*X_train.p")


def test_wrong_rank(tmp_path):
    def edit(d):
        d["val"] = (d["val"][0].reshape(9, -1), d["val"][1])
    expect_error(corrupt(tmp_path, edit), r"X_valid.p: expected a rank-3 array .* found shape \(9, 4040\)")


def test_transposed_features(tmp_path):
    def edit(d):
        d["train"] = (d["train"][0].transpose(0, 2, 1).copy(), d["train"][1])
    msg = expect_error(corrupt(tmp_path, edit), r"X_train.p: expected shape \(N, 101, 40\)")
    assert "found (30, 40, 101)" in msg and "transposed" in msg


def test_frames_differ_across_splits(tmp_path):
    folder = tmp_path / "t"
    data = make_course_arrays(n=(30, 9, 9))
    data["test"] = (data["test"][0][:, :50], data["test"][1])
    write_course_dir(folder, data)
    with pytest.raises(UserInputError, match=r"X_test.p: frames x features \(50, 40\) differ"):
        course.load(str(folder), expect_shape=None)


def test_nan_in_features(tmp_path):
    def edit(d):
        d["test"][0][3, 7, 2] = np.nan
    expect_error(corrupt(tmp_path, edit), r"X_test.p: 1 NaN/Inf value\(s\) .* \(3, 7, 2\)")


def test_empty_split(tmp_path):
    def edit(d):
        d["val"] = (d["val"][0][:0], d["val"][1][:0])
    expect_error(corrupt(tmp_path, edit), r"X_valid.p: the split is empty")


def test_label_width_differs_from_class_count(tmp_path):
    def edit(d):
        y = d["test"][1]
        d["test"] = (d["test"][0], np.concatenate([y, np.zeros((len(y), 1), y.dtype)], 1))
    expect_error(corrupt(tmp_path, edit), r"Y_test.p: one-hot width 4 differs from the class count 3")


def test_rows_that_are_not_one_hot(tmp_path):
    def edit(d):
        d["train"][1][5] = [1, 1, 0]
    expect_error(corrupt(tmp_path, edit), r"Y_train.p: expected one-hot rows .* first is row 5")


def test_labels_out_of_range(tmp_path):
    data = make_course_arrays(n=(30, 9, 9), one_hot=False)
    data["val"][1][0] = 7
    with pytest.raises(UserInputError, match=r"Y_valid.p: labels must lie in \[0, 3\); found 7"):
        course.load(str(write_course_dir(tmp_path / "r", data)), class_names=["a", "b", "c"])


def test_class_never_seen_in_training(tmp_path):
    data = make_course_arrays(n=(30, 9, 9), one_hot=False)
    x, y = data["train"]
    data["train"] = (x[y != 2], y[y != 2])
    with pytest.raises(UserInputError, match=r"Y_valid.p: class\(es\) \[2\] never appear in the training labels"):
        course.load(str(write_course_dir(tmp_path / "u", data)))


class _RunsACommand:
    """What an attacker would pickle: unpickling calls os.system(...)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_a_payload_that_runs_a_command(course_dir, tmp_path):
    marker = tmp_path / "pwned"
    (course_dir / "X_train.p").write_bytes(pickle.dumps(_RunsACommand(marker)))
    msg = expect_error(course_dir, r"X_train.p: refusing to load (posix|os)\.system")
    assert "only numpy arrays" in msg
    assert not marker.exists()
    # Sanity: the same bytes would have run the command with plain pickle.
    pickle.loads((course_dir / "X_train.p").read_bytes())
    assert marker.exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_restricted_unpickler_reads_numpy_pickles_of_every_protocol(tmp_path, protocol):
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    path = tmp_path / "a.p"
    path.write_bytes(pickle.dumps({"x": arr, "scalar": np.float64(2.5)}, protocol=protocol))
    out = load_array_pickle(path)
    np.testing.assert_array_equal(out["x"], arr)
    assert out["scalar"] == 2.5


def test_restricted_unpickler_refuses_other_classes(tmp_path):
    path = tmp_path / "a.p"
    path.write_bytes(pickle.dumps(Path("/etc")))
    with pytest.raises(RefusedPickleError, match="refusing to load pathlib"):
        load_array_pickle(path)
