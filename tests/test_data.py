"""mg.data.DataLoader."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad.data import DataLoader


def test_full_batch_by_default():
    X, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    batches = list(DataLoader(X, y))
    assert len(batches) == 1 and len(DataLoader(X, y)) == 1
    xb, yb = batches[0]
    assert isinstance(xb, mg.Tensor) and isinstance(yb, mg.Tensor)
    np.testing.assert_array_equal(xb.data, X)
    assert yb.dtype.kind == "i" and not xb.requires_grad


@pytest.mark.parametrize("n, batch, drop_last, sizes", [
    (10, 3, False, [3, 3, 3, 1]),
    (10, 3, True, [3, 3, 3]),
    (9, 3, False, [3, 3, 3]),
    (2, 5, False, [2]),
    (2, 5, True, []),
])
def test_batches_and_len(n, batch, drop_last, sizes):
    loader = DataLoader(np.arange(n), batch_size=batch, drop_last=drop_last)
    got = [b[0].shape[0] for b in loader]
    assert got == sizes and len(loader) == len(sizes)


def test_unshuffled_order_and_single_array_yields_tuples():
    loader = DataLoader(np.arange(5), batch_size=2)
    assert [b[0].tolist() for b in loader] == [[0, 1], [2, 3], [4]]
    assert all(isinstance(b, tuple) and len(b) == 1 for b in loader)


def test_shuffle_keeps_rows_together_and_is_reproducible():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10) * 2.0
    run = [[(xb.data.copy(), yb.data.copy()) for xb, yb in
            DataLoader(X, y, batch_size=4, shuffle=True, rng=7)] for _ in range(2)]
    for (xa, ya), (xb, yb) in zip(*run, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    seen = np.concatenate([ya for _, ya in run[0]])
    assert sorted(seen.tolist()) == sorted(y.tolist())  # a permutation: each row once
    assert seen.tolist() != y.tolist()
    for xa, ya in run[0]:
        np.testing.assert_array_equal(xa[:, 0], ya)  # rows stay paired


def test_new_order_each_pass():
    loader = DataLoader(np.arange(50), batch_size=50, shuffle=True, rng=0)
    first, second = (next(iter(loader))[0].tolist() for _ in range(2))
    assert first != second


def test_accepts_tensors_and_lists():
    loader = DataLoader(mg.tensor([[1.0], [2.0]]), [3.0, 4.0], batch_size=1)
    assert [b[1].item() for b in loader] == [3.0, 4.0]


def test_errors():
    with pytest.raises(ValueError, match=r"different lengths \[3, 4\]"):
        DataLoader(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        DataLoader(np.zeros(3), batch_size=0)
    with pytest.raises(ValueError, match="at least one array"):
        DataLoader()
    with pytest.raises(ValueError, match="scalar"):
        DataLoader(np.float64(3.0))
