"""mg.nn.functional: finite differences (first and second order) for every function,
the same values and gradients as torch.nn.functional in float64, dropout by its
statistics, and clear errors for bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

RNG = np.random.default_rng(15)


def _t(shape, scale=1.0, offset=0.0):
    return mg.tensor(offset + scale * RNG.standard_normal(shape), requires_grad=True)


def _distinct(shape):
    """Values at least 0.1 apart: no ties inside a pooling window."""
    values = 0.1 * RNG.permutation(math.prod(shape)) + RNG.uniform(0, 0.01, math.prod(shape))
    return mg.tensor(values.reshape(shape), requires_grad=True)


# -- finite differences: first and second order ------------------------------------------

CONV2D_SETTINGS = [
    {},
    {"stride": 2, "padding": 1},
    {"stride": (1, 2), "padding": (2, 0), "dilation": (2, 1)},
    {"padding": "same"},
    {"groups": 2, "padding": 1},
]


@pytest.mark.parametrize("kwargs", CONV2D_SETTINGS)
def test_conv2d_gradients(kwargs):
    groups = kwargs.get("groups", 1)
    x, w, b = _t((2, 4, 5, 5)), _t((4, 4 // groups, 3, 2)), _t((4,))
    f = lambda x, w, b: F.conv2d(x, w, b, **kwargs)  # noqa: E731
    assert mg.gradcheck(f, [x, w, b])
    assert mg.gradgradcheck(f, [x, w, b])


@pytest.mark.parametrize("kwargs", [{}, {"stride": 2, "padding": 2, "dilation": 2},
                                    {"groups": 3}])
def test_conv1d_gradients(kwargs):
    groups = kwargs.get("groups", 1)
    x, w, b = _t((2, 3, 7)), _t((6, 3 // groups, 3)), _t((6,))
    f = lambda x, w, b: F.conv1d(x, w, b, **kwargs)  # noqa: E731
    assert mg.gradcheck(f, [x, w, b])
    assert mg.gradgradcheck(f, [x, w, b])


@pytest.mark.parametrize("kwargs", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1},
                                    {"kernel_size": 2, "stride": 1, "dilation": 2}])
def test_max_pool2d_gradients(kwargs):
    x = _distinct((2, 2, 5, 5))
    f = lambda x: F.max_pool2d(x, **kwargs)  # noqa: E731
    assert mg.gradcheck(f, [x])
    assert mg.gradgradcheck(f, [x])


@pytest.mark.parametrize("kwargs", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1},
                                    {"kernel_size": 3, "stride": 2, "padding": 1,
                                     "count_include_pad": False}])
def test_avg_pool2d_gradients(kwargs):
    x = _t((2, 2, 5, 5))
    f = lambda x: F.avg_pool2d(x, **kwargs)  # noqa: E731
    assert mg.gradcheck(f, [x])
    assert mg.gradgradcheck(f, [x])


def test_pool1d_gradients():
    x = _distinct((2, 3, 7))
    assert mg.gradgradcheck(lambda x: F.max_pool1d(x, 3, 2, 1), [x])
    assert mg.gradgradcheck(lambda x: F.avg_pool1d(x, 2), [x])


def test_unfold_and_fold_are_adjoint():
    """<unfold(x), y> == <x, fold(y)> for every x, y: fold is unfold's transpose."""
    x = RNG.standard_normal((2, 3, 6, 5))
    windows = F.unfold(mg.tensor(x), (3, 2), stride=(2, 1), dilation=(1, 2))
    y = RNG.standard_normal(windows.shape)
    back = F.fold(mg.tensor(y), x.shape, (3, 2), stride=(2, 1), dilation=(1, 2))
    assert np.isclose(np.sum(windows.data * y), np.sum(x * back.data), rtol=1e-12)
    g = mg.tensor(y, requires_grad=True)
    assert mg.gradgradcheck(lambda g: F.fold(g, x.shape, (3, 2), (2, 1), (1, 2)) ** 2, [g])


