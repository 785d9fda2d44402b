"""The engine on Dask arrays: the op table, mixed NumPy/Dask training, one pass per
step, chunk-by-chunk minibatches, and the out-of-core example at a small size."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import backends
from tests.op_table import OP_CASES, OpCase, draw_inputs, draw_shapes

da = pytest.importorskip("dask.array")

ROWS = [pytest.param(case, kwargs, id=f"{case.name}-{i}")
        for case in OP_CASES for i, kwargs in enumerate(case.kwargs)]


def run_case(case: OpCase, kwargs: dict, arrays: list[np.ndarray], to_dask):
    """Forward and backward (with a random upstream gradient) on NumPy and on Dask."""
    results = []
    for convert in (lambda a: a, to_dask):
        inputs = [mg.tensor(convert(a), requires_grad=True) for a in arrays]
        out = case.fn(*inputs, **kwargs)
        out.backward(np.random.default_rng(0).normal(size=out.shape))  # the same both times
        results.append((out, inputs))
    return results


@pytest.mark.parametrize(("case", "kwargs"), ROWS)
@settings(max_examples=4, deadline=None)
@given(data=st.data())
def test_op_table_on_dask_matches_numpy(case: OpCase, kwargs: dict, data: st.DataObject):
    shapes = data.draw(draw_shapes(case), label="shapes")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    arrays = draw_inputs(rng, case, shapes)
    # chunks of one element: every axis longer than 1 is split into several chunks
    (ref, ref_inputs), (out, inputs) = run_case(case, kwargs, arrays,
                                                lambda a: da.from_array(a, chunks=1))
    assert backends.is_lazy(out.data), f"{case.name}: the output was computed, not kept lazy"
    np.testing.assert_allclose(out.data.compute(), ref.data, rtol=1e-12, atol=1e-12)
    for x, x_ref in zip(inputs, ref_inputs, strict=True):
        assert isinstance(x.grad.data, da.Array), "a Dask leaf's gradient stays a Dask array"
        np.testing.assert_allclose(x.grad.data.compute(), x_ref.grad.data,
                                   rtol=1e-10, atol=1e-12)


def test_reshape_that_dask_cannot_do_directly():
    a = np.arange(48.0).reshape(6, 8)
    x = mg.tensor(da.from_array(a, chunks=(2, 3)), requires_grad=True)
    y = x.reshape(4, 12)
    (y * y).sum().backward()
    np.testing.assert_array_equal(y.data.compute(), a.reshape(4, 12))
    np.testing.assert_array_equal(x.grad.data.compute(), 2 * a)


def test_tensor_keeps_dask_array_and_never_computes_it():
    source = Counting(np.arange(12.0).reshape(4, 3))
    x = mg.tensor(da.from_array(source, chunks=2))
    assert isinstance(x.data, da.Array)
    assert "dask.array" in repr(x) and source.reads == 0  # repr shows the lazy array
    y = mg.exp(x * 2.0).sum(axis=0)
    assert source.reads == 0 and isinstance(y.data, da.Array)
    np.testing.assert_allclose(y.numpy(), np.exp(2 * np.arange(12.0).reshape(4, 3)).sum(0))
    assert isinstance(y.numpy(), np.ndarray)
    assert (x > 5).all().item() is False  # comparisons stay lazy until asked
    assert isinstance(np.less(x, 0).data, da.Array)  # NumPy's ufuncs on a Tensor, too
    assert source.reads == 3 * 4  # only the 3 explicit computations read (4 chunks each)


def test_lazy_boolean_mask_gradient_error_is_clear():
    x = mg.tensor(da.from_array(np.arange(6.0) - 2, chunks=2), requires_grad=True)
    y = x[x > 0].sum()
    assert y.item() == 6.0  # forward works lazily
    with pytest.raises(ValueError, match="scatter_add: .*Dask.*mg.where"):
        y.backward()
    x2 = mg.tensor(da.from_array(np.arange(6.0) - 2, chunks=2), requires_grad=True)
    mg.where(x2 > 0, x2, 0).sum().backward()  # the suggested fix works
    np.testing.assert_array_equal(x2.grad.data.compute(), [0, 0, 0, 1, 1, 1])


# -- mixing a NumPy parameter with Dask data -----------------------------------


class Counting:
    """An array whose chunk reads are counted (a stand-in for data on disk)."""

    def __init__(self, array: np.ndarray) -> None:
        self.array, self.shape, self.dtype, self.ndim = array, array.shape, array.dtype, array.ndim
        self.reads = 0

    def __getitem__(self, index):
        out = self.array[index]
        self.reads += out.size > 0  # Dask peeks at empty slices for metadata
        return out


def regression_data(n: int = 120, d: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ np.arange(1.0, d + 1) + 0.5 + 0.1 * rng.normal(size=n)
    return X, y


def test_numpy_parameter_with_dask_data_gets_numpy_gradient():
    X, y = regression_data()
    grads = []
    for data in (X, da.from_array(X, chunks=(30, 2))):
        w = mg.tensor(np.full(3, 0.5), requires_grad=True)
        b = mg.tensor(0.1, requires_grad=True)
        loss = mg.losses.mse(mg.tensor(data) @ w + b, mg.tensor(y))
        loss.backward()
        assert type(w.grad.data) is np.ndarray and type(b.grad.data) is np.ndarray
        assert type(loss.data) is np.ndarray  # the scalar loss was computed in the same pass
        grads.append((w.grad.data, b.grad.item(), loss.item()))
    np.testing.assert_allclose(grads[1][0], grads[0][0], rtol=1e-12)
    assert grads[1][1:] == pytest.approx(grads[0][1:], rel=1e-12)
    expected_w = 2 / len(X) * X.T @ (X @ np.full(3, 0.5) + 0.1 - y)  # the analytic gradient
    np.testing.assert_allclose(grads[1][0], expected_w, rtol=1e-12)


def test_training_step_reads_the_data_once():
    X, y = regression_data()
    source_x, source_y = Counting(X), Counting(y)
    Xd = mg.tensor(da.from_array(source_x, chunks=(30, 3)))  # 4 chunks
    yd = mg.tensor(da.from_array(source_y, chunks=30))
    w = mg.tensor(np.zeros(3), requires_grad=True)
    b = mg.tensor(0.0, requires_grad=True)
    opt = mg.optim.GD([w, b], lr=0.1)
    for step in range(1, 4):
        opt.zero_grad()
        loss = mg.losses.mse(Xd @ w + b, yd)
        assert source_x.reads == 4 * (step - 1), "building the graph must not compute"
        loss.backward()
        opt.step()
        loss.item()
        assert (source_x.reads, source_y.reads) == (4 * step, 4 * step)  # one pass per step


def test_dataloader_over_dask_goes_chunk_by_chunk():
    X, y = np.arange(40.0).reshape(20, 2), np.arange(20.0)
    source = Counting(X)
    loader = mg.data.DataLoader(da.from_array(source, chunks=(6, 1)),
                                da.from_array(y, chunks=7), batch_size=4, shuffle=True, rng=0)
    batches = iter(loader)
    first = next(batches)
    assert source.reads == 2  # one row-chunk (two column chunks) read for the first batch
    rest = list(batches)
    assert source.reads == 2 * 4  # every chunk read once per pass
    batches = [first, *rest]
    assert len(loader) == len(batches) == 5 and all(b[0].shape == (4, 2) for b in batches)
    xs = np.concatenate([b[0].data for b in batches])
    ys = np.concatenate([b[1].data for b in batches])
    np.testing.assert_array_equal(xs[:, 0] / 2, ys)  # rows stay aligned across arrays
    assert sorted(ys) == list(y) and list(ys) != list(y)  # each row once, shuffled
    tail = list(mg.data.DataLoader(da.from_array(X, chunks=6), batch_size=8))
    assert [b[0].shape[0] for b in tail] == [8, 8, 4]
    full = list(mg.data.DataLoader(da.from_array(X, chunks=6)))
    assert len(full) == 1 and isinstance(full[0][0].data, da.Array)  # full batch stays lazy


def test_dataloader_unknown_chunk_sizes_error():
    x = da.from_array(np.arange(10.0), chunks=3)
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        list(mg.data.DataLoader(x[x > 2], batch_size=2))


def test_linear_regression_fit_on_dask_matches_numpy():
    X, y = regression_data()
    Xd, yd = da.from_array(X, chunks=(25, 3)), da.from_array(y, chunks=25)
    kw = {"learning_rate": 0.1, "n_iterations": 50}
    ref = mg.models.LinearRegression(**kw).fit(X, y)
    lazy = mg.models.LinearRegression(**kw).fit(Xd, yd)
    np.testing.assert_allclose(lazy.weights, ref.weights, rtol=1e-10)
    np.testing.assert_allclose(lazy.history_, ref.history_, rtol=1e-10)
    sgd = mg.models.LinearRegression(learning_rate=0.05, n_iterations=20, optimizer="sgd",
                                     batch_size=10, random_state=0).fit(Xd, yd)
    design = da.concatenate([Xd, da.ones((len(X), 1), chunks=25)], axis=1).rechunk({1: -1})
    coef = da.linalg.lstsq(design, yd)[0].compute()  # tall-and-skinny QR, chunk by chunk
    np.testing.assert_allclose(sgd.weights, coef[:-1], atol=0.05)
    prediction = sgd.predict(Xd)
    assert isinstance(prediction, da.Array)
    np.testing.assert_allclose(prediction.compute(), X @ sgd.weights + sgd.bias)


def test_out_of_core_example_small(tmp_path: Path):
    pytest.importorskip("zarr")
    root = Path(__file__).resolve().parents[1]
    script = root / "examples" / "out_of_core_regression.py"
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = subprocess.run(
        [sys.executable, str(script), "--rows", "20000", "--chunk-rows", "5000",
         "--gd-steps", "20", "--batch-size", "100", "--dir", str(tmp_path), "--memory-mb", "400"],
        capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "agreement with closed form" in result.stdout
    assert "OK" in result.stdout.splitlines()[-1]


def test_optimizer_computes_lazy_gradients_at_the_step():
    w = mg.tensor(np.ones(3), requires_grad=True)
    w.grad = mg.tensor(da.from_array(np.array([1.0, 2.0, 3.0]), chunks=1))  # e.g. create_graph
    mg.optim.GD([w], lr=0.5).step()
    assert type(w.data) is np.ndarray and type(w.grad.data) is np.ndarray
    np.testing.assert_array_equal(w.data, [0.5, 0.0, -0.5])


def test_optimizer_rejects_dask_parameters():
    w = mg.tensor(da.ones(3, chunks=1), requires_grad=True)
    with pytest.raises(TypeError, match="GD: parameter 0 holds a Dask array.*in memory"):
        mg.optim.GD([w], lr=0.1)
