"""mg.nn.utils: gradient clipping against torch.nn.utils."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn.utils import clip_grad_norm_, clip_grad_value_


def _grads(scale, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(3, 4)) * scale, rng.normal(size=5) * scale, rng.normal(size=()) * scale]


def _both(grads):
    torch = pytest.importorskip("torch")
    ours = [mg.zeros(g.shape, requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, t, g in zip(ours, theirs, grads, strict=True):
        p.grad, t.grad = mg.tensor(g), torch.tensor(g)
    return torch, ours, theirs


@pytest.mark.parametrize("scale, max_norm, norm_type", [
    (1.0, 1.0, 2.0), (0.01, 1.0, 2.0),  # clipped, and left alone (below max_norm)
    (1.0, 0.5, 1.0), (1.0, 2.0, float("inf")), (3.0, 1.0, 3.0),
])
def test_clip_grad_norm_matches_torch(scale, max_norm, norm_type):
    torch, ours, theirs = _both(_grads(scale))
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, mg.Tensor)
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-13)
    for p, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-13, atol=1e-15)
    after = np.linalg.norm(np.concatenate([p.grad.data.ravel() for p in ours]), ord=norm_type)
    assert after <= max_norm * (1 + 1e-9)


def test_clip_grad_value_matches_torch():
    torch, ours, theirs = _both(_grads(2.0))
    assert clip_grad_value_(ours, 0.7) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, t in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(p.grad.data, t.grad.numpy())
    assert max(np.abs(p.grad.data).max() for p in ours) == 0.7


def test_clipping_skips_missing_grads_and_scales_a_shared_array_once():
    a, b, c = (mg.tensor([3.0, 4.0], requires_grad=True) for _ in range(3))
    shared = np.array([6.0, 8.0])
    a.grad, b.grad = mg.from_numpy(shared), mg.from_numpy(shared)  # one array, two grads
    total = clip_grad_norm_([a, b, c], max_norm=1.0)
    np.testing.assert_allclose(total.item(), np.sqrt(200))
    np.testing.assert_allclose(shared, np.array([6.0, 8.0]) / (np.sqrt(200) + 1e-6))
    assert a.grad.data is shared and b.grad.data is shared
    assert c.grad is None
    assert clip_grad_norm_([c], 1.0).item() == 0.0
    w = mg.tensor([1.0], requires_grad=True)
    w.grad = mg.tensor([5.0])
    clip_grad_value_(w, 1.0)  # one Tensor is accepted too
    assert w.grad.item() == 1.0


def test_clip_keeps_float32_and_trains_with_an_optimizer():
    model = mg.nn.Linear(3, 1, rng=0, dtype=np.float32)
    model(mg.ones((4, 3), dtype=np.float32) * 100).sum().backward()
    clip_grad_norm_(model.parameters(), 0.5)
    assert all(p.grad.dtype == np.float32 for p in model.parameters())
    mg.optim.SGD(model.parameters(), lr=0.1).step()


def test_clip_errors():
    p = mg.tensor([1.0], requires_grad=True)
    p.grad = mg.tensor([np.inf])
    with pytest.raises(RuntimeError, match="clip_grad_norm_: the total norm of order 2.0 .* inf"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    with pytest.raises(TypeError, match="clip_grad_norm_: parameter 0 is a ndarray"):
        clip_grad_norm_([np.zeros(2)], 1.0)
    with pytest.raises(ValueError, match="clip_value must be >= 0"):
        clip_grad_value_([p], -1.0)


def test_clipping_changes_the_gradient_in_place_as_torch():
    p = mg.tensor([3.0, 4.0], requires_grad=True)
    (p * p).sum().backward()  # grad [6, 8]
    g = p.grad
    mg.nn.utils.clip_grad_norm_([p], 1.0)
    assert p.grad is g
    np.testing.assert_allclose(g.data, [0.6, 0.8], rtol=1e-6)
    mg.nn.utils.clip_grad_value_([p], 0.7)
    assert p.grad is g
    np.testing.assert_allclose(g.data, [0.6, 0.7], rtol=1e-6)


def test_a_gradient_shared_by_two_parameters_is_clipped_once():
    a = mg.tensor([3.0, 4.0], requires_grad=True)
    b = mg.tensor([0.0, 0.0], requires_grad=True)
    a.grad = mg.tensor([3.0, 4.0])
    b.grad = a.grad
    mg.nn.utils.clip_grad_value_([a, b], 3.5)
    np.testing.assert_allclose(a.grad.data, [3.0, 3.5])
