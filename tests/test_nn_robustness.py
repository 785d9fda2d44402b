"""mg.nn under mg.compile, detect_anomaly, np.errstate(all="raise"), fully masked
attention rows and bad input (the outside probe's findings 1, 7, 9, 11-14, 17)."""

import warnings

import numpy as np
import pytest

import minigrad as mg

F = mg.nn.functional


def _grad(f, x):
    x = mg.tensor(x, requires_grad=True)
    out = f(x)
    out.sum().backward()
    return out.data, x.grad.data


# -- 1: masks are ops, so compiled code recomputes them -------------------------------------

@pytest.mark.parametrize("f", [lambda x: F.leaky_relu(x, 0.1), F.elu,
                               lambda x: F.softplus(x, threshold=0.5)],
                         ids=["leaky_relu", "elu", "softplus"])
def test_compiled_activation_mask_follows_the_input(f):
    compiled = mg.compile(f)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no baked boolean array either
        compiled(mg.tensor([1.0, -1.0]))
        for x in ([-1.0, 1.0], [2.0, -3.0], [-0.5, -0.25]):
            assert np.allclose(compiled(mg.tensor(x)).data, f(mg.tensor(x)).data)
            assert np.allclose(_grad(compiled, x)[1], _grad(f, x)[1])


def test_compiled_causal_attention_bakes_no_mask():
    f = mg.compile(lambda x: F.scaled_dot_product_attention(x, x, x, is_causal=True))
    x = mg.randn((2, 4, 3), rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.allclose(f(x).data,
                           F.scaled_dot_product_attention(x, x, x, is_causal=True).data)


# -- 7: a fully masked query row gives 0, values and gradients -----------------------------

def _sdpa_pair(mask_np):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), \
        rng.standard_normal((2, 5, 2))
    g = rng.standard_normal((2, 3, 2))
    mq, mk, mv = (mg.tensor(a, requires_grad=True) for a in (q, k, v))
    out = F.scaled_dot_product_attention(mq, mk, mv, attn_mask=mask_np)
    out.backward(g)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    tout = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv,
                                                            attn_mask=torch.tensor(mask_np))
    tout.backward(torch.tensor(g))
    for m, t in ((out, tout), (mq.grad, tq.grad), (mk.grad, tk.grad), (mv.grad, tv.grad)):
        assert np.isfinite(m.data).all()
        np.testing.assert_allclose(m.data, t.detach().numpy(), atol=1e-12)
    return out


def test_sdpa_fully_masked_row_is_zero_like_torch_bool():
    mask = np.array([[True, False, True, True, False], [False] * 5, [True] * 5])
    out = _sdpa_pair(mask)
    assert np.all(out.data[:, 1] == 0)


def test_sdpa_fully_masked_row_is_zero_like_torch_float():
    mask = np.zeros((3, 5))
    mask[1] = -np.inf
    mask[0, 2] = -np.inf
    _sdpa_pair(mask)


