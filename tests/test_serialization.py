"""mg.save / mg.load: .npz round trips, and clear errors for anything else."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import minigrad as mg


def test_round_trip_state_dict(tmp_path):
    model = mg.nn.MLP([3, 4, 2], rng=0)
    path = tmp_path / "model.npz"
    mg.save(model.state_dict(), path)
    loaded = mg.load(path)
    assert list(loaded) == [n for n, _ in model.named_parameters()]
    other = mg.nn.MLP([3, 4, 2], rng=1)
    other.load_state_dict(loaded)
    for (_, a), (_, b) in zip(model.named_parameters(), other.named_parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_tensors_and_dtypes_preserved(tmp_path):
    state = {"w": mg.tensor(np.ones(3, dtype=np.float32)), "n": np.array([1, 2]),
             "flag": np.array(True)}
    mg.save(state, tmp_path / "s.npz")
    out = mg.load(tmp_path / "s.npz")
    assert out["w"].dtype == np.float32 and out["n"].dtype.kind == "i" and out["flag"].item()


def test_suffix_added_like_numpy(tmp_path):
    mg.save({"a": np.zeros(2)}, tmp_path / "weights")
    assert "a" in mg.load(tmp_path / "weights.npz")


@pytest.mark.parametrize("kind", ["truncated", "pickle", "npy", "text", "empty", "object"])
def test_foreign_or_broken_files_raise_clearly(tmp_path, kind):
    good = tmp_path / "good.npz"
    mg.save(mg.nn.Linear(3, 2, rng=0).state_dict(), good)
    path = tmp_path / f"bad_{kind}.npz"
    if kind == "truncated":
        path.write_bytes(good.read_bytes()[:-40])
    elif kind == "pickle":
        path.write_bytes(pickle.dumps({"weight": np.zeros(2)}))
    elif kind == "npy":
        with open(path, "wb") as fh:
            np.save(fh, np.zeros(3))
    elif kind == "text":
        path.write_text("weight,bias\n1,2\n")
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        np.savez(path, a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="is not a valid minigrad .npz file"):
        mg.load(path)


def test_pickle_payload_never_runs(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(ValueError):
        mg.load(path)
    assert not marker.exists()


def test_missing_file_and_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError):
        mg.load(tmp_path / "nope.npz")
    with pytest.raises(TypeError, match="expected a dict"):
        mg.save([np.zeros(2)], tmp_path / "x.npz")
    with pytest.raises(TypeError, match="only numeric and bool arrays"):
        mg.save({"a": np.array(["text"])}, tmp_path / "x.npz")
