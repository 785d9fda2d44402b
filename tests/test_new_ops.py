"""Issue 15's ops (einsum, pad, tile, repeat, split, tril/triu, cumsum, take_along_axis,
log1p, expm1, erf) against PyTorch in float64 -- values and gradients -- and their
errors. (First and second derivatives against finite differences: tests/op_table.py.)"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg

RNG = np.random.default_rng(2015)


def _cases(torch):
    a = lambda *shape: RNG.standard_normal(shape)  # noqa: E731
    rows = np.array([[2, 0], [1, 1], [0, 2], [2, 2]])
    return {
        "einsum_matmul": (lambda x, y: mg.einsum("bij,bjk->bik", x, y),
                          lambda x, y: torch.einsum("bij,bjk->bik", x, y), [a(2, 3, 4), a(2, 4, 5)]),
        "einsum_ellipsis": (lambda x, y: mg.einsum("...ij,...j->...i", x, y),
                            lambda x, y: torch.einsum("...ij,...j->...i", x, y),
                            [a(2, 3, 4), a(1, 4)]),
        "einsum_three": (lambda x, y, z: mg.einsum("ij,jk,kl->il", x, y, z),
                         lambda x, y, z: torch.einsum("ij,jk,kl->il", x, y, z),
                         [a(2, 3), a(3, 4), a(4, 2)]),
        "einsum_sum_only": (lambda x, y: mg.einsum("ij,kl->ik", x, y),
                            lambda x, y: torch.einsum("ij,kl->ik", x, y), [a(2, 3), a(4, 5)]),
        "pad": (lambda x: mg.pad(x, ((1, 2), (0, 3)), constant_values=-1.5),
                lambda x: torch.nn.functional.pad(x, (0, 3, 1, 2), value=-1.5), [a(3, 4)]),
        "tile": (lambda x: mg.tile(x, (2, 1, 3)), lambda x: torch.tile(x, (2, 1, 3)), [a(3, 4)]),
        "repeat": (lambda x: mg.repeat(x, 3, axis=1),
                   lambda x: torch.repeat_interleave(x, 3, dim=1), [a(2, 4)]),
        "repeat_counts": (lambda x: mg.repeat(x, [2, 0, 1], axis=0),
                          lambda x: torch.repeat_interleave(x, torch.tensor([2, 0, 1]), dim=0),
                          [a(3, 2)]),
        "split": (lambda x: mg.split(x, [1, 3], axis=1)[1] * 2 + mg.split(x, 2, axis=0)[0].sum(),
                  lambda x: torch.tensor_split(x, [1, 3], dim=1)[1] * 2
                  + torch.chunk(x, 2, dim=0)[0].sum(), [a(4, 5)]),
        "tril": (lambda x: mg.tril(x, -1), lambda x: torch.tril(x, -1), [a(2, 4, 3)]),
        "triu": (lambda x: mg.triu(x, 1), lambda x: torch.triu(x, 1), [a(4, 3)]),
        "cumsum": (lambda x: mg.cumsum(x, axis=1), lambda x: torch.cumsum(x, dim=1), [a(3, 4, 2)]),
        "cumsum_flat": (lambda x: mg.cumsum(x), lambda x: torch.cumsum(x.reshape(-1), 0),
                        [a(3, 4)]),
        "take_along_axis": (lambda x: mg.take_along_axis(x, rows, axis=1),
                            lambda x: torch.take_along_dim(x, torch.tensor(rows), dim=1),
                            [a(4, 3)]),
        "log1p": (mg.log1p, torch.log1p, [np.abs(a(3, 4)) * 3 - 0.5]),
        "expm1": (mg.expm1, torch.expm1, [a(3, 4) * 3]),
        "erf": (mg.erf, torch.erf, [a(5, 40) * 2.5]),
    }


NAMES = ["einsum_matmul", "einsum_ellipsis", "einsum_three", "einsum_sum_only", "pad", "tile",
         "repeat", "repeat_counts", "split", "tril", "triu", "cumsum", "cumsum_flat",
         "take_along_axis", "log1p", "expm1", "erf"]


@pytest.mark.parametrize("name", NAMES)
def test_matches_torch(name):
    torch = pytest.importorskip("torch")
    ours, theirs, arrays = _cases(torch)[name]
    xs = [mg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = ours(*xs), theirs(*ts)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-13, atol=1e-14)
    upstream = RNG.standard_normal(expected.shape)
    out.backward(mg.tensor(upstream))
    expected.backward(torch.tensor(upstream))
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-13, atol=1e-14)


def test_methods_and_small_values():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.cumsum(axis=0).tolist() == [[1.0, 2.0], [4.0, 6.0]]
    assert x.repeat(2, axis=1).tolist() == [[1.0, 1.0, 2.0, 2.0], [3.0, 3.0, 4.0, 4.0]]
    assert mg.log1p(mg.tensor(1e-20)).item() == 1e-20  # log(1 + x) would give 0
    assert mg.expm1(mg.tensor(1e-20)).item() == 1e-20
    assert mg.erf(mg.tensor(1e-300)).item() == pytest.approx(1.1283791670955126e-300, rel=1e-15)
    parts = mg.split(mg.arange(6.0), 3)
    assert [p.tolist() for p in parts] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]


def test_dim_is_pytorchs_name_for_axis():
    x = mg.tensor(RNG.standard_normal((3, 4)))
    idx = np.array([[1], [0], [3]])
    assert np.array_equal(mg.take_along_axis(x, idx, dim=1).data,
                          np.take_along_axis(x.data, idx, axis=1))
    assert np.array_equal(mg.take_along_axis(x, idx).data,  # NumPy's default: the last axis
                          np.take_along_axis(x.data, idx, axis=-1))
    assert np.array_equal(mg.cumsum(x, dim=0).data, np.cumsum(x.data, axis=0))
    with pytest.raises(TypeError, match=r"take_along_axis: got axis=1 and dim=1"):
        mg.take_along_axis(x, idx, 1, dim=1)


def test_errors():
    with pytest.raises(ValueError, match=r"einsum: 'ii' in 'ii->' repeats a letter.*mg.diag or "
                                         r"mg.trace"):
        mg.einsum("ii->", mg.eye(3))
    with pytest.raises(ValueError, match=r"einsum: subscripts 'ij,jk' name 2 operands but 1 were "
                                         r"given"):
        mg.einsum("ij,jk", mg.eye(3))
    with pytest.raises(ValueError, match=r"einsum: subscripts 'ijk' do not fit an operand with 2 "
                                         r"dimensions"):
        mg.einsum("ijk->i", mg.eye(3))
    with pytest.raises(ValueError, match=r"pad: pad_width \(1, 2, 3\) does not fit a tensor with 2 "
                                         r"dimensions"):
        mg.pad(mg.eye(3), (1, 2, 3))
    with pytest.raises(ValueError, match=r"pad: pad_width must hold non-negative ints"):
        mg.pad(mg.eye(3), -1)
    with pytest.raises(ValueError, match=r"split: an axis of size 5 does not split into 2 equal "
                                         r"sections; give split indices instead"):
        mg.split(mg.zeros(5), 2)
    with pytest.raises(ValueError, match=r"tril: needs a matrix \(2 or more dimensions\), got "
                                         r"shape \(3,\)"):
        mg.tril(mg.zeros(3))
    with pytest.raises(ValueError, match=r"take_along_axis: indices have 1 dimensions but the "
                                         r"tensor has 2"):
        mg.take_along_axis(mg.eye(3), np.array([0, 1]), axis=1)
    with pytest.raises(IndexError, match=r"take_along_axis: indices must be integers"):
        mg.take_along_axis(mg.eye(3), np.array([[0.5]]), axis=1)
    with pytest.raises(np.exceptions.AxisError, match=r"cumsum: axis 2 is out of range"):
        mg.cumsum(mg.eye(3), axis=2)
