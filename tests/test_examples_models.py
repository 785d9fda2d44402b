"""The issue-15 examples (digits CNN, makemore) at tiny sizes, and the W6/W7 benchmark
steps: the hand-written NumPy CNN step against minigrad's gradients, every framework
against the others. Full runs are by hand (numbers in the README)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from tests._examples import load_example

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import models  # noqa: E402


@pytest.fixture(scope="module")
def makemore():
    return load_example("makemore")


@pytest.fixture(autouse=True)
def one_blas_thread():
    """The examples ask for one BLAS thread before NumPy loads; under pytest NumPy is
    already loaded, so limit the pool here (small matrices: threads only cost time)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1):
        yield


# ---------------------------------------------------------------------------
# digits_cnn.py
# ---------------------------------------------------------------------------


def test_digits_cnn_tiny_run_learns_and_draws(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    digits = load_example("digits_cnn")
    out = digits.main(["--epochs", "4", "--channels", "4", "8", "--train-size", "512",
                       "--out-dir", str(tmp_path), "--quiet"])
    history = out["history"]
    assert history["train_loss"][-1] < history["train_loss"][0] < math.log(10) + 0.5
    assert out["test_accuracy"] > 0.5  # chance is 0.1
    counts = out["confusion"]
    assert counts.shape == (10, 10) and counts.sum() == 359
    assert np.trace(counts) == round(out["test_accuracy"] * 359)
    for name in ("digits_training.png", "digits_confusion.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_digits_compiled_training_equals_eager() -> None:
    pytest.importorskip("sklearn")
    if not hasattr(mg, "compile"):
        pytest.skip("no mg.compile")
    digits = load_example("digits_cnn")
    X, y, X_test, y_test = digits.load_data(seed=0)
    runs = [digits.train(X[:256], y[:256], X_test[:64], y_test[:64], epochs=2, channels=(3, 4),
                         compile=compiled, bar=False) for compiled in (False, True)]
    (eager, _), (compiled, history) = runs
    for (name, a), (_, b) in zip(eager.named_parameters(), compiled.named_parameters(),
                                 strict=True):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-9, atol=1e-12, err_msg=name)
    # after compiled training the BatchNorm statistics are calibrated, not stale
    norm = compiled.features[1]
    assert int(norm.num_batches_tracked.data) > 0 and not np.all(norm.running_var.data == 1)
    assert history["test_acc"][-1] > 0.2


def test_digits_split_is_stratified_and_disjoint() -> None:
    pytest.importorskip("sklearn")
    digits = load_example("digits_cnn")
    X, y, X_test, y_test = digits.load_data(seed=0)
    assert X.shape[1:] == (1, 8, 8) and len(X) + len(X_test) == 1797
    assert 0 <= X.min() and X.max() <= 1
    share = np.bincount(y_test, minlength=10) / np.bincount(np.r_[y, y_test], minlength=10)
    assert np.all(np.abs(share - 0.2) < 0.01)
    train_rows = {row.tobytes() for row in X.reshape(len(X), -1)}
    assert sum(row.tobytes() in train_rows for row in X_test.reshape(len(X_test), -1)) < 5


def test_digits_confusion_matrix_counts() -> None:
    digits = load_example("digits_cnn")
    counts = digits.confusion_matrix(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), classes=3)
    np.testing.assert_array_equal(counts, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])


def test_digits_progress_degrades_without_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    digits = load_example("digits_cnn")
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    items = range(3)
    assert digits.progress(items, enabled=True) is items


# ---------------------------------------------------------------------------
# makemore.py
# ---------------------------------------------------------------------------


def test_names_data_and_splits(makemore) -> None:
    train, val, test = makemore.load_words()
    words = (ROOT / "examples" / "data" / "names.txt").read_text().split()
    assert len(words) == 32033  # 29,494 distinct: popular names repeat
    assert (len(train), len(val), len(test)) == (25626, 3203, 3204)
    assert sorted(train + val + test) == sorted(words)
    assert makemore.VOCAB == 27 and makemore.ITOS[0] == "."


def test_context_windows_and_sequences(makemore) -> None:
    X, Y = makemore.context_windows(["ab"], block_size=3)
    np.testing.assert_array_equal(X, [[0, 0, 0], [0, 0, 1], [0, 1, 2]])
    np.testing.assert_array_equal(Y, [1, 2, 0])
    X, Y = makemore.sequences(["ab"], block_size=4)
    np.testing.assert_array_equal(X, [[0, 1, 2, 0]])
    np.testing.assert_array_equal(Y, [[1, 2, 0, -1]])
    with pytest.raises(ValueError, match="block-size"):
        makemore.sequences(["abcd"], block_size=4)