def test_unfold_windows_are_the_pixels_read():
    x = mg.arange(20.0).reshape(1, 1, 4, 5)
    windows = F.unfold(x, 2, stride=2)  # (N, C, kh, kw, OH, OW)
    assert windows.shape == (1, 1, 2, 2, 2, 2)
    assert windows.data[0, 0, :, :, 1, 0].tolist() == [[10.0, 11.0], [15.0, 16.0]]
    assert windows.data[0, 0, 0, 1].tolist() == [[1.0, 3.0], [11.0, 13.0]]  # offset (0, 1)


def test_batch_norm_gradients():
    x, w, b = _t((4, 3, 2)), _t((3,)), _t((3,))
    f = lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)  # noqa: E731
    assert mg.gradcheck(f, [x, w, b])
    assert mg.gradgradcheck(f, [x, w, b])
    mean, var = np.zeros(3), np.ones(3) * 2  # eval: an affine map of x
    assert mg.gradgradcheck(lambda x, w: F.batch_norm(x, mean, var, w), [x, w])


def test_layer_norm_gradients():
    x, w, b = _t((2, 3, 4)), _t((3, 4)), _t((3, 4))
    f = lambda x, w, b: F.layer_norm(x, (3, 4), w, b)  # noqa: E731
    assert mg.gradcheck(f, [x, w, b])
    assert mg.gradgradcheck(f, [x, w, b])


def test_embedding_gradients_accumulate_repeated_indices():
    w = _t((5, 3))
    idx = np.array([[0, 2, 2], [4, 0, 2]])
    assert mg.gradgradcheck(lambda w: F.embedding(idx, w) ** 2, [w])
    F.embedding(idx, w).sum().backward()
    assert w.grad.data[:, 0].tolist() == [2.0, 0.0, 3.0, 0.0, 1.0]


ACTIVATIONS = [
    ("gelu", F.gelu), ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh")),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2)), ("elu", lambda x: F.elu(x, 1.5)),
    ("silu", F.silu), ("softplus", lambda x: F.softplus(x, beta=2.0, threshold=3.0)),
    ("log_sigmoid", F.log_sigmoid),
]


@pytest.mark.parametrize(("name", "fn"), ACTIVATIONS)
def test_activation_gradients(name, fn):
    # away from the kinks at 0 (leaky_relu, elu) and at the softplus threshold (beta x = 3)
    values = RNG.uniform(0.2, 2.5, (3, 4)) * RNG.choice([-1.0, 1.0], (3, 4))
    values[np.abs(2 * values - 3.0) < 0.1] += 0.3
    x = mg.tensor(values, requires_grad=True)
    assert mg.gradcheck(fn, [x])
    assert mg.gradgradcheck(fn, [x])


@pytest.mark.parametrize("mask", ["none", "bool", "float", "causal"])
def test_attention_gradients(mask):
    q, k, v = _t((2, 3, 4)), _t((2, 3, 4)), _t((2, 3, 5))
    kwargs = {"none": {}, "causal": {"is_causal": True},
              "bool": {"attn_mask": np.array([[1, 0, 1], [1, 1, 0], [0, 0, 1]], bool)},
              "float": {"attn_mask": RNG.standard_normal((3, 3))}}[mask]
    f = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kwargs)  # noqa: E731
    assert mg.gradcheck(f, [q, k, v])
    assert mg.gradgradcheck(f, [q, k, v])


# -- values ---------------------------------------------------------------------------------


def test_erf_matches_math_erf():
    xs = np.concatenate([np.linspace(-7, 7, 14001), [0.0, -0.0, 1e-300, 2.5, -2.5, 30.0]])
    expected = np.array([math.erf(v) for v in xs])
    got = mg.erf(xs).data
    assert np.abs(got - expected).max() < 4e-15
    assert (np.abs(got - expected) / np.maximum(np.abs(expected), 1e-300)).max() < 4e-15
    assert mg.erf(np.float32(1.0)).dtype == np.float32


