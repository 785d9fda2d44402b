"""Issue 16's classes of wrong answers, one section per class, each checked at its root:
against PyTorch in float64 (skipped without torch), against NumPy, or against finite
differences.

* negative axes (the op table's negative-axes column is in tests/test_ops.py);
* sequences inside an index tuple are advanced indices, exactly as NumPy decides;
* second derivatives are never silently zero (prod at zeros, det of a singular matrix,
  BCE's target gradient), or they raise;
* kinks and limits as PyTorch defines them;
* concatenate(axis=None), save with keys named like np.savez's arguments;
* stable functions stay stable in backward under np.errstate(all="raise");
* dim=/keepdim= are PyTorch's spellings of axis=/keepdims=.
"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg


def _torch():
    return pytest.importorskip("torch")


def _grads(f, arrays):
    """minigrad gradients of sum(f(*xs) * w) for fixed weights w."""
    xs = [mg.tensor(a, requires_grad=True) for a in arrays]
    out = f(*xs)
    w = np.random.default_rng(1).normal(size=out.shape)
    (out * w).sum().backward()
    return out.data, [x.grad.data if x.grad is not None else None for x in xs], w


def _torch_grads(f, arrays, w):
    torch = _torch()
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = f(*ts)
    (out * torch.tensor(w)).sum().backward()
    return out.detach().numpy(), [t.grad.numpy() if t.grad is not None else None for t in ts]


def assert_same_as_torch(f_mg, f_torch, *arrays):
    out, grads, w = _grads(f_mg, arrays)
    t_out, t_grads = _torch_grads(f_torch, arrays, w)
    np.testing.assert_allclose(out, t_out, rtol=1e-12, atol=1e-12)
    for g, tg in zip(grads, t_grads, strict=True):
        if tg is None:
            assert g is None or np.all(g == 0)
        else:  # NaN where PyTorch has NaN, inf where it has inf
            np.testing.assert_allclose(g, tg, rtol=1e-10, atol=1e-12, equal_nan=True)


# ---------------------------------------------------------------------------
# Negative axes: the normalised axis, never the raw one, in every backward.
# ---------------------------------------------------------------------------

X3 = np.random.default_rng(0).normal(size=(2, 3, 4))

NEGATIVE_AXES = [
    ("transpose", lambda x: mg.transpose(x, (-1, 0, -2)),
     lambda x: x.permute(2, 0, 1)),
    ("Tensor.transpose", lambda x: x.transpose(-2, -1, 0),
     lambda x: x.permute(1, 2, 0)),
    ("swapaxes", lambda x: mg.swapaxes(x, -1, 0), lambda x: x.transpose(-1, 0)),
    ("squeeze", lambda x: mg.squeeze(mg.expand_dims(x, -2), -2),
     lambda x: x.unsqueeze(-2).squeeze(-2)),
    ("expand_dims", lambda x: mg.expand_dims(x, -1), lambda x: x.unsqueeze(-1)),
    ("concatenate", lambda x: mg.concatenate([x, 2 * x], axis=-2),
     lambda x: __import__("torch").cat([x, 2 * x], dim=-2)),
    ("stack", lambda x: mg.stack([x, 2 * x], axis=-1),
     lambda x: __import__("torch").stack([x, 2 * x], dim=-1)),
    ("sum", lambda x: mg.sum(x, axis=(-1, 0)), lambda x: x.sum(dim=(-1, 0))),
    ("mean", lambda x: mg.mean(x, axis=-2, keepdims=True), lambda x: x.mean(-2, True)),
    ("var", lambda x: mg.var(x, axis=-1, ddof=1), lambda x: x.var(-1, correction=1)),
    ("std", lambda x: mg.std(x, axis=(-1, -2)), lambda x: x.std((-1, -2), correction=0)),
    ("max", lambda x: mg.max(x, axis=-1), lambda x: x.amax(-1)),
    ("min", lambda x: mg.min(x, axis=(-3, -1)), lambda x: x.amin((-3, -1))),
    ("prod", lambda x: mg.prod(x, axis=-2), lambda x: x.prod(-2)),
    ("logsumexp", lambda x: mg.logsumexp(x, axis=-1), lambda x: x.logsumexp(-1)),
    ("softmax", lambda x: mg.softmax(x, axis=-3), lambda x: x.softmax(-3)),
    ("log_softmax", lambda x: mg.log_softmax(x, axis=-2), lambda x: x.log_softmax(-2)),
    ("cumsum", lambda x: mg.cumsum(x, axis=-2), lambda x: x.cumsum(-2)),
    ("norm", lambda x: mg.linalg.norm(x, axis=-1), lambda x: x.norm(dim=-1)),
    ("norm_p3", lambda x: mg.linalg.norm(x, 3, axis=-2),
     lambda x: __import__("torch").linalg.vector_norm(x, 3, dim=-2)),
    ("matrix_norm", lambda x: mg.linalg.norm(x, "fro", axis=(-1, -2)),
     lambda x: __import__("torch").linalg.matrix_norm(x, "fro", dim=(-1, -2))),
    ("median", lambda x: mg.median(x, axis=-1, keepdims=True),
     lambda x: x.sort(-1).values[..., 1:3].mean(-1, keepdim=True)),
]


@pytest.mark.parametrize(("name", "f_mg", "f_torch"), NEGATIVE_AXES, ids=[c[0] for c in NEGATIVE_AXES])
def test_negative_axes_against_pytorch(name, f_mg, f_torch):
    assert_same_as_torch(f_mg, f_torch, X3)


def test_transpose_rejects_axes_that_are_not_a_permutation():
    with pytest.raises(ValueError, match="transpose: axes .* permutation"):
        mg.transpose(mg.tensor(X3), (0, -3, 1))


def test_numpy_transpose_of_a_tensor_with_negative_axes():
    x = mg.tensor(X3, requires_grad=True)
    w = np.random.default_rng(2).normal(size=(4, 2, 3))
    (np.transpose(x, (-1, 0, 1)) * w).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.transpose(w, (1, 2, 0)))


# ---------------------------------------------------------------------------
# Advanced indexing: decided as NumPy decides, in one place (indexing._plain_index).
# ---------------------------------------------------------------------------

INDICES = [
    (slice(None), (1, 1)),
    ((0, 0),),
    ((0, 1, 0), slice(None)),
    [0, 0, 1],
    (slice(None), [2, 2, 0]),
    ((0, 1), (2, 2)),
    (Ellipsis, (1, 1)),
    (None, slice(None), (0, 0)),
    (1, (2, 2, 2)),
    (np.array([True, False]), slice(None)),
    (slice(None), [True, False, True]),
    (slice(0, 2), 1),
    (np.int64(1), slice(None, None, -1)),
    [],
]


@pytest.mark.parametrize("index", INDICES, ids=[repr(i) for i in INDICES])
def test_indexing_gradient_is_numpy_scatter_add(index):
    a = np.arange(6.0).reshape(2, 3) + 1
    x = mg.tensor(a, requires_grad=True)
    out = x[index]
    np.testing.assert_array_equal(out.data, a[index])  # the forward is NumPy's
    g = np.random.default_rng(3).normal(size=out.shape)
    out.backward(g)
    # which elements each output read, computed by NumPy itself on an index map
    positions = np.arange(a.size).reshape(a.shape)[index]
    expected = np.zeros(a.size)
    np.add.at(expected, positions.reshape(-1), g.reshape(-1))
    np.testing.assert_allclose(x.grad.data, expected.reshape(a.shape), rtol=0, atol=1e-15)


def test_tuple_inside_index_against_pytorch():
    a = np.arange(6.0).reshape(2, 3)
    assert_same_as_torch(lambda x: x[:, (1, 1)], lambda x: x[:, (1, 1)], a)
    assert_same_as_torch(lambda x: x[(0, 0), :], lambda x: x[(0, 0), :], a)


def test_repeated_tuple_index_second_order():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert mg.gradgradcheck(lambda t: (t[(0, 0, 2),] ** 3).sum(), [x])


# ---------------------------------------------------------------------------
# Second derivatives: never silently zero.
# ---------------------------------------------------------------------------


def _hessians_match(f_mg, f_torch, a):
    torch = _torch()
    h = mg.autograd.hessian(f_mg, mg.tensor(a, requires_grad=True)).data
    h_t = torch.autograd.functional.hessian(f_torch, torch.tensor(a)).numpy()
    np.testing.assert_allclose(h, h_t, rtol=1e-10, atol=1e-12)
    return h


@pytest.mark.parametrize("zeros", [[1], [1, 4], [0, 2, 4]], ids=["one", "two", "three"])
def test_prod_hessian_with_zeros_against_pytorch(zeros):
    a = np.array([[1.5, -2.0, 3.0], [0.5, 2.5, -1.0]])
    a.flat[zeros] = 0.0
    h = _hessians_match(lambda x: mg.prod(x), lambda x: x.prod(), a)
    if len(zeros) <= 2:
        assert np.any(h != 0)  # the case that used to come back all zeros
    _hessians_match(lambda x: mg.prod(x, axis=-1).sum(), lambda x: x.prod(-1).sum(), a)
    _hessians_match(lambda x: (mg.prod(x, axis=0) ** 2).sum(),
                    lambda x: (x.prod(0) ** 2).sum(), a)


def test_prod_second_order_at_zero_against_finite_differences():
    x = mg.tensor([[0.0, 2.0, -1.5], [1.2, 0.0, 0.0]], requires_grad=True)
    assert mg.gradgradcheck(lambda t: mg.prod(t, axis=1), [x])
    assert mg.gradgradcheck(lambda t: mg.prod(t), [x])


@pytest.mark.parametrize("rank", [1, 2])
def test_det_hessian_of_singular_matrix_against_pytorch(rank):
    rng = np.random.default_rng(4)
    a = rng.normal(size=(3, rank)) @ rng.normal(size=(rank, 3))  # rank < 3: det = 0
    h = _hessians_match(lambda x: mg.linalg.det(x), lambda x: x.det(), a)
    assert np.any(np.abs(h) > 1e-8)


def test_det_second_order_of_singular_stack():
    a = np.array([[[1.0, 2.0], [2.0, 4.0]], [[1.0, 0.5], [0.0, 3.0]]])
    x = mg.tensor(a, requires_grad=True)
    assert mg.gradgradcheck(lambda t: mg.linalg.det(t), [x])


def test_bce_target_gradient_is_differentiable_in_probs():
    torch = _torch()
    p0, t0 = np.array([0.2, 0.7, 0.45]), np.array([0.3, 0.9, 0.5])
    p, t = mg.tensor(p0, requires_grad=True), mg.tensor(t0, requires_grad=True)
    _, grad_t = mg.autograd.grad(mg.losses.binary_cross_entropy(p, t), [p, t],
                                 create_graph=True)
    mixed = mg.autograd.grad(grad_t.sum(), p)[0]
    P = torch.tensor(p0, requires_grad=True)
    T = torch.tensor(t0, requires_grad=True)
    _, GT = torch.autograd.grad(torch.nn.functional.binary_cross_entropy(P, T), [P, T],
                                create_graph=True)
    np.testing.assert_allclose(mixed.data, torch.autograd.grad(GT.sum(), P)[0].numpy(),
                               rtol=1e-12)
    assert np.all(mixed.data != 0)


def test_trigamma_derivative_raises_clearly():
    x = mg.tensor([1.5], requires_grad=True)
    g = mg.autograd.grad(mg.distributions.digamma(x).sum(), x, create_graph=True)[0]
    with pytest.raises(NotImplementedError, match="trigamma"):
        g.sum().backward()


# ---------------------------------------------------------------------------
# Kinks and limits as PyTorch.
# ---------------------------------------------------------------------------


def _t(name):
    return getattr(__import__("torch"), name)


KINKS = [
    ("x**0 at 0", lambda x: x ** 0.0, lambda x: x ** 0.0, [np.array([0.0, 2.0, -1.0])]),
    ("x**y, y=0 tensor", lambda x, y: x ** y, lambda x, y: x ** y,
     [np.array([0.0, 0.0, 2.0, 3.0]), np.array([0.0, 2.0, 0.0, 1.5])]),
    ("x**y negative base", lambda x, y: x ** y, lambda x, y: x ** y,
     [np.array([-2.0, -1.5, 0.0]), np.array([2.0, 3.0, 1.0])]),
    ("norm 2 of zeros", lambda x: mg.linalg.norm(x), lambda x: x.norm(), [np.zeros(3)]),
    ("norm 3 of zeros", lambda x: mg.linalg.norm(x, 3),
     lambda x: _t("linalg").vector_norm(x, 3), [np.zeros(3)]),
    ("norm 3 with a zero", lambda x: mg.linalg.norm(x, 3),
     lambda x: _t("linalg").vector_norm(x, 3), [np.array([1.0, 0.0, -2.0])]),
    ("norm 1 of zeros", lambda x: mg.linalg.norm(x, 1),
     lambda x: _t("linalg").vector_norm(x, 1), [np.zeros(3)]),
    ("norm inf of zeros", lambda x: mg.linalg.norm(x, np.inf),
     lambda x: _t("linalg").vector_norm(x, float("inf")), [np.zeros(3)]),
    ("norm 2 rows, one zero", lambda x: mg.linalg.norm(x, axis=1),
     lambda x: x.norm(dim=1), [np.array([[0.0, 0.0], [3.0, 4.0]])]),
    ("std no spread", lambda x: mg.std(x), lambda x: x.std(correction=0), [np.ones(4)]),
    ("std ddof=1 no spread", lambda x: mg.std(x, axis=1, ddof=1),
     lambda x: x.std(1, correction=1), [np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])]),
    ("relu at 0", mg.relu, lambda x: x.relu(), [np.array([-1.0, 0.0, 1.0])]),
    ("abs at 0", mg.abs, lambda x: x.abs(), [np.array([-1.0, 0.0, 1.0])]),
    ("sqrt at 0", mg.sqrt, lambda x: x.sqrt(), [np.array([0.0, 4.0])]),
    ("maximum ties", mg.maximum, lambda x, y: _t("maximum")(x, y),
     [np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 2.0])]),
    ("minimum ties", mg.minimum, lambda x, y: _t("minimum")(x, y),
     [np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 2.0])]),
    ("max ties", lambda x: mg.max(x, axis=1), lambda x: x.amax(1),
     [np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])]),
    ("min ties", lambda x: mg.min(x), lambda x: x.amin(), [np.array([[1.0, 3.0], [1.0, 2.0]])]),
    ("clip at the bounds", lambda x: mg.clip(x, -1.0, 1.0), lambda x: x.clamp(-1.0, 1.0),
     [np.array([-2.0, -1.0, 0.0, 1.0, 2.0])]),
    ("clip tensor bounds", lambda x, lo, hi: mg.clip(x, lo, hi),
     lambda x, lo, hi: x.clamp(lo, hi),
     [np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 0.5]), np.array([-1.0, -1.0, -1.0, -1.0, -1.0, 1.0]),
      np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0])]),
    ("clip tensor lo only", lambda x, lo: mg.clip(x, lo),
     lambda x, lo: x.clamp(min=lo), [np.array([-2.0, 0.0, 2.0]), np.array([0.0, 0.0, 0.0])]),
    ("clip tensor hi only", lambda x, hi: mg.clip(x, None, hi),
     lambda x, hi: x.clamp(max=hi), [np.array([-2.0, 0.0, 2.0]), np.array([0.0, 1.0, 1.0])]),
    ("clip broadcast bound", lambda x, lo: mg.clip(x, lo, 1.5),
     lambda x, lo: x.clamp(lo, _t("tensor")(1.5, dtype=_t("float64"))),
     [np.array([[-2.0, 0.0, 2.0], [0.5, 1.0, -1.0]]), np.array([0.0])]),
    ("where", lambda x, y: mg.where(x > 0, x, y), lambda x, y: _t("where")(x > 0, x, y),
     [np.array([-1.0, 0.0, 1.0]), np.array([5.0, 6.0, 7.0])]),
    ("sigmoid far out", mg.sigmoid, lambda x: x.sigmoid(), [np.array([-800.0, 0.0, 800.0])]),
    ("log_softmax far out", lambda x: mg.log_softmax(x), lambda x: x.log_softmax(-1),
     [np.array([-1e4, 0.0, 1e4])]),
]


@pytest.mark.parametrize(("name", "f_mg", "f_torch", "arrays"), KINKS,
                         ids=[c[0] for c in KINKS])
def test_kinks_and_limits_as_pytorch(name, f_mg, f_torch, arrays):
    _torch()
    with np.errstate(invalid="ignore", divide="ignore"):  # the NaN of a negative base's log
        assert_same_as_torch(f_mg, f_torch, *arrays)


def test_power_at_zero_zero_has_finite_second_derivative():
    x = mg.tensor([0.0, 1.5], requires_grad=True)
    y = mg.tensor([0.0, 0.0], requires_grad=True)
    gx, gy = mg.autograd.grad((x ** y).sum(), [x, y], create_graph=True)
    assert np.all(gx.data == 0) and np.isfinite(gy.data).all()
    second = mg.autograd.grad(gx.sum(), [x, y], allow_unused=True)
    assert all(g is None or np.isfinite(g.data).all() for g in second)
    # away from x = 0, d/dy (y x^(y-1)) = x^(y-1) (1 + y log x) at y = 0 is 1/x
    assert second[1].data[1] == pytest.approx(1 / 1.5)


# ---------------------------------------------------------------------------
# concatenate(axis=None) and save with keys like np.savez's arguments.
# ---------------------------------------------------------------------------


def test_concatenate_axis_none_flattens_and_backpropagates():
    assert_same_as_torch(lambda a, b: mg.concatenate([a, b], axis=None),
                         lambda a, b: _t("cat")([a.reshape(-1), b.reshape(-1)]),
                         np.arange(6.0).reshape(2, 3), np.array([7.0, 8.0]))
    a = mg.tensor([[1.0, 2.0]], requires_grad=True)
    assert mg.gradcheck(lambda t: mg.concatenate([t, t * 2, t[0]], axis=None) ** 2, [a])


@pytest.mark.parametrize("key", ["file", "allow_pickle", "args", "kwds", "arr_0"])
def test_save_keys_named_like_savez_arguments(tmp_path, key):
    state = {key: np.arange(3.0), "weight": mg.tensor([[1.0, 2.0]])}
    path = tmp_path / "model.npz"
    mg.save(state, path)
    loaded = mg.load(path)
    assert sorted(loaded) == sorted(state)
    np.testing.assert_array_equal(loaded[key], np.arange(3.0))
    np.testing.assert_array_equal(loaded["weight"], [[1.0, 2.0]])


def test_save_adds_the_npz_suffix_and_numpy_reads_it(tmp_path):
    mg.save({"file": np.ones(2)}, str(tmp_path / "state"))
    with np.load(tmp_path / "state.npz", allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["file"], np.ones(2))


# ---------------------------------------------------------------------------
# Stable functions stay stable in backward under np.errstate(all="raise").
# ---------------------------------------------------------------------------

STABLE = {
    "softmax": lambda x: mg.softmax(x) * mg.tensor([1.0, 2.0, 3.0, 4.0]),
    "log_softmax": lambda x: mg.log_softmax(x) * mg.tensor([1.0, 2.0, 3.0, 4.0]),
    "logsumexp": lambda x: mg.logsumexp(x),
    "sigmoid": lambda x: mg.sigmoid(x),
    "bce_with_logits": lambda x: mg.losses.binary_cross_entropy_with_logits(
        x, mg.tensor([0.0, 1.0, 0.5, 1.0])),
    "cross_entropy_index": lambda x: mg.losses.cross_entropy(x.reshape(1, -1), [1]),
    "cross_entropy_probs": lambda x: mg.losses.cross_entropy(
        x.reshape(1, -1), mg.tensor([[0.1, 0.2, 0.3, 0.4]])),
    "tanh": lambda x: mg.tanh(x),
}


@pytest.mark.parametrize("scale", [1e4, 1e3, 745.0, 50.0])
@pytest.mark.parametrize("name", sorted(STABLE))
def test_stable_functions_do_not_raise_under_errstate(name, scale):
    x = mg.tensor([scale, -scale, 0.5, -0.25 * scale], requires_grad=True)
    with np.errstate(all="raise"):
        out = STABLE[name](x).sum()
        (g,) = mg.autograd.grad(out, x, create_graph=True)
        (gg,) = mg.autograd.grad(g.sum(), x, allow_unused=True)
    assert np.isfinite(out.data) and np.isfinite(g.data).all()
    assert gg is None or np.isfinite(gg.data).all()


def test_log_softmax_backward_at_1e4_against_pytorch():
    with np.errstate(all="raise"):
        assert_same_as_torch(lambda x: mg.log_softmax(x, axis=1),
                             lambda x: x.log_softmax(1), np.array([[1e4, -1e4, 0.0]]))


# ---------------------------------------------------------------------------
# dim= / keepdim=: PyTorch's names, decided once for the whole API.
# ---------------------------------------------------------------------------

DIMS = [
    ("sum", lambda x, **k: mg.sum(x, **k)), ("mean", lambda x, **k: mg.mean(x, **k)),
    ("var", lambda x, **k: mg.var(x, **k)), ("std", lambda x, **k: mg.std(x, **k)),
    ("max", lambda x, **k: mg.max(x, **k)), ("min", lambda x, **k: mg.min(x, **k)),
    ("prod", lambda x, **k: mg.prod(x, **k)), ("logsumexp", lambda x, **k: mg.logsumexp(x, **k)),
    ("median", lambda x, **k: mg.median(x, **k)),
    ("norm", lambda x, **k: mg.linalg.norm(x, **k)),
    ("Tensor.sum", lambda x, **k: x.sum(**k)), ("Tensor.mean", lambda x, **k: x.mean(**k)),
    ("Tensor.var", lambda x, **k: x.var(**k)), ("Tensor.std", lambda x, **k: x.std(**k)),
    ("Tensor.max", lambda x, **k: x.max(**k)), ("Tensor.min", lambda x, **k: x.min(**k)),
    ("Tensor.prod", lambda x, **k: x.prod(**k)),
    ("Tensor.logsumexp", lambda x, **k: x.logsumexp(**k)),
]


@pytest.mark.parametrize(("name", "f"), DIMS, ids=[d[0] for d in DIMS])
def test_dim_and_keepdim_are_axis_and_keepdims(name, f):
    x = mg.tensor(X3)
    for axis in (1, -1, (0, 2)):
        if name.endswith("norm") and isinstance(axis, tuple):
            continue
        expected = f(x, axis=axis, keepdims=True)
        got = f(x, dim=axis, keepdim=True)
        np.testing.assert_array_equal(got.data, expected.data)
        assert got.shape == expected.shape
    with pytest.raises(TypeError, match=f"{name.split('.')[-1]}: got axis=1 and dim=2"):
        f(x, axis=1, dim=2)
    with pytest.raises(TypeError, match="keepdim is PyTorch's name"):
        f(x, keepdims=True, keepdim=True)


SINGLE_DIMS = [
    ("softmax", mg.softmax), ("log_softmax", mg.log_softmax), ("cumsum", mg.cumsum),
    ("argmax", mg.argmax), ("argmin", mg.argmin), ("expand_dims", mg.expand_dims),
    ("Tensor.argmax", lambda x, **k: x.argmax(**k)),
    ("Tensor.cumsum", lambda x, **k: x.cumsum(**k)),
    ("Tensor.all", lambda x, **k: (x > 0).all(**k)),
    ("Tensor.any", lambda x, **k: (x > 0).any(**k)),
    ("concatenate", lambda x, **k: mg.concatenate([x, x], **k)),
    ("stack", lambda x, **k: mg.stack([x, x], **k)),
    ("repeat", lambda x, **k: mg.repeat(x, 2, **k)),
    ("Tensor.repeat", lambda x, **k: x.repeat(2, **k)),
    ("split", lambda x, **k: mg.split(x, [1], **k)[1]),
]


@pytest.mark.parametrize(("name", "f"), SINGLE_DIMS, ids=[d[0] for d in SINGLE_DIMS])
def test_dim_alias_for_single_axis_ops(name, f):
    x = mg.tensor(X3)
    for axis in (0, 1, -1):
        expected, got = f(x, axis=axis), f(x, dim=axis)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))
    with pytest.raises(TypeError, match="dim is PyTorch's name"):
        f(x, axis=1, dim=2)


def test_squeeze_dim():
    x = mg.tensor(np.ones((2, 1, 3)))
    assert mg.squeeze(x, dim=1).shape == (2, 3) and x.squeeze(dim=-2).shape == (2, 3)


def test_dim_matches_pytorch():
    torch = _torch()
    t = torch.tensor(X3)
    np.testing.assert_allclose(mg.tensor(X3).sum(dim=1, keepdim=True).data,
                               t.sum(dim=1, keepdim=True).numpy())
    np.testing.assert_allclose(mg.softmax(mg.tensor(X3), dim=0).data, t.softmax(dim=0).numpy())
    np.testing.assert_allclose(mg.tensor(X3).std(dim=-1).data,
                               t.std(dim=-1, correction=0).numpy())


# ---------------------------------------------------------------------------
# Backward rules compute their masks from Tensors with ops (so mg.compile traces
# them): no data-dependent array is kept on the node between forward and backward.
# ---------------------------------------------------------------------------

MASKED = {
    "relu": (lambda x, y: mg.relu(x), "greater"),
    "abs": (lambda x, y: mg.abs(x), "sign"),
    "maximum": (lambda x, y: mg.maximum(x, y), "equal"),
    "minimum": (lambda x, y: mg.minimum(x, y), "less"),
    "max": (lambda x, y: mg.max(x, axis=1), "equal"),
    "min": (lambda x, y: mg.min(x), "equal"),
    "where": (lambda x, y: mg.where(x > y, x, y), "where"),
    "clip": (lambda x, y: mg.clip(x, -0.5, y), "greater_equal"),
    "median": (lambda x, y: mg.median(x, axis=0), "argsort"),
    "prod": (lambda x, y: mg.prod(x, axis=1), "equal"),
    "std": (lambda x, y: mg.std(x), "equal"),
    "norm": (lambda x, y: mg.linalg.norm(x), "equal"),
    "norm_p3": (lambda x, y: mg.linalg.norm(x, 3, axis=1), "equal"),
    "entropy": (lambda x, y: mg.losses.entropy(mg.softmax(x)), "not_equal"),
}


@pytest.mark.parametrize("name", sorted(MASKED))
def test_backward_masks_are_ops_not_arrays_on_self(name, monkeypatch):
    from minigrad import engine

    f, mask_op = MASKED[name]
    rng = np.random.default_rng(5)
    a = rng.normal(size=(3, 4))
    a[0, :2] = 0.0  # zeros and ties: the masks matter
    x, y = mg.tensor(a, requires_grad=True), mg.tensor(np.roll(a, 1), requires_grad=True)
    out = f(x, y)
    node = out._ctx
    kept = {k: v for k, v in vars(node).items()
            if hasattr(v, "shape") and not isinstance(v, mg.Tensor) and np.size(v) > 1}
    assert not kept, f"{name} keeps arrays on its node: {sorted(kept)}"
    seen = []
    monkeypatch.setattr(engine, "tracer", lambda fn, tensors, o, params: seen.append(fn.op))
    out.sum().backward()
    assert mask_op in seen, f"{name}'s backward did not run the op {mask_op!r}: {seen}"


# ---------------------------------------------------------------------------
# Probe round: no data-dependent choice read from .data in a differentiable function,
# so mg.compile (which bakes in whatever is not an op) agrees with eager on every call.
# ---------------------------------------------------------------------------

_D = mg.distributions
DATA_DEPENDENT = {  # f, first call's arguments, second call's (other signs / other branch)
    "huber": (lambda p, t: mg.losses.huber(p, t, reduction="none"),
              ([0.1, 3.0, -2.0], [0.0, 0.0, 0.0]), ([3.0, 0.1, 0.5], [0.0, 0.0, 0.0])),
    "det_regular_then_singular": (lambda a: mg.linalg.det(a),
                                  ([[1.0, 2.0], [3.0, 4.0]],), ([[1.0, 2.0], [2.0, 4.0]],)),
    "det_singular_then_regular": (lambda a: mg.linalg.det(a),
                                  ([[1.0, 2.0], [2.0, 4.0]],), ([[1.0, 2.0], [3.0, 4.0]],)),
    "slogdet_sign": (lambda a: mg.linalg.slogdet(a)[0] * a.sum(),
                     ([[1.0, 2.0], [3.0, 4.0]],), ([[2.0, 1.0], [3.0, 4.0]],)),
    "eigh_values": (lambda a: mg.linalg.eigh(a).eigenvalues * mg.tensor([1.0, 2.0]),
                    ([[2.0, 1.0], [1.0, 3.0]],), ([[5.0, 1.0], [1.0, -3.0]],)),
    "eigh_vectors": (lambda a: mg.linalg.eigh(a).eigenvectors * mg.tensor([[1.0, 2.0],
                                                                           [3.0, 4.0]]),
                     ([[2.0, 1.0], [1.0, 3.0]],), ([[5.0, 1.0], [1.0, -3.0]],)),
    "eig_values": (lambda a: mg.linalg.eig(a).eigenvalues * mg.tensor([1.0, 2.0]),
                   ([[2.0, 1.0], [0.5, 3.0]],), ([[5.0, 1.0], [0.5, -3.0]],)),
    "eig_vectors": (lambda a: mg.linalg.eig(a).eigenvectors * mg.tensor([[1.0, 2.0],
                                                                         [3.0, 4.0]]),
                    ([[2.0, 1.0], [0.5, 3.0]],), ([[5.0, 1.0], [0.5, -3.0]],)),
    "bernoulli_log_prob": (lambda p, v: _D.Bernoulli(p).log_prob(v),
                           ([0.3, 0.6], [0.0, 1.0]), ([0.3, 0.6], [1.0, 0.0])),
    "binomial_log_prob": (lambda p, v: _D.Binomial(5, p).log_prob(v),
                          ([0.3, 0.6], [0.0, 1.0]), ([0.3, 0.6], [3.0, 2.0])),
    "poisson_log_prob": (lambda r, v: _D.Poisson(r).log_prob(v),
                         ([0.3, 2.0], [0.0, 1.0]), ([0.3, 2.0], [3.0, 2.0])),
    "where_float_condition": (lambda x, m: mg.where(m.detach(), x, -x),
                              ([1.0, 2.0], [1.0, 0.0]), ([1.0, 2.0], [0.0, 1.0])),
    "poisson_entropy_mask": (lambda r: _D.Poisson(r.detach()).entropy() + 0 * r,  # (rate 0's
                             ([0.0, 2.0],), ([2.0, 0.0],)),  # gradient is -inf: values only)
}


def _eager_and_compiled(f, compiled, arrays):
    results = []
    for fn in (f, compiled):
        xs = [mg.tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
        out = fn(*xs)
        out.sum().backward()
        results.append((out.data, [x.grad.data if x.grad is not None else None for x in xs]))
    return results


@pytest.mark.parametrize("name", sorted(DATA_DEPENDENT))
def test_compiled_twice_with_other_signs_matches_eager(name):
    f, first, second = DATA_DEPENDENT[name]
    compiled = mg.compile(f)
    for arrays in (first, second):  # the second call runs the code traced on the first
        (out, grads), (c_out, c_grads) = _eager_and_compiled(f, compiled, arrays)
        np.testing.assert_allclose(c_out, out, rtol=1e-12, atol=1e-12, equal_nan=True)
        for g, cg in zip(grads, c_grads, strict=True):
            assert (g is None) == (cg is None)
            if g is not None:
                np.testing.assert_allclose(cg, g, rtol=1e-10, atol=1e-12, equal_nan=True)


def test_huber_mask_is_an_op():
    d = mg.tensor([0.5, -3.0], requires_grad=True)
    seen = []
    from minigrad import engine
    old, engine.tracer = engine.tracer, lambda fn, tensors, o, params: seen.append(fn.op)
    try:
        mg.losses.huber(d, mg.tensor([0.0, 0.0]))
    finally:
        engine.tracer = old
    assert "less_equal" in seen


# ---------------------------------------------------------------------------
# p-norms at zero entries (probe items 8 and 16): as torch.linalg.vector_norm.
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("ord", [0.5, 0.25, -1.0, -0.5, 1, 1.5, 2, 3, np.inf, -np.inf])
@pytest.mark.parametrize("values", [[0.0, 2.0, -3.0], [0.0, 0.0, 0.0], [[0.0, 1.0], [-2.0, 0.0]]])
def test_vector_norm_at_zeros_against_pytorch(ord, values):
    torch = _torch()
    a = np.array(values)
    x = mg.tensor(a, requires_grad=True)
    with np.errstate(all="raise"):
        out = mg.linalg.norm(x, ord=ord, axis=-1)
        (out * mg.tensor(np.arange(1.0, out.size + 1).reshape(out.shape))).sum().backward()
    t = torch.tensor(a, requires_grad=True)
    t_out = torch.linalg.vector_norm(t, ord=ord, dim=-1)
    (t_out * torch.arange(1.0, t_out.numel() + 1, dtype=torch.float64).reshape(t_out.shape)
     ).sum().backward()
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_norm_p_below_one_gradient_elsewhere_matches_finite_differences():
    x = mg.tensor([0.0, 1.5, -2.0, 0.7], requires_grad=True)
    mg.linalg.norm(x, ord=0.5).backward()
    h, base = 1e-6, np.array([0.0, 1.5, -2.0, 0.7])
    for i in (1, 2, 3):  # away from the kink at 0
        e = np.eye(4)[i] * h
        fd = (np.sum(np.abs(base + e) ** 0.5) ** 2 - np.sum(np.abs(base - e) ** 0.5) ** 2) / (2 * h)
        np.testing.assert_allclose(x.grad.data[i], fd, rtol=1e-6)
    assert x.grad.data[0] == 0.0


def test_norm_ord_zero_is_an_op_without_gradient_as_pytorch():
    torch = _torch()
    a = np.array([[0.0, 2.0, -3.0], [0.0, 0.0, 1.0]])
    x = mg.tensor(a, requires_grad=True)
    n = mg.linalg.norm(x, ord=0, axis=1)
    assert n.requires_grad and n.op == "countnonzero"
    (n.sum() + x.sum()).backward()  # runs; the count adds nothing
    t = torch.tensor(a, requires_grad=True)
    t_n = torch.linalg.vector_norm(t, ord=0, dim=1)
    (t_n.sum() + t.sum()).backward()
    np.testing.assert_array_equal(n.data, t_n.detach().numpy())
    np.testing.assert_array_equal(x.grad.data, t.grad.numpy())
    y = mg.tensor(a, requires_grad=True)
    mg.linalg.norm(y, ord=0, axis=1).sum().backward()
    assert y.grad is None  # as torch: backward runs, no gradient arrives
    t2 = torch.tensor(a, requires_grad=True)
    torch.linalg.vector_norm(t2, ord=0, dim=1).sum().backward()
    assert t2.grad is None


# ---------------------------------------------------------------------------
# Elementwise ops at |x| = 1e4 under np.errstate(all="raise"): underflow to 0 is the
# right answer and never raises (probe item 11). Overflow (exp(1e4)) and a log or sqrt
# of a negative number are real errors and are left to raise.
# ---------------------------------------------------------------------------

ELEMENTWISE_AT_1E4 = {  # op: the points in {-1e4, 1e4, +-30} where its value is finite
    "exp": (mg.exp, [-1e4, -30.0, 30.0]),
    "log": (mg.log, [1e4, 30.0]),
    "sqrt": (mg.sqrt, [1e4, 30.0]),
    "sin": (mg.sin, [-1e4, 1e4]),
    "cos": (mg.cos, [-1e4, 1e4]),
    "tanh": (mg.tanh, [-1e4, 1e4]),
    "sigmoid": (mg.sigmoid, [-1e4, 1e4]),
    "relu": (mg.relu, [-1e4, 1e4]),
    "log1p": (mg.log1p, [1e4, 30.0]),
    "expm1": (mg.expm1, [-1e4, -30.0]),
    "erf": (mg.erf, [-1e4, 1e4, -30.0, 30.0, -40.0]),
    "maximum": (lambda x: mg.maximum(x, 0.5 * x), [-1e4, 1e4]),
    "minimum": (lambda x: mg.minimum(x, 0.5 * x), [-1e4, 1e4]),
    "where": (lambda x: mg.where(x > 0, x, -x), [-1e4, 1e4]),
    "clip": (lambda x: mg.clip(x, -1.0, 1.0), [-1e4, 1e4]),
    "astype": (lambda x: x.astype(np.float32), [-1e4, 1e4]),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE_AT_1E4))
def test_elementwise_at_1e4_first_and_second_order_under_errstate(name):
    f, points = ELEMENTWISE_AT_1E4[name]
    x = mg.tensor(points, requires_grad=True)
    with np.errstate(all="raise"):
        out = f(x)
        (g,) = mg.autograd.grad(out.sum(), x, create_graph=True)
        (gg,) = mg.autograd.grad(g.sum(), x, allow_unused=True) if g.requires_grad else (None,)
    assert np.isfinite(out.data).all() and np.isfinite(g.data).all()
    assert gg is None or np.isfinite(gg.data).all()


def test_erf_gradient_underflows_to_zero_as_pytorch():
    torch = _torch()
    with np.errstate(all="raise"):
        assert_same_as_torch(mg.erf, torch.erf, np.array([-1e4, -40.0, -30.0, 0.5, 30.0, 1e4]))
        assert_same_as_torch(mg.exp, torch.exp, np.array([-1e4, -800.0, 0.5]))


# ---------------------------------------------------------------------------
# Argument errors name the op (probe item 13) and PyTorch's keywords work (item 14).
# ---------------------------------------------------------------------------

def test_repeat_with_wrong_number_of_counts_names_repeat_and_lengths():
    x = mg.tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match=r"repeat: got 2 repeat counts for axis 1 of length 3"):
        mg.repeat(x, [1, 2], axis=1)
    with pytest.raises(ValueError, match=r"repeat: got 4 repeat counts for the flattened"):
        mg.repeat(x, [1, 2, 3, 4])
    with pytest.raises(TypeError, match=r"repeat: repeats must be an int"):
        mg.repeat(x, 1.5, axis=0)
    with pytest.raises(ValueError, match=r"repeat: repeat counts must be >= 0"):
        mg.repeat(x, [1, -1], axis=0)
    np.testing.assert_array_equal(mg.repeat(x, [1, 0, 2], axis=1).data,
                                  np.repeat(x.data, [1, 0, 2], axis=1))
    np.testing.assert_array_equal(mg.repeat(x, [3], axis=0).data, np.repeat(x.data, [3], 0))


@pytest.mark.parametrize("bad", [2.5, [1.0], [[1]], "1"])
def test_split_with_bad_sections_names_split_and_what_is_accepted(bad):
    x = mg.tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(TypeError, match=r"split: indices_or_sections must be an int .* or a "
                                        r"1-D sequence of ints"):
        mg.split(x, bad, axis=1)
    assert [p.shape for p in mg.split(x, np.array([1]), axis=1)] == [(2, 1), (2, 2)]
    assert [p.shape for p in mg.split(x, [], axis=1)] == [(2, 3)]


@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_argmin_keepdims_and_keepdim(op):
    torch = _torch()
    a = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    x = mg.tensor(a)
    f, ref = getattr(mg, op), getattr(np, op)
    np.testing.assert_array_equal(f(x, 1, keepdims=True), ref(a, 1, keepdims=True))
    np.testing.assert_array_equal(getattr(x, op)(axis=0, keepdims=True), ref(a, 0, keepdims=True))
    np.testing.assert_array_equal(f(x, keepdims=True), ref(a, keepdims=True))
    t = getattr(torch, op)(torch.tensor(a), dim=1, keepdim=True).numpy()
    np.testing.assert_array_equal(f(x, dim=1, keepdim=True), t)
    np.testing.assert_array_equal(getattr(x, op)(dim=1, keepdim=True), t)
    with pytest.raises(TypeError, match=op):
        f(x, 1, keepdims=True, keepdim=True)


def test_take_along_axis_dim_is_pytorch_take_along_dim():
    torch = _torch()
    a = np.array([[10.0, 30.0, 20.0], [60.0, 40.0, 50.0]])
    idx = np.array([[2, 0], [1, 1]])
    out = mg.take_along_axis(mg.tensor(a), idx, dim=1)
    t = torch.take_along_dim(torch.tensor(a), torch.tensor(idx), dim=1)
    np.testing.assert_array_equal(out.data, t.numpy())


# ---------------------------------------------------------------------------
# diag(v, k) and trace(offset=), as NumPy (probe item 17).
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("k", [-4, -2, -1, 0, 1, 2, 5])
def test_diag_and_trace_offsets_match_numpy_and_gradcheck(k):
    rng = np.random.default_rng(3)
    a, v, s = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=(3, 4, 2))
    np.testing.assert_array_equal(mg.diag(a, k).data, np.diag(a, k))
    np.testing.assert_array_equal(mg.diag(v, k).data, np.diag(v, k))
    np.testing.assert_allclose(mg.trace(a, k).data, np.trace(a, k))
    np.testing.assert_allclose(mg.tensor(s).trace(offset=k).data, np.trace(s, k))
    for f, x in [(lambda x: mg.diag(x, k), a), (lambda x: mg.diag(x, k), v),
                 (lambda x: mg.trace(x, k), s)]:
        assert mg.gradcheck(f, [mg.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("k", [-2, -1, 1, 3])
def test_diag_offsets_against_pytorch(k):
    torch = _torch()
    rng = np.random.default_rng(4)
    assert_same_as_torch(lambda x: mg.diag(x, k), lambda x: torch.diag(x, k), rng.normal(size=3))
    assert_same_as_torch(lambda x: mg.diag(x, k), lambda x: torch.diag(x, k),
                         rng.normal(size=(3, 4)))
    assert_same_as_torch(lambda x: mg.trace(x, k), lambda x: torch.diagonal(x, k).sum(),
                         rng.normal(size=(4, 3)))


def test_diag_offset_must_be_an_int():
    with pytest.raises(TypeError, match="diag: the diagonal offset must be an int"):
        mg.diag(mg.tensor([1.0, 2.0]), 1.5)
    with pytest.raises(TypeError, match="trace: the diagonal offset must be an int"):
        mg.trace(mg.tensor(np.eye(2)), 0.5)