@pytest.mark.parametrize("kind", ["mlp", "transformer"])
def test_makemore_tiny_run_learns(makemore, kind: str) -> None:
    out = makemore.main(["--model", kind, "--steps", "60", "--max-words", "1500",
                         "--n-embd", "16", "--samples", "5", "--quiet"])[kind]
    losses = out["losses"]
    assert np.mean(losses[-10:]) < np.mean(losses[:10]) - 0.2
    assert out["val_loss"] < math.log(27)  # better than uniform over 27 characters
    assert len(out["samples"]) == 5
    assert all(set(name) <= set(makemore.CHARS) for name in out["samples"])


def test_makemore_compiled_training_equals_eager(makemore) -> None:
    if not hasattr(mg, "compile"):
        pytest.skip("no mg.compile")
    train, _, _ = makemore.load_words(max_words=300)
    X, Y = makemore.sequences(train, 16)
    params = []
    for compiled in (False, True):
        model = makemore.Transformer(n_embd=8, n_head=2, n_layer=1, rng=0)
        losses = makemore.train(model, X, Y, steps=5, batch_size=8, lr=1e-2,
                                compile=compiled, bar=False)
        params.append([p.data.copy() for p in model.parameters()])
        assert losses[-1] < losses[0]
    for a, b in zip(*params, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_transformer_loss_ignores_padding(makemore) -> None:
    model = makemore.Transformer(block_size=6, n_embd=8, n_head=2, n_layer=1, rng=0)
    X, Y = makemore.sequences(["ab", "abcd"], block_size=6)
    logits = model(X).data.reshape(-1, 27)
    targets = Y.reshape(-1)
    keep = targets >= 0
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -logp[keep, targets[keep]].mean()
    assert abs(model.loss(X, Y).item() - expected) < 1e-12


# ---------------------------------------------------------------------------
# W6 / W7 (benchmarks/models.py)
# ---------------------------------------------------------------------------


def test_w6_numpy_gradients_match_minigrad() -> None:
    data = models.cnn_data(batch=5, c1=3, c2=4)
    loss, grads = models.w6_numpy_step(data["params"], data["x"], data["y"], data["mask"])
    params = [mg.tensor(p, requires_grad=True) for p in data["params"]]
    mg_loss = models.w6_loss_minigrad(mg, params, mg.tensor(data["x"]), data["y"],
                                      mg.tensor(data["mask"]))
    mg_loss.backward()
    assert abs(loss - mg_loss.item()) < 1e-12
    for i, (g, p) in enumerate(zip(grads, params, strict=True)):
        assert g.shape == p.shape, i
        np.testing.assert_allclose(g, p.grad.data, rtol=1e-9, atol=1e-12, err_msg=f"param {i}")


def test_w6_numpy_gradient_matches_finite_differences() -> None:
    # the hand derivation checked on its own, not only against minigrad
    data = models.cnn_data(batch=3, c1=2, c2=2)
    params = data["params"]
    _, grads = models.w6_numpy_step(params, data["x"], data["y"], data["mask"])
    rng = np.random.default_rng(0)
    eps = 1e-6
    for p, g in zip(params, grads, strict=True):
        flat = p.reshape(-1)
        for i in rng.choice(p.size, size=min(4, p.size), replace=False):
            old = flat[i]
            flat[i] = old + eps
            up = models.w6_numpy_step(params, data["x"], data["y"], data["mask"])[0]
            flat[i] = old - eps
            down = models.w6_numpy_step(params, data["x"], data["y"], data["mask"])[0]
            flat[i] = old
            assert abs((up - down) / (2 * eps) - g.reshape(-1)[i]) < 1e-6


def test_bench_quick_numpy_minigrad_compiled_agree() -> None:
    # bench() checks every column against the first (NumPy for W6, minigrad for W7)
    records = models.bench(["W6", "W7"], ["numpy", "minigrad", "compiled"], quick=True,
                           repeats=1, say=lambda *a: None)
    by = {(r["workload"], r["framework"]): r for r in records}
    assert by[("W6", "numpy")]["status"] == "ok"
    assert by[("W6", "minigrad")]["checked_against"] == "numpy"
    for key in ("W6", "W7"):
        assert by[(key, "minigrad")]["status"] == "ok", by[(key, "minigrad")]
        assert by[(key, "minigrad")]["peak_mib"] > 0
        compiled = by[(key, "compiled")]["status"]
        assert compiled == "ok" or compiled == "no mg.compile yet", compiled
    table = models.table(records, ["numpy", "minigrad", "compiled"])
    assert "| W6 " in table and "| W7 " in table


@pytest.mark.parametrize("key", ["W6", "W7"])
def test_minigrad_step_matches_torch(key: str) -> None:
    pytest.importorskip("torch")
    workload = models.WORKLOADS[key]
    data = workload.make_data(**workload.quick)
    ours = workload.impls["minigrad"](data)()
    theirs = workload.impls["torch"](data)()
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
