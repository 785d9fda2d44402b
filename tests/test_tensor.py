"""Tensor construction, dtypes, properties, operators and NumPy interop."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg


def test_constructor_copies_and_from_numpy_shares():
    a = np.array([1.0, 2.0])
    t = mg.tensor(a)
    s = mg.from_numpy(a)
    a[0] = 10.0
    assert t.data[0] == 1.0 and s.data[0] == 10.0
    assert isinstance(t.data, np.ndarray) and t.data is t.data


def test_dtypes():
    assert mg.tensor(1.5).dtype == np.float64
    assert mg.tensor([1, 2]).dtype == np.int64
    assert mg.tensor([True]).dtype == np.bool_
    f = mg.tensor([1.0, 2.0], dtype=np.float32, requires_grad=True)
    y = (f * 2.0 + 1 - f / 3.0) ** 2
    assert y.dtype == np.float32
    y.sum().backward()
    assert f.grad.dtype == np.float32


@pytest.mark.parametrize("data", [[1, 2], [True, False], np.arange(3)])
def test_integer_and_bool_data_cannot_require_grad(data):
    with pytest.raises(TypeError, match="only floating-point tensors can require grad"):
        mg.tensor(data, requires_grad=True)


@pytest.mark.parametrize(("data", "error"), [
    ("abc", TypeError), (None, TypeError), ([[1, 2], [3]], ValueError),
    (np.array([object()]), TypeError), ([1, "a"], TypeError), ({"a": 1}, TypeError),
])
def test_bad_data_is_rejected_at_construction(data, error):
    with pytest.raises(error, match="tensor"):
        mg.tensor(data)


def test_properties():
    t = mg.tensor(np.zeros((2, 3)), name="t")
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and isinstance(t.size, int)
    assert t.T.shape == (3, 2) and t.name == "t"
    assert mg.tensor([[1.0, 2.0]]).tolist() == [[1.0, 2.0]]
    assert mg.tensor([4.0]).item() == 4.0
    assert isinstance(mg.tensor(1.0).numpy(), np.ndarray)
    with pytest.raises(ValueError, match="one-element"):
        mg.tensor([1.0, 2.0]).item()


def test_reflected_operators_with_scalars_and_arrays():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    arr = np.array([3.0, 4.0])
    for y in [2.0 + x, 2.0 - x, 2.0 * x, 2.0 / x, 2.0**x, arr + x, arr - x, arr * x, arr / x,
              np.float64(2.0) * x, x + arr, -x, abs(x), arr @ x]:
        assert isinstance(y, mg.Tensor) and y.requires_grad
    (arr * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, arr)


def test_comparisons_give_bool_tensors_outside_the_graph():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for mask in [x > 2, x >= 2, x < 2, x <= 2, x == 2, x != 2]:
        assert isinstance(mask, mg.Tensor) and mask.dtype == np.bool_ and not mask.requires_grad
    np.testing.assert_array_equal((x > 1.5).data, [False, True, True])


def test_hash_is_identity():
    a, b = mg.tensor(1.0), mg.tensor(1.0)
    assert len({a, b}) == 2 and {a: 1}[a] == 1


def test_numpy_ufuncs_dispatch_to_minigrad():
    x = mg.tensor([0.5, 1.0], requires_grad=True)
    y = np.exp(x) + np.sin(x) * np.log(x)
    assert isinstance(y, mg.Tensor) and y.requires_grad
    np.sum(y).backward()
    expected = np.exp([0.5, 1.0]) + np.cos([0.5, 1.0]) * np.log([0.5, 1.0]) + np.sin(
        [0.5, 1.0]) / np.array([0.5, 1.0])
    np.testing.assert_allclose(x.grad.data, expected)
    assert isinstance(np.mean(x), mg.Tensor) and isinstance(np.maximum(x, 0.7), mg.Tensor)


def test_unknown_numpy_function_on_a_graph_raises_instead_of_dropping_it():
    x = mg.tensor([0.5, 1.0], requires_grad=True)
    with pytest.raises(TypeError, match="drop the graph"):
        np.log1p(x)
    with pytest.raises(TypeError, match="drop the graph"):
        np.unwrap(x)
    assert isinstance(np.log1p(mg.tensor([0.5])), mg.Tensor)  # no graph: computed on values
    assert np.allclose(x, [0.5, 1.0]) and np.asarray(x).shape == (2,)


def test_factories():
    assert mg.zeros(3).shape == (3,) and mg.ones((2, 2)).data.sum() == 4
    assert mg.full((2,), 7.0).data.tolist() == [7.0, 7.0]
    assert mg.zeros_like(mg.ones(2)).data.tolist() == [0.0, 0.0]
    assert mg.ones_like(np.zeros(2)).data.tolist() == [1.0, 1.0]
    assert mg.eye(2).data.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert mg.arange(3).data.tolist() == [0, 1, 2]
    assert mg.linspace(0, 1, 3).data.tolist() == [0.0, 0.5, 1.0]
    a = mg.randn(2, 3, rng=0)
    b = mg.randn((2, 3), rng=np.random.default_rng(0))
    np.testing.assert_array_equal(a.data, b.data)
    assert mg.rand(4, rng=1, requires_grad=True).requires_grad
    assert mg.zeros(2, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize(("call", "pattern"), [
    (lambda: mg.tensor([1.0, 2.0, 3.0]) + mg.tensor([1.0, 2.0]), r"add: shapes \(3,\), \(2,\) do not broadcast"),
    (lambda: mg.ones((2, 3)) @ mg.ones((2, 3)), r"matmul: shapes \(2, 3\) and \(2, 3\) are not aligned"),
    (lambda: mg.ones((2, 3)).reshape(4), r"reshape: cannot reshape a tensor of shape \(2, 3\)"),
    (lambda: mg.ones((2, 3)).sum(axis=2), r"sum: axis 2 is out of range"),
    (lambda: mg.softmax(mg.ones((2, 3)), axis=-3), r"softmax: axis -3 is out of range"),
    (lambda: mg.ones(3)[5], r"getitem: index 5 is out of bounds"),
    (lambda: mg.broadcast_to(mg.ones(3), (2, 4)), r"broadcast_to: a tensor of shape \(3,\)"),
])
def test_shape_errors_name_the_op_and_shapes(call, pattern):
    with pytest.raises((ValueError, IndexError)) as info:
        call()
    assert info.match(pattern)


def test_repr():
    assert repr(mg.tensor([1.0, 2.0], requires_grad=True)) == "Tensor([1., 2.], requires_grad=True)"
    assert "op=add" in repr(mg.tensor(1.0, requires_grad=True) + 1)
