"""numerical_grad, gradcheck, gradgradcheck: they pass correct gradients and catch wrong ones."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from tests.strategies import examples
from minigrad.gradcheck import GradcheckWarning

# ---------------------------------------------------------------------------
# numerical_grad
# ---------------------------------------------------------------------------


def test_numerical_grad_seed_polynomial():
    x = mg.tensor(2.0)
    (g,) = mg.numerical_grad(lambda x: x**2 + 2 * x + 1, [x])
    assert g.shape == ()
    assert abs(g - 6.0) < 1e-8


def test_numerical_grad_several_inputs_closed_form():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(3,))
    x, y = mg.tensor(a), mg.tensor(b)
    gx, gy = mg.numerical_grad(lambda x, y: (mg.sin(x) * y**2).sum(), [x, y])
    np.testing.assert_allclose(gx, np.cos(a) * b**2, atol=1e-8)
    np.testing.assert_allclose(gy, 2 * b * np.sin(a).sum(axis=0), atol=1e-8)


def test_numerical_grad_accepts_a_single_tensor_and_leaves_it_unchanged():
    a = np.array([[1.0, -2.0], [0.5, 3.0]])
    x = mg.tensor(a, requires_grad=True)
    (g,) = mg.numerical_grad(lambda x: (x.reshape(-1) ** 3).sum(), x)  # f returns views
    np.testing.assert_allclose(g, 3 * a**2, rtol=1e-7)
    np.testing.assert_array_equal(x.data, a)
    assert x.grad is None


def test_numerical_grad_leaves_inputs_unchanged_when_f_fails():
    a = np.array([1.0, 2.0])
    x = mg.tensor(a)
    calls = []

    def f(x):
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("boom")
        return x.sum()

    with pytest.raises(RuntimeError, match="boom"):
        mg.numerical_grad(f, [x])
    np.testing.assert_array_equal(x.data, a)


def test_numerical_grad_rejects_vector_output():
    x = mg.tensor([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"numerical_grad: f must return a one-element.*\(3,\)"):
        mg.numerical_grad(lambda x: x * 2, [x])


def test_numerical_grad_rejects_non_tensor_inputs_and_outputs():
    with pytest.raises(TypeError, match="numerical_grad: input 0 is a ndarray"):
        mg.numerical_grad(lambda x: x.sum(), [np.ones(3)])
    with pytest.raises(TypeError, match="numerical_grad: f must return a Tensor"):
        mg.numerical_grad(lambda x: 1.0, [mg.tensor([1.0])])
    with pytest.raises(TypeError, match="numerical_grad: input 0 has dtype int64"):
        mg.numerical_grad(lambda x: x.sum(), [mg.tensor([1, 2])])


@settings(max_examples=examples(25), deadline=None)
@given(a=hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=3),
                    elements=st.floats(-2, 2)))
def test_numerical_grad_matches_engine(a):
    x = mg.tensor(a, requires_grad=True)
    f = lambda x: (mg.tanh(x) * x + mg.exp(x / 3)).sum()  # noqa: E731
    f(x).backward()
    (g,) = mg.numerical_grad(f, [x])
    np.testing.assert_allclose(g, x.grad.data, atol=1e-7)


# ---------------------------------------------------------------------------
# gradcheck
# ---------------------------------------------------------------------------


class WrongAtOneElement(mg.Function):
    """out = x^2, but the backward rule is wrong at x[1, 2] (a planted bug)."""

    def forward(self, x):
        return x * x

    def backward(self, grad, out, x):
        bug = np.zeros(x.shape)
        bug[1, 2] = 1.0
        return grad * (2 * x + bug)


class WrongScale(mg.Function):
    """out = sin(x), with a planted bug: the backward rule returns cos(x) / 2."""

    def forward(self, x):
        return np.sin(x)

    def backward(self, grad, out, x):
        return grad * mg.cos(x) / 2


def test_correct_gradient_passes():
    x = mg.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    assert mg.gradcheck(lambda x: (x * x).sum(), [x]) is True
    assert mg.gradcheck(lambda x: mg.softmax(x, axis=-1), [x]) is True


def test_wrong_user_function_is_caught_and_the_element_named():
    x = mg.tensor(np.arange(12.0).reshape(3, 4) / 10, requires_grad=True)
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda x: WrongAtOneElement.apply(x).sum(), [x])
    message = str(info.value)
    assert message.startswith("input 0, index (1, 2): analytic 2.2 vs numerical 1.2 ")
    assert "(atol=1e-05, rtol=0.001)" in message
    assert mg.gradcheck(lambda x: WrongAtOneElement.apply(x).sum(), [x],
                        raise_exception=False) is False


def test_wrong_function_with_vector_output_is_caught_by_random_vjp():
    x = mg.tensor([[0.3, -0.7, 1.1], [0.2, 0.5, -1.4]], requires_grad=True)
    with pytest.raises(mg.GradcheckError, match=r"input 0, index \(0, 0\).*random upstream"):
        mg.gradcheck(WrongScale.apply, [x])
    # the planted error is in a single Jacobian entry and still found
    with pytest.raises(mg.GradcheckError, match=r"index \(1, 2\)"):
        mg.gradcheck(WrongAtOneElement.apply, [x])


def test_the_second_input_is_named():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = mg.tensor([0.5, -0.5], requires_grad=True)
    with pytest.raises(mg.GradcheckError, match=r"^input 1, index \(0,\)"):
        mg.gradcheck(lambda x, y: (x * WrongScale.apply(y)).sum(), [x, y])


def test_inputs_that_do_not_require_grad_are_skipped():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = mg.tensor([0.5, -0.5])  # its (wrong) gradient is never asked for
    assert mg.gradcheck(lambda x, y: (x * WrongScale.apply(y)).sum(), [x, y])
    with pytest.raises(ValueError, match="gradcheck: no input requires grad"):
        mg.gradcheck(lambda y: y.sum(), [y])


def test_gradcheck_touches_neither_grad_nor_data():
    a = np.array([0.1, 0.2, 0.3])
    x = mg.tensor(a, requires_grad=True)
    assert mg.gradcheck(lambda x: mg.exp(x) * 2, [x])
    assert x.grad is None
    np.testing.assert_array_equal(x.data, a)


def test_output_independent_of_the_input_passes():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert mg.gradcheck(lambda x: mg.tensor([3.0, 4.0]), [x])


def test_float32_warns():
    x = mg.tensor([0.1, 0.2], dtype=np.float32, requires_grad=True)
    with pytest.warns(GradcheckWarning, match="float32.*false failures.*float64"):
        mg.gradcheck(lambda x: (x * x).sum(), [x], raise_exception=False, eps=1e-3, atol=1e-2)
    assert issubclass(GradcheckWarning, UserWarning)


def test_tolerances_are_used():
    x = mg.tensor([1.0], requires_grad=True)
    f = lambda x: WrongScale.apply(x).sum()  # noqa: E731  analytic 0.27 vs numerical 0.54
    assert not mg.gradcheck(f, [x], raise_exception=False)
    assert mg.gradcheck(f, [x], atol=0.3)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="gradcheck: input 0 is a list"):
        mg.gradcheck(lambda x: x, [[1.0, 2.0]])
    with pytest.raises(TypeError, match="gradcheck: inputs must be a Tensor"):
        mg.gradcheck(lambda x: x, 3.0)
    with pytest.raises(TypeError, match="gradcheck: f must return a Tensor"):
        mg.gradcheck(lambda x: x.data, [mg.tensor([1.0], requires_grad=True)])


# ---------------------------------------------------------------------------
# gradgradcheck
# ---------------------------------------------------------------------------


class CubeNumpyBackward(mg.Function):
    """out = x^3 with a correct first derivative computed in NumPy: invisible to create_graph."""

    def forward(self, x):
        return x**3

    def backward(self, grad, out, x):
        return grad * mg.Tensor(3 * x.data**2)


class CubeConstantGrad(mg.Function):
    """out = x^3 whose backward uses the upstream gradient as a constant (grad.data)."""

    def forward(self, x):
        return x**3

    def backward(self, grad, out, x):
        return mg.Tensor(grad.data) * 3 * x * x


class Cube(mg.Function):
    def forward(self, x):
        return x**3

    def backward(self, grad, out, x):
        return grad * 3 * x * x


def test_gradgradcheck_passes_correct_second_derivatives():
    rng = np.random.default_rng(3)
    x = mg.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    y = mg.tensor(rng.normal(size=(3,)), requires_grad=True)
    assert mg.gradgradcheck(lambda x, y: mg.tanh(x) * mg.sin(y), [x, y])
    assert mg.gradgradcheck(lambda x: Cube.apply(x).sum(), [x])
    assert mg.gradgradcheck(lambda x, y: mg.log_softmax(x @ mg.diag(y), axis=-1), [x, y])


def test_gradgradcheck_catches_backward_not_written_with_minigrad_ops():
    x = mg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    assert mg.gradcheck(lambda x: CubeNumpyBackward.apply(x), [x])  # first order is right
    with pytest.raises(mg.GradcheckError, match=r"^second derivative, input 0, index \(0,\)"):
        mg.gradgradcheck(lambda x: CubeNumpyBackward.apply(x), [x])


def test_gradgradcheck_catches_backward_that_detaches_the_upstream_gradient():
    x = mg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    with pytest.raises(mg.GradcheckError, match="second derivative, upstream gradient"):
        mg.gradgradcheck(CubeConstantGrad.apply, [x])
    assert mg.gradgradcheck(CubeConstantGrad.apply, [x], raise_exception=False) is False


def test_gradgradcheck_of_linear_function_and_skipped_inputs():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    c = mg.tensor([3.0, 4.0])
    assert mg.gradgradcheck(lambda x, c: x * c + 1, [x, c])
    with pytest.raises(ValueError, match="gradgradcheck: no input requires grad"):
        mg.gradgradcheck(lambda c: c * c, [c])


def test_gradgradcheck_message_format():
    x = mg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    try:
        mg.gradgradcheck(lambda x: CubeNumpyBackward.apply(x).sum(), [x])
    except mg.GradcheckError as exc:
        assert re.match(r"second derivative, input 0, index \(\d,\): analytic \S+ vs numerical "
                        r"\S+ \(atol=1e-05, rtol=0.001\)\.", str(exc))
    else:
        raise AssertionError("gradgradcheck missed a non-differentiable backward")


def test_the_same_tensor_passed_twice_is_moved_as_one():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert mg.gradcheck(lambda a, b: a * b, [x, x])
    assert mg.gradgradcheck(lambda a, b: a * b * b, [x, x])
    ga, gb = mg.numerical_grad(lambda a, b: (a * b).sum(), [x, x])  # d(x.x)/dx = 2x, as grad
    np.testing.assert_allclose(ga, [2.0, 4.0], atol=1e-8)
    np.testing.assert_allclose(gb, [2.0, 4.0], atol=1e-8)


def test_gradcheck_under_no_grad_and_of_a_function_that_differentiates():
    x = mg.tensor([0.3, -0.8], requires_grad=True)
    with mg.no_grad():  # the analytic side still records its graph
        assert mg.gradcheck(lambda x: mg.sin(x) * x, [x])
    # f itself calls grad: the finite differences run with grad recording on
    first = lambda x: mg.autograd.grad(mg.tanh(x).sum(), x, create_graph=True)[0]  # noqa: E731
    assert mg.gradcheck(first, [x])
    with pytest.raises(mg.GradcheckError):
        mg.gradcheck(lambda x: first(x) * 1.01 + mg.Tensor(x.data), [x])
