"""mg.nn.init: the distributions PyTorch's initialisers draw from, in place, with rng=,
and version bookkeeping (a graph that used the old values refuses backward)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import init


def _weight(*shape, dtype=np.float64):
    return mg.zeros(shape, dtype=dtype, requires_grad=True)


def test_fill_in_place_keeping_the_object_and_dtype():
    w = _weight(300, 200, dtype=np.float32)
    data = w.data
    assert init.normal_(w, 1.0, 2.0, rng=0) is w and w.data is data
    assert w.dtype == np.float32
    assert abs(w.data.mean() - 1.0) < 0.02 and abs(w.data.std() - 2.0) < 0.02
    init.uniform_(w, -3.0, -1.0, rng=0)
    assert w.data.min() >= -3.0 and w.data.max() <= -1.0 and abs(w.data.mean() + 2.0) < 0.01
    assert np.all(init.zeros_(w).data == 0) and np.all(init.ones_(w).data == 1)


def test_xavier_and_kaiming_scales():
    w = _weight(400, 100, 3, 3)  # fan_in = 900, fan_out = 3600
    fan_in, fan_out = 900, 3600
    init.xavier_uniform_(w, gain=2.0, rng=0)
    bound = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.99 * bound
    init.xavier_normal_(w, rng=0)
    assert abs(w.data.std() - math.sqrt(2 / (fan_in + fan_out))) < 0.01 * w.data.std()
    init.kaiming_uniform_(w, a=math.sqrt(5), rng=0)  # PyTorch's Linear/Conv default
    assert np.abs(w.data).max() <= 1 / math.sqrt(fan_in)
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu", rng=0)
    assert abs(w.data.std() - math.sqrt(2 / fan_out)) < 0.01 * w.data.std()


def test_rng_reproducibility():
    a, b, c = _weight(5, 4), _weight(5, 4), _weight(5, 4)
    init.kaiming_normal_(a, rng=3)
    init.kaiming_normal_(b, rng=np.random.default_rng(3))
    init.kaiming_normal_(c, rng=4)
    assert np.array_equal(a.data, b.data) and not np.array_equal(a.data, c.data)


def test_init_marks_the_tensor_modified():
    w = _weight(3, 2)
    init.ones_(w)
    loss = (w * w).sum()  # backward needs w's values
    init.normal_(w, rng=0)
    with pytest.raises(RuntimeError, match=r"nn\.init\.normal_"):
        loss.backward()


def test_errors():
    with pytest.raises(ValueError, match=r"xavier_uniform_: fan in and fan out need a tensor with "
                                         r"2 or more dimensions, got shape \(5,\)"):
        init.xavier_uniform_(_weight(5))
    with pytest.raises(ValueError, match=r"kaiming_normal_: mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(_weight(2, 2), mode="fan")
    with pytest.raises(TypeError, match=r"nn.init.zeros_: expected a Tensor, got ndarray"):
        init.zeros_(np.zeros(3))
    with pytest.raises(ValueError, match=r"calculate_gain: unknown nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_gains_and_bounds_match_torch():
    torch = pytest.importorskip("torch")
    for name, param in [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                        ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None),
                        ("conv2d", None)]:
        assert init.calculate_gain(name, param) == pytest.approx(
            torch.nn.init.calculate_gain(name, param), rel=1e-15)
    # the same fans: the largest |value| PyTorch draws never exceeds our bound, and vice versa
    for shape in [(7, 3), (4, 2, 3, 5), (6, 3, 4)]:
        ours = _weight(*shape)
        theirs = torch.empty(shape, dtype=torch.float64)
        for fn, kwargs in [("kaiming_uniform_", {"a": math.sqrt(5)}), ("xavier_uniform_", {}),
                           ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"})]:
            getattr(init, fn)(ours, rng=0, **kwargs)
            getattr(torch.nn.init, fn)(theirs, **kwargs)
            fan_in = shape[1] * math.prod(shape[2:])
            fan_out = shape[0] * math.prod(shape[2:])
            if fn == "xavier_uniform_":
                bound = math.sqrt(6 / (fan_in + fan_out))
            elif "mode" in kwargs:
                bound = math.sqrt(2) * math.sqrt(3 / fan_out)
            else:
                bound = 1 / math.sqrt(fan_in)
            assert np.abs(ours.data).max() <= bound
            assert theirs.abs().max().item() <= bound