def test_gelu_gradient_at_and_near_zero():
    x = mg.tensor([0.0, 1e-200, -1e-300, 1e-8], requires_grad=True)
    F.gelu(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 0.5 + x.data * 2 / math.sqrt(2 * math.pi),
                               rtol=1e-15)


def test_causal_attention_ignores_the_future():
    q, k, v = (RNG.standard_normal((1, 4, 3)) for _ in range(3))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True).data
    v2 = v.copy()
    v2[0, 3] += 10.0  # change the last position: earlier outputs must not move
    out2 = F.scaled_dot_product_attention(q, k, v2, is_causal=True).data
    assert np.array_equal(out[0, :3], out2[0, :3]) and not np.allclose(out[0, 3], out2[0, 3])


def test_log_sigmoid_and_softplus_are_stable():
    x = mg.tensor([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    np.testing.assert_allclose(F.log_sigmoid(x).data,
                               [-1000.0, -30.0 - math.log1p(math.exp(-30.0)), -math.log(2),
                                -math.log1p(math.exp(-30.0)), 0.0], rtol=1e-15)
    assert np.all(np.isfinite(F.softplus(x).data)) and F.softplus(x).data[-1] == 1000.0
    assert np.all(np.isfinite(F.elu(x).data))


# -- dropout -----------------------------------------------------------------------------


def test_dropout_statistics():
    x = mg.ones((200, 500))
    for p in (0.1, 0.5, 0.8):
        out = F.dropout(x, p, training=True, rng=0).data
        kept = out != 0
        n = kept.size
        # the fraction kept is 1 - p within 5 standard deviations of a binomial
        assert abs(kept.mean() - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n)
        assert np.allclose(out[kept], 1 / (1 - p))  # survivors scaled: the mean stays 1
        assert abs(out.mean() - 1.0) < 5 * math.sqrt(p / (1 - p) / n)


def test_dropout_is_reproducible_under_a_seed():
    x = mg.tensor(RNG.standard_normal((50, 40)))
    a = F.dropout(x, 0.3, rng=123).data
    b = F.dropout(x, 0.3, rng=123).data
    c = F.dropout(x, 0.3, rng=124).data
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    gen1, gen2 = np.random.default_rng(7), np.random.default_rng(7)
    assert np.array_equal(F.dropout(x, 0.5, rng=gen1).data, F.dropout(x, 0.5, rng=gen2).data)


def test_dropout_under_compile_draws_a_fresh_mask_each_call():
    if not hasattr(mg, "compile"):
        pytest.skip("mg.compile has not landed")
    gen = np.random.default_rng(0)
    x = mg.tensor(np.ones((6, 7)), requires_grad=True)
    step = mg.compile(lambda x: (F.dropout(x, 0.5, rng=gen) * 3.0).sum())
    masks = []
    for _ in range(4):
        x.grad = None
        step(x).backward()
        masks.append(x.grad.data.copy())  # 3 * mask: the gradient uses the same draw
    assert all(set(np.unique(m)) <= {0.0, 6.0} for m in masks)
    assert len({m.tobytes() for m in masks}) == 4  # not one mask frozen into the code


def test_dropout_float32():
    out = F.dropout(mg.ones((3, 4), dtype=np.float32), 0.5, rng=0)
    assert out.dtype == np.float32 and set(np.unique(out.data)) <= {0.0, 2.0}


def test_dropout_identity_and_extremes():
    x = _t((3, 4))
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert np.all(F.dropout(x, 1.0).data == 0)
    out = F.dropout(x, 0.5, rng=0)
    out.sum().backward()
    assert np.array_equal(x.grad.data != 0, out.data != 0)  # the gradient uses the same mask
    with pytest.raises(ValueError, match=r"dropout: p must be a probability in \[0, 1\], got 1.5"):
        F.dropout(x, 1.5)


# -- bad input -----------------------------------------------------------------------------


def test_conv_errors_name_the_shapes_and_the_fix():
    w = mg.zeros((4, 3, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: input has 2 channels \(shape \(1, 2, 8, 8\)\) "
                                         r"but the weight \(4, 3, 3, 3\).*expects 3.*in_channels=2"):
        F.conv2d(mg.zeros((1, 2, 8, 8)), w)
    with pytest.raises(ValueError, match=r"conv2d: expected input of shape \(N, C, H, W\).*got "
                                         r"shape \(8, 8\)"):
        F.conv2d(mg.zeros((8, 8)), w)
    with pytest.raises(ValueError, match=r"conv2d: the kernel \(3, 3\).*larger than the padded "
                                         r"input \(3, 2\).*smaller kernel, more padding"):
        F.conv2d(mg.zeros((1, 3, 1, 2)), w, padding=(1, 0))
    with pytest.raises(ValueError, match=r"conv2d: weight must have 4 dimensions"):
        F.conv2d(mg.zeros((1, 3, 8, 8)), mg.zeros((4, 3, 3)))
    with pytest.raises(ValueError, match=r"conv2d: bias must have shape \(4,\)"):
        F.conv2d(mg.zeros((1, 3, 8, 8)), w, mg.zeros(3))
    with pytest.raises(ValueError, match=r"padding='same' needs stride=1"):
        F.conv2d(mg.zeros((1, 3, 8, 8)), w, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"conv1d: stride must be an int >= 1"):
        F.conv1d(mg.zeros((1, 3, 8)), mg.zeros((2, 3, 3)), stride=0)


def test_unbatched_conv_and_pool():
    x = RNG.standard_normal((3, 6, 6))
    w = RNG.standard_normal((2, 3, 3, 3))
    np.testing.assert_allclose(F.conv2d(x, w).data, F.conv2d(x[None], w).data[0])
    np.testing.assert_allclose(F.max_pool2d(x, 2).data, F.max_pool2d(x[None], 2).data[0])


def test_pool_errors():
    with pytest.raises(ValueError, match=r"max_pool2d: the kernel \(3, 3\).*larger than the "
                                         r"padded input \(2, 2\)"):
        F.max_pool2d(mg.zeros((1, 1, 2, 2)), 3)
    with pytest.raises(ValueError, match=r"padding \(2, 2\) must be at most half the kernel"):
        F.max_pool2d(mg.zeros((1, 1, 6, 6)), 2, padding=2)
    with pytest.raises(ValueError, match=r"ceil_mode=True is not supported"):
        F.avg_pool2d(mg.zeros((1, 1, 6, 6)), 2, ceil_mode=True)


def test_norm_embedding_attention_errors():
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(5,\) must match the "
                                         r"last 1 axes of the input, but the input has shape "
                                         r"\(2, 4\). Use normalized_shape=\(4,\)"):
        F.layer_norm(mg.zeros((2, 4)), 5)
    with pytest.raises(IndexError, match=r"embedding: index 7 is out of range for 5 embeddings "
                                         r"\(valid: 0 to 4\)"):
        F.embedding([1, 7], mg.zeros((5, 3)))
    with pytest.raises(TypeError, match=r"embedding: indices must be integers, got dtype float64"):
        F.embedding(np.array([1.0]), mg.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"batch_norm: running_mean must have shape \(3,\)"):
        F.batch_norm(mg.zeros((2, 3)), np.zeros(4), np.ones(3))
    with pytest.raises(ValueError, match=r"expected more than 1 value per channel when training"):
        F.batch_norm(mg.zeros((1, 3)), None, None, training=True)
    q = mg.zeros((2, 4, 8))
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: attn_mask has shape "
                                         r"\(4, 5\) but the attention scores have shape "
                                         r"\(2, 4, 4\).*mask of shape \(4, 4\)"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((4, 5), bool))
    with pytest.raises(ValueError, match=r"either attn_mask or is_causal=True, not both"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((4, 4), bool), is_causal=True)
    with pytest.raises(ValueError, match=r"gelu: approximate must be 'none' or 'tanh'"):
        F.gelu(q, approximate="fast")


def test_compile_traces_conv_and_pool():
    if not hasattr(mg, "compile"):
        pytest.skip("mg.compile has not landed")
    x, w = _t((2, 3, 6, 6)), _t((4, 3, 3, 3))

    def step(x, w):
        return F.max_pool2d(F.conv2d(x, w, padding=1).relu(), 2).sum()

    compiled = mg.compile(step)
    for _ in range(2):
        x.grad = w.grad = None
        compiled(x, w).backward()
        got = (x.grad.data.copy(), w.grad.data.copy())
    x.grad = w.grad = None
    step(x, w).backward()
    np.testing.assert_allclose(got[0], x.grad.data, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[1], w.grad.data, rtol=1e-12, atol=1e-12)


# -- against PyTorch (float64) -------------------------------------------------------------


def _torch_cases(torch, TF):
    a = lambda *shape: RNG.standard_normal(shape)  # noqa: E731
    distinct = lambda *shape: _distinct(shape).data  # noqa: E731
    m = RNG.random((4, 5)) > 0.4
    m[:, 0] = True
    return {
        "conv2d": (lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2),
                                            dilation=(1, 2), groups=2),
                   lambda x, w, b: TF.conv2d(x, w, b, stride=(2, 1), padding=(1, 2),
                                             dilation=(1, 2), groups=2),
                   [a(2, 4, 7, 6), a(6, 2, 3, 2), a(6)]),
        "conv2d_same": (lambda x, w: F.conv2d(x, w, padding="same", dilation=2),
                        lambda x, w: TF.conv2d(x, w, padding="same", dilation=2),
                        [a(2, 3, 7, 6), a(4, 3, 3, 3)]),
        "conv1d": (lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1),
                   lambda x, w, b: TF.conv1d(x, w, b, stride=2, padding=1),
                   [a(2, 3, 9), a(5, 3, 3), a(5)]),
        "max_pool2d": (lambda x: F.max_pool2d(x, 3, 2, 1), lambda x: TF.max_pool2d(x, 3, 2, 1),
                       [distinct(2, 3, 7, 6)]),
        "max_pool2d_dilated": (lambda x: F.max_pool2d(x, 2, 1, dilation=2),
                               lambda x: TF.max_pool2d(x, 2, 1, dilation=2), [distinct(1, 2, 5, 5)]),
        "avg_pool2d": (lambda x: F.avg_pool2d(x, 3, 2, 1), lambda x: TF.avg_pool2d(x, 3, 2, 1),
                       [a(2, 3, 7, 6)]),
        "avg_pool2d_no_pad_count": (
            lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
            lambda x: TF.avg_pool2d(x, 3, 2, 1, count_include_pad=False), [a(2, 3, 7, 6)]),
        "max_pool1d": (lambda x: F.max_pool1d(x, 2), lambda x: TF.max_pool1d(x, 2),
                       [distinct(2, 3, 8)]),
        "avg_pool1d": (lambda x: F.avg_pool1d(x, 3, 1, 1), lambda x: TF.avg_pool1d(x, 3, 1, 1),
                       [a(2, 3, 8)]),
        "gelu": (F.gelu, TF.gelu, [3 * a(4, 5)]),
        "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                      lambda x: TF.gelu(x, approximate="tanh"), [3 * a(4, 5)]),
        "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda x: TF.leaky_relu(x, 0.1),
                       [3 * a(4, 5)]),
        "elu": (lambda x: F.elu(x, 0.7), lambda x: TF.elu(x, 0.7), [3 * a(4, 5)]),
        "silu": (F.silu, TF.silu, [3 * a(4, 5)]),
        "softplus": (lambda x: F.softplus(x, 2.0, 5.0), lambda x: TF.softplus(x, 2.0, 5.0),
                     [3 * a(4, 5)]),
        "log_sigmoid": (F.log_sigmoid, TF.logsigmoid, [10 * a(4, 5)]),
        "layer_norm": (lambda x, w, b: F.layer_norm(x, (4, 5), w, b, eps=1e-3),
                       lambda x, w, b: TF.layer_norm(x, (4, 5), w, b, eps=1e-3),
                       [a(3, 4, 5), a(4, 5), a(4, 5)]),
        "batch_norm_train": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                             lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
                             [a(4, 3, 2, 2), a(3), a(3)]),
        "batch_norm_eval": (
            lambda x, w, b: F.batch_norm(x, np.arange(3.0), np.arange(1.0, 4.0), w, b),
            lambda x, w, b: TF.batch_norm(x, torch.arange(3.0, dtype=torch.float64),
                                          torch.arange(1.0, 4.0, dtype=torch.float64), w, b),
            [a(4, 3, 5), a(3), a(3)]),
        "embedding": (lambda w: F.embedding(np.array([[0, 3, 3], [1, 0, 2]]), w, padding_idx=3),
                      lambda w: TF.embedding(torch.tensor([[0, 3, 3], [1, 0, 2]]), w,
                                             padding_idx=3), [a(4, 6)]),
        "sdpa": (F.scaled_dot_product_attention, TF.scaled_dot_product_attention,
                 [a(2, 3, 4, 8), a(2, 3, 5, 8), a(2, 3, 5, 6)]),
        "sdpa_bool_mask": (
            lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
            lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(m)),
            [a(2, 4, 8), a(2, 5, 8), a(2, 5, 6)]),
        "sdpa_float_mask_scale": (
            lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=m * 0.5, scale=0.3),
            lambda q, k, v: TF.scaled_dot_product_attention(q, k, v,
                                                            attn_mask=torch.tensor(m * 0.5),
                                                            scale=0.3),
            [a(2, 4, 8), a(2, 5, 8), a(2, 5, 6)]),
        "sdpa_causal": (
            lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
            lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True),
            [a(2, 5, 8), a(2, 5, 8), a(2, 5, 6)]),
    }