def test_mha_fully_masked_row_matches_torch_sdpa_path():
    torch = pytest.importorskip("torch")
    mha = mg.nn.MultiheadAttention(4, 2, batch_first=True, rng=0, dtype=np.float64)
    tm = torch.nn.MultiheadAttention(4, 2, batch_first=True).double()
    with torch.no_grad():
        tm.in_proj_weight.copy_(torch.tensor(mha.in_proj_weight.data))
        tm.in_proj_bias.copy_(torch.tensor(np.arange(12.0) / 10))
        tm.out_proj.weight.copy_(torch.tensor(mha.out_proj.weight.data))
        tm.out_proj.bias.copy_(torch.tensor(np.arange(4.0) / 7))
    mha.in_proj_bias.data[...] = np.arange(12.0) / 10
    mha.out_proj.bias.data[...] = np.arange(4.0) / 7
    x = np.random.default_rng(1).standard_normal((2, 3, 4))
    blocked = np.array([[False, True, False], [True, True, True], [False, False, True]])
    mx, tx = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, _ = mha(mx, mx, mx, attn_mask=blocked, need_weights=False)
    tout, _ = tm(tx, tx, tx, attn_mask=torch.tensor(blocked), need_weights=False)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(out.data, tout.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(mx.grad.data, tx.grad.numpy(), atol=1e-12)


# -- 9: bad input raises -------------------------------------------------------------------

def test_bad_nn_input_raises():
    with pytest.raises(IndexError, match="negative"):
        mg.nn.Embedding(5, 3, rng=0)(np.array([-1]))
    with pytest.raises(ValueError, match="2-D"):
        F.embedding(np.array([0]), mg.ones(3))
    with pytest.raises(IndexError, match="end_dim=5"):
        mg.nn.Flatten(1, 5)(mg.ones((2, 3, 4)))
    q = mg.ones((1, 2, 2))
    with pytest.raises(TypeError, match="bool or floating"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((2, 2), dtype=np.int64))
    with pytest.raises(TypeError, match="bool or floating"):
        mg.nn.MultiheadAttention(2, 1, batch_first=True, rng=0)(
            q, q, q, attn_mask=np.ones((2, 2), dtype=np.int64))


def test_norm_weight_shape_errors_name_the_function():
    with pytest.raises(ValueError, match=r"layer_norm: weight .*\(3,\), got \(4,\)"):
        F.layer_norm(mg.ones((2, 3)), (3,), mg.ones(4))
    with pytest.raises(ValueError, match=r"layer_norm: bias"):
        F.layer_norm(mg.ones((2, 3)), (3,), None, mg.ones((1, 3)))
    for kw in ("weight", "bias", "running_mean", "running_var"):
        args = {"running_mean": None, "running_var": None, kw: mg.ones(4)}
        with pytest.raises(ValueError, match=f"batch_norm: {kw}"):
            F.batch_norm(mg.ones((2, 3)), training=True, **args)


def test_same_padding_with_stride_rejected_at_construction():
    with pytest.raises(ValueError, match="padding='same' needs stride=1"):
        mg.nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding='same' needs stride=1"):
        mg.nn.Conv1d(1, 1, 3, stride=2, padding="same")


# -- 11: no FloatingPointError from underflow that is the right answer ------------------------

ACTIVATIONS = {
    "relu": F.relu, "leaky_relu": F.leaky_relu, "elu": F.elu, "silu": F.silu,
    "gelu": F.gelu, "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "softplus": F.softplus, "softplus_beta": lambda x: F.softplus(x, beta=2.0),
    "log_sigmoid": F.log_sigmoid, "softmax": lambda x: F.softmax(x, dim=-1),
    "log_softmax": lambda x: F.log_softmax(x, dim=-1),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("size", [30.0, 1e3, 1e4])
def test_activations_under_errstate_raise(name, size):
    f = ACTIVATIONS[name]
    x = mg.tensor([-size, -1.0, 0.0, 1.0, size], requires_grad=True)
    with np.errstate(all="raise"):
        out = f(x)
        (g,) = mg.autograd.grad(out.sum(), [x], create_graph=True)
        if g.requires_grad:  # piecewise-linear ones have no second-order graph
            (g * mg.tensor([1.0, 2.0, 3.0, 4.0, 5.0])).sum().backward()
    assert np.isfinite(out.data).all() and np.isfinite(g.data).all()
    if x.grad is not None:
        assert np.isfinite(x.grad.data).all()


def test_log_sigmoid_softplus_gelu_tails_match_torch():
    torch = pytest.importorskip("torch")
    x = np.array([-1e4, -40.0, -30.0, 30.0, 40.0, 1e4])
    for f, tf in ((F.log_sigmoid, torch.nn.functional.logsigmoid),
                  (F.softplus, torch.nn.functional.softplus),
                  (F.gelu, torch.nn.functional.gelu)):
        with np.errstate(all="raise"):
            out, grad = _grad(f, x)
        t = torch.tensor(x, requires_grad=True)
        tf(t).sum().backward()
        np.testing.assert_allclose(out, tf(t).detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-12, atol=1e-300)


# -- 12: detect_anomaly passes through minigrad's own masking --------------------------------

def test_detect_anomaly_clean_on_masked_models():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal((2, 3, 5, 5))
    q = np.random.default_rng(1).standard_normal((2, 4, 3))
    with mg.autograd.detect_anomaly():
        x = mg.tensor(a, requires_grad=True)
        y = F.max_pool2d(x, 3, stride=2, padding=1)
        y.sum().backward()
        mq = mg.tensor(q, requires_grad=True)
        att = F.scaled_dot_product_attention(mq, mq, mq, is_causal=True)
        att.sum().backward()
        mha = mg.nn.MultiheadAttention(3, 1, batch_first=True, rng=0, dtype=np.float64)
        mha(mq, mq, mq, is_causal=True)[0].sum().backward()
    xt = torch.tensor(a, requires_grad=True)
    yt = torch.nn.functional.max_pool2d(xt, 3, 2, 1)
    yt.sum().backward()
    np.testing.assert_array_equal(y.data, yt.detach().numpy())
    np.testing.assert_array_equal(x.grad.data, xt.grad.numpy())
    qt = torch.tensor(q, requires_grad=True)
    att_t = torch.nn.functional.scaled_dot_product_attention(qt, qt, qt, is_causal=True)
    att_t.sum().backward()
    np.testing.assert_allclose(att.data, att_t.detach().numpy(), atol=1e-12)


def test_causal_sdpa_gradient_matches_torch():
    torch = pytest.importorskip("torch")
    q = np.random.default_rng(2).standard_normal((2, 4, 3))
    mq = mg.tensor(q, requires_grad=True)
    F.scaled_dot_product_attention(mq, mq, mq, is_causal=True).sum().backward()
    qt = torch.tensor(q, requires_grad=True)
    torch.nn.functional.scaled_dot_product_attention(qt, qt, qt, is_causal=True).sum().backward()
    np.testing.assert_allclose(mq.grad.data, qt.grad.numpy(), atol=1e-12)


# -- 14: log_softmax / softmax with dim= -----------------------------------------------------

def test_functional_log_softmax_dim_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal((2, 3, 4))
    for dim in (0, 1, -1):
        np.testing.assert_allclose(F.log_softmax(mg.tensor(x), dim=dim).data,
                                   torch.log_softmax(torch.tensor(x), dim=dim).numpy())
        np.testing.assert_allclose(F.softmax(mg.tensor(x), dim=dim).data,
                                   torch.softmax(torch.tensor(x), dim=dim).numpy())
