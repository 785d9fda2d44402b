"""mg.losses: values against PyTorch / closed forms, gradients by gradcheck, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from tests.strategies import examples
from minigrad import losses

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(0)


def _probs(shape, rng=RNG):
    p = rng.uniform(0.05, 1.0, size=shape)
    return p / p.sum(axis=-1, keepdims=True)


def _torch_loss_and_grad(fn, *arrays):
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    out.backward()
    return out.item(), [t.grad.numpy() for t in ts]


def _mg_loss_and_grad(fn, *arrays):
    ts = [mg.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    out.backward()
    return out.item(), [t.grad.data for t in ts]


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name, ours, theirs", [
    ("mse", losses.mse, F.mse_loss),
    ("mae", losses.mae, F.l1_loss),
    ("huber", losses.huber, F.huber_loss),
])
def test_regression_losses_match_torch(name, ours, theirs, reduction):
    pred, target = RNG.normal(size=(6, 3)) * 2, RNG.normal(size=(6, 3))
    v1, g1 = _mg_loss_and_grad(lambda p, t: ours(p, t, reduction=reduction), pred, target)
    v2, g2 = _torch_loss_and_grad(lambda p, t: theirs(p, t, reduction=reduction), pred, target)
    assert v1 == pytest.approx(v2, rel=1e-12)
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_huber_delta_matches_torch():
    pred, target = RNG.normal(size=20) * 3, RNG.normal(size=20)
    v1, g1 = _mg_loss_and_grad(lambda p, t: losses.huber(p, t, delta=0.7), pred, target)
    v2, g2 = _torch_loss_and_grad(lambda p, t: F.huber_loss(p, t, delta=0.7), pred, target)
    assert v1 == pytest.approx(v2, rel=1e-12)
    np.testing.assert_allclose(g1[0], g2[0], rtol=1e-10)


def test_seed_note_mse_value():
    assert losses.mse(mg.tensor([3.0, 5.0, 7.0]), [2.0, 5.0, 8.0]).item() == pytest.approx(
        2 / 3)


def test_reduction_none_keeps_shape():
    out = losses.mse(mg.ones((2, 3)), np.zeros((2, 3)), reduction="none")
    assert out.shape == (2, 3)
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.mse(mg.ones(3), np.zeros(3), reduction="avg")


def test_mse_builds_a_lean_graph():
    pred = mg.tensor(RNG.normal(size=5), requires_grad=True)
    loss = losses.mse(pred, np.zeros(5))
    ops, stack, seen = [], [loss], set()
    while stack:
        t = stack.pop()
        if t.op and id(t) not in seen:
            seen.add(id(t))
            ops.append(t.op)
            stack.extend(p for p in t.parents if p.requires_grad)
    assert sorted(ops) == ["mean", "multiply", "subtract"]


@pytest.mark.parametrize("fn", [losses.mse, losses.mae, losses.huber,
                                losses.binary_cross_entropy_with_logits])
def test_shape_mismatch_names_shapes_and_broadcast(fn):
    with pytest.raises(ValueError) as info:
        fn(mg.zeros(100), np.zeros((100, 1)))
    message = str(info.value)
    assert "(100,)" in message and "(100, 1)" in message and "(100, 100)" in message
    assert "reshape" in message


def test_mse_mismatch_message_exact():
    with pytest.raises(ValueError) as info:
        losses.mse(mg.zeros(100), mg.zeros((100, 1)))
    assert str(info.value) == (
        "mse: pred has shape (100,) but target has shape (100, 1); they would broadcast to "
        "(100, 100). Use target.reshape(-1) or pred.reshape(-1, 1).")


def test_mismatch_that_does_not_broadcast():
    with pytest.raises(ValueError, match="do not even broadcast"):
        losses.mae(mg.zeros(3), np.zeros(4))


def test_binary_cross_entropy_matches_torch():
    p, t = RNG.uniform(0.01, 0.99, size=10), RNG.uniform(0, 1, size=10)
    v1, g1 = _mg_loss_and_grad(losses.binary_cross_entropy, p, t)
    v2, g2 = _torch_loss_and_grad(F.binary_cross_entropy, p, t)
    assert v1 == pytest.approx(v2, rel=1e-12)
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9)


def test_binary_cross_entropy_clamps_like_torch_at_0_and_1():
    p, t = np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0])
    value = losses.binary_cross_entropy(mg.tensor(p), t).item()
    expected = F.binary_cross_entropy(torch.tensor(p), torch.tensor(t)).item()
    assert value == pytest.approx(expected) and math.isfinite(value)


def test_bce_with_logits_matches_torch_and_is_stable():
    x, t = np.array([-1000.0, -3.0, 0.0, 2.5, 1000.0]), np.array([1.0, 0.0, 0.5, 1.0, 0.0])
    v1, g1 = _mg_loss_and_grad(losses.binary_cross_entropy_with_logits, x, t)
    v2, g2 = _torch_loss_and_grad(F.binary_cross_entropy_with_logits, x, t)
    assert math.isfinite(v1) and v1 == pytest.approx(v2, rel=1e-12)
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10)


@pytest.mark.parametrize("fn, name", [(losses.binary_cross_entropy, "probs"),
                                      (losses.kl_div, "p")])
def test_probabilities_outside_unit_interval(fn, name):
    with pytest.raises(ValueError, match=rf"{name} must hold probabilities in \[0, 1\].*1\.5"):
        fn(mg.tensor([0.2, 1.5]), np.array([0.5, 0.5]))


def test_target_outside_unit_interval():
    with pytest.raises(ValueError, match="target must hold probabilities"):
        losses.binary_cross_entropy_with_logits(mg.tensor([0.2, 1.5]), [2.0, 0.0])


@pytest.mark.parametrize("as_tensor", [False, True])
def test_cross_entropy_indices_matches_torch(as_tensor):
    logits, classes = RNG.normal(size=(7, 4)) * 3, RNG.integers(0, 4, size=7)
    target = mg.tensor(classes) if as_tensor else classes
    x = mg.tensor(logits, requires_grad=True)
    loss = losses.cross_entropy(x, target)
    loss.backward()
    tx = torch.tensor(logits, requires_grad=True)
    tloss = F.cross_entropy(tx, torch.tensor(classes))
    tloss.backward()
    assert loss.item() == pytest.approx(tloss.item(), rel=1e-12)
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_cross_entropy_probabilities_matches_torch():
    logits, probs = RNG.normal(size=(5, 3)), _probs((5, 3))
    v1, g1 = _mg_loss_and_grad(losses.cross_entropy, logits, probs)
    v2, g2 = _torch_loss_and_grad(F.cross_entropy, logits, probs)
    assert v1 == pytest.approx(v2, rel=1e-12)
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


def test_cross_entropy_stable_for_huge_logits():
    loss = losses.cross_entropy(mg.tensor([[1e4, -1e4, 0.0]]), [1])
    assert loss.item() == pytest.approx(2e4)


def test_cross_entropy_gradchecks():
    logits = mg.tensor(RNG.normal(size=(4, 3)), requires_grad=True)
    classes = np.array([0, 2, 1, 2])
    assert mg.gradcheck(lambda x: losses.cross_entropy(x, classes, reduction="none"),
                        [logits])
    assert mg.gradgradcheck(lambda x: losses.cross_entropy(x, classes), [logits])


def test_cross_entropy_class_index_errors():
    logits = mg.zeros((3, 4))
    with pytest.raises(ValueError, match="class index 4 is out of range for 4 classes"):
        losses.cross_entropy(logits, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match="class index -1"):
        losses.cross_entropy(logits, np.array([0, -1, 1]))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        losses.cross_entropy(logits, np.array([[0], [1], [2]]))
    with pytest.raises(ValueError, match=r"logits must have shape \(n, C\)"):
        losses.cross_entropy(mg.zeros(4), np.array([1]))
    with pytest.raises(ValueError, match="logits has shape"):
        losses.cross_entropy(logits, _probs((3, 5)))


@pytest.mark.parametrize("fn, args", [
    (losses.binary_cross_entropy, (RNG.uniform(0.1, 0.9, 5), RNG.uniform(0, 1, 5))),
    (losses.binary_cross_entropy_with_logits, (RNG.normal(size=5), RNG.uniform(0, 1, 5))),
    (losses.huber, (RNG.normal(size=5) * 3, RNG.normal(size=5))),
    (losses.kl_div, (_probs((2, 4)), _probs((2, 4)))),
    (losses.cross_entropy, (RNG.normal(size=(3, 4)), _probs((3, 4)))),
])
def test_gradcheck_both_arguments(fn, args):
    inputs = [mg.tensor(a, requires_grad=True) for a in args]
    assert mg.gradcheck(lambda a, b: fn(a, b, reduction="none"), inputs)


# -- information theory --------------------------------------------------------


def test_entropy_values():
    assert losses.entropy(mg.tensor([0.5, 0.5]), base=2).item() == pytest.approx(1.0)
    assert losses.entropy(mg.tensor([0.25] * 4), base=2).item() == pytest.approx(2.0)
    assert losses.entropy(mg.tensor([1.0, 0.0])).item() == 0.0
    h = losses.entropy(mg.tensor([0.75, 0.25]), base=2).item()
    assert h == pytest.approx(-(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25)))


def test_entropy_matches_scipy_and_rows():
    stats = pytest.importorskip("scipy.stats")
    p = _probs((3, 5))
    per_row = losses.entropy(mg.tensor(p), reduction="none").data
    np.testing.assert_allclose(per_row, stats.entropy(p, axis=-1), rtol=1e-12)
    assert losses.entropy(mg.tensor(p)).item() == pytest.approx(per_row.mean())
    assert losses.entropy(mg.tensor(p), reduction="sum").item() == pytest.approx(per_row.sum())


def test_entropy_gradient_is_finite_at_zero():
    p = mg.tensor([0.0, 0.3, 0.7], requires_grad=True)
    losses.entropy(p).backward()
    assert np.isfinite(p.grad.data).all()
    assert p.grad.data[0] == 0.0
    np.testing.assert_allclose(p.grad.data[1:], -(np.log([0.3, 0.7]) + 1))


def test_entropy_gradchecks_away_from_zero():
    p = mg.tensor(_probs((2, 3)), requires_grad=True)
    assert mg.gradcheck(lambda x: losses.entropy(x, base=2, reduction="none"), [p])
    assert mg.gradgradcheck(lambda x: losses.entropy(x), [p])


def test_entropy_errors():
    with pytest.raises(ValueError, match="base must be a positive number other than 1"):
        losses.entropy(mg.tensor([0.5, 0.5]), base=1)
    with pytest.raises(ValueError, match="entropy: p must hold probabilities"):
        losses.entropy(mg.tensor([-0.1, 1.1]))


def test_kl_div_values_and_zeros():
    p, q = _probs((4, 3)), _probs((4, 3))
    expected = (p * np.log(p / q)).sum(axis=-1)
    np.testing.assert_allclose(losses.kl_div(p, q, reduction="none").data, expected)
    assert losses.kl_div(mg.tensor(p), q).item() == pytest.approx(expected.mean())
    # 0 log(0/q) = 0, with a zero (finite) gradient; q = 0 under p > 0 is +inf
    p0 = mg.tensor([0.0, 1.0], requires_grad=True)
    q0 = mg.tensor([0.5, 0.5], requires_grad=True)
    value = losses.kl_div(p0, q0)
    value.backward()
    assert value.item() == pytest.approx(math.log(2))
    assert np.isfinite(p0.grad.data).all() and np.isfinite(q0.grad.data).all()
    np.testing.assert_allclose(q0.grad.data, [0.0, -2.0])
    assert losses.kl_div(mg.tensor([0.5, 0.5]), [1.0, 0.0]).item() == math.inf


@settings(max_examples=examples(25), deadline=None)
@given(n=st.integers(1, 5), c=st.integers(2, 5), seed=st.integers(0, 2**32 - 1))
def test_cross_entropy_of_one_hot_probs_equals_indices(n, c, seed):
    rng = np.random.default_rng(seed)
    logits, classes = rng.normal(size=(n, c)) * 5, rng.integers(0, c, size=n)
    one_hot = np.eye(c)[classes]
    a = losses.cross_entropy(mg.tensor(logits), classes, reduction="none").data
    b = losses.cross_entropy(mg.tensor(logits), one_hot, reduction="none").data
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