TORCH_NAMES = ["conv2d", "conv2d_same", "conv1d", "max_pool2d", "max_pool2d_dilated",
               "avg_pool2d", "avg_pool2d_no_pad_count", "max_pool1d", "avg_pool1d", "gelu",
               "gelu_tanh", "leaky_relu", "elu", "silu", "softplus", "log_sigmoid", "layer_norm",
               "batch_norm_train", "batch_norm_eval", "embedding", "sdpa", "sdpa_bool_mask",
               "sdpa_float_mask_scale", "sdpa_causal"]


@pytest.mark.parametrize("name", TORCH_NAMES)
def test_matches_torch(name):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF

    ours, theirs, arrays = _torch_cases(torch, TF)[name]
    xs = [mg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = ours(*xs), theirs(*ts)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    upstream = RNG.standard_normal(expected.shape)
    out.backward(mg.tensor(upstream))
    expected.backward(torch.tensor(upstream))
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-11, atol=1e-12)


def test_batch_norm_running_statistics_match_torch():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF

    rm, rv = mg.tensor(np.zeros(3)), mg.tensor(np.ones(3))
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for _ in range(4):
        x = RNG.standard_normal((5, 3, 4)) * 2 + 1
        F.batch_norm(x, rm, rv, training=True, momentum=0.3)
        TF.batch_norm(torch.tensor(x), trm, trv, training=True, momentum=0.3)
    np.testing.assert_allclose(rm.data, trm.numpy(), rtol=1e-13)
    np.testing.assert_allclose(rv.data, trv.numpy(), rtol=1e-13)
