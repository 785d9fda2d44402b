"""Bad input sweep: every public function is fed wrong types, wrong shapes, NaN,
empty arrays and zero-size axes. Each call must either return (NaN in, NaN
out; an empty reduction as NumPy defines it) or raise a clear error -- one
that names the function -- and never hang.

Documented results: NaN propagates (no error, as NumPy). Reductions of empty
arrays follow NumPy: ``sum`` is 0, ``prod`` is 1, ``mean``/``var`` are NaN
(with NumPy's RuntimeWarning), ``max``/``min``/``argmax`` of nothing are errors.
"""

from __future__ import annotations

import signal
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import minigrad as mg

CLEAR = (TypeError, ValueError, IndexError, RuntimeError, np.linalg.LinAlgError)
# Functions outside ops/ that convert their arguments with mg.tensor(): the error
# explains the problem and the fix ("tensor: cannot make a tensor from str 'abc';
# pass numbers ...") but does not yet name the function itself.
CONVERTS_WITH_TENSOR = {"cov", "corrcoef", "slogdet", "eigh", "eig", "norm", "mse", "mae",
                        "huber", "binary_cross_entropy_with_logits", "binary_cross_entropy",
                        "kl_div", "entropy", "cross_entropy"}
DELEGATES = {"flatten": ("reshape",)}  # the op whose name an error may carry


@dataclass
class Case:
    name: str
    fn: Callable[..., Any]
    shapes: tuple[tuple[int, ...], ...] = ((3, 4),)  # good shapes, one per tensor argument
    names: tuple[str, ...] = ()  # other names an error may use (the op it delegates to)
    binary_broadcast: bool = False  # a pair of shapes that cannot broadcast is wrong

    def __repr__(self) -> str:
        return self.name


def U(name, fn=None, **kw):  # noqa: N802 - a table row
    kw.setdefault("names", DELEGATES.get(name, ()))
    return Case(name, fn or getattr(mg, name), **kw)


SQ = ((3, 3),)
CASES = [
    *[U(n) for n in ["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs",
                     "negative", "sum", "mean", "var", "std", "max", "min", "prod", "logsumexp",
                     "softmax", "log_softmax", "argmax", "argmin", "flatten", "transpose",
                     "squeeze"]],
    *[U(n, shapes=((3, 4), (3, 4)), binary_broadcast=True)
      for n in ["add", "subtract", "multiply", "divide", "power", "maximum", "minimum"]],
    U("clip", lambda x: mg.clip(x, -1.0, 1.0)),
    U("where", lambda a, b: mg.where(np.ones((3, 4), bool), a, b), shapes=((3, 4), (3, 4))),
    U("reshape", lambda x: mg.reshape(x, (4, 3))),
    U("swapaxes", lambda x: mg.swapaxes(x, 0, 1)),
    U("expand_dims", lambda x: mg.expand_dims(x, 0)),
    U("broadcast_to", lambda x: mg.broadcast_to(x, (2, 3, 4))),
    U("concatenate", lambda a, b: mg.concatenate([a, b]), shapes=((3, 4), (3, 4))),
    U("stack", lambda a, b: mg.stack([a, b]), shapes=((3, 4), (3, 4))),
    U("getitem", lambda x: mg.getitem(x, (0, slice(1, 3)))),
    U("matmul", shapes=((3, 4), (4, 2))),
    U("dot", shapes=((3, 4), (4, 2)), names=("matmul", "multiply")),
    U("outer", shapes=((3,), (4,))),
    U("trace", shapes=SQ),
    U("diag", shapes=SQ),
    U("astype", lambda x: mg.astype(x, np.float32)),
    U("median"), U("cov"), U("corrcoef", names=("cov",)),
    *[U(n, getattr(mg.linalg, n), shapes=SQ) for n in ["inv", "det", "slogdet", "eigh", "eig"]],
    U("solve", mg.linalg.solve, shapes=((3, 3), (3,))),
    U("norm", mg.linalg.norm),
    *[U(n, getattr(mg.losses, n), shapes=((3, 4), (3, 4)))
      for n in ["mse", "mae", "huber", "binary_cross_entropy_with_logits", "kl_div"]],
    U("binary_cross_entropy", mg.losses.binary_cross_entropy, shapes=((3, 4), (3, 4))),
    U("entropy", mg.losses.entropy),
    U("cross_entropy", lambda x: mg.losses.cross_entropy(x, np.array([0, 1, 3]))),
]


@pytest.fixture(autouse=True)
def no_hang():
    """Any single call that takes longer than 10 s fails the test instead of hanging."""
    def alarm(*_):
        raise TimeoutError("the call hung")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def call(case: Case, *args: Any) -> Any:
    """Call case.fn; an exception must be a clear one that names the function."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's own, documented warnings
        try:
            return case.fn(*args)
        except CLEAR as exc:
            message = str(exc).lower().replace("_", "")  # LogSoftmax's op is "logsoftmax"
            names = (case.name, *case.names)
            if case.name in CONVERTS_WITH_TENSOR:
                names += ("tensor: ",)
            assert any(n.lower().replace("_", "") in message for n in names), (
                f"{case.name}: unclear {type(exc).__name__}: {exc}")
            return exc


def good(shape, requires_grad=True):
    rng = np.random.default_rng(0)
    # in (0.2, 0.8): valid probabilities for the losses, and nonsingular matrices
    return mg.tensor(rng.uniform(0.2, 0.8, shape), requires_grad=requires_grad)


BAD_VALUES = ["abc", None, {"a": 1}, object(), [["x"]], [[1.0, 2.0], [3.0]]]


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_wrong_types_raise_clear_errors(case):
    for position in range(len(case.shapes)):
        for bad in BAD_VALUES:
            args = [good(s) for s in case.shapes]
            args[position] = bad
            result = call(case, *args)
            assert isinstance(result, CLEAR), f"{case.name} accepted {bad!r}"


@pytest.mark.parametrize("case", [c for c in CASES if c.binary_broadcast], ids=repr)
def test_shapes_that_do_not_broadcast_raise_clear_errors(case):
    result = call(case, good((3, 4)), good((2, 3)))
    assert isinstance(result, ValueError) and "(3, 4)" in str(result) and "(2, 3)" in str(result)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_nan_propagates_or_is_a_clear_error(case):
    args = [mg.tensor(np.full(s, np.nan), requires_grad=True) for s in case.shapes]
    result = call(case, *args)
    if isinstance(result, Exception):
        return
    outputs = [o for o in (result if isinstance(result, tuple) else (result,))
               if isinstance(o, mg.Tensor)]
    # (slogdet's sign of a NaN matrix is 1.0, as NumPy's: one NaN output is enough)
    floats = [o for o in outputs if o.dtype.kind == "f"]  # (argmax returns indices)
    assert not floats or any(np.isnan(o.data).any() for o in floats), (
        f"{case.name} turned NaN into {[o.data for o in outputs]}")
    for out in outputs:
        if out.requires_grad:  # backward must not crash either
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                out.sum().backward() if out.size else None


def _empty_shapes(shapes):
    """The case's shapes with every axis of size 0 (so that pairs still agree)."""
    return [tuple(0 for _ in s) for s in shapes], [s[:-1] + (0,) for s in shapes]


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_empty_and_zero_size_axes_return_or_raise_clearly(case):
    for shapes in _empty_shapes(case.shapes):
        args = [mg.tensor(np.zeros(s), requires_grad=True) for s in shapes]
        result = call(case, *args)
        if isinstance(result, Exception):
            continue
        outputs = result if isinstance(result, tuple) else (result,)
        for out in outputs:
            if isinstance(out, mg.Tensor) and out.requires_grad and out.size:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore", RuntimeWarning)
                    out.sum().backward()
                for a in args:
                    assert a.grad is None or a.grad.shape == a.shape


def test_documented_empty_reductions():
    empty = mg.zeros((0,))
    assert mg.sum(empty).item() == 0.0
    assert mg.prod(empty).item() == 1.0
    with pytest.warns(RuntimeWarning):
        assert np.isnan(mg.mean(empty).item())
    with pytest.raises(ValueError, match="max"):
        mg.max(empty)
    with pytest.raises(ValueError, match="argmax"):
        mg.argmax(empty)
    np.testing.assert_array_equal(mg.sum(mg.zeros((2, 0)), axis=1).data, [0.0, 0.0])


@pytest.mark.parametrize("bad", ["abc", None, {"a": 1}, [[1.0], [2.0, 3.0]], np.array(["x"])])
def test_tensor_construction_rejects_non_numbers(bad):
    with pytest.raises((TypeError, ValueError), match="tensor"):
        mg.tensor(bad)


@pytest.mark.parametrize(("name", "call_factory"), [
    ("zeros", lambda: mg.zeros("abc")), ("ones", lambda: mg.ones(-1)),
    ("full", lambda: mg.full((2,), "x")), ("eye", lambda: mg.eye("3")),
    ("linspace", lambda: mg.linspace(0, 1, -5)), ("randn", lambda: mg.randn("3")),
    ("arange", lambda: mg.arange("a")), ("rand", lambda: mg.rand(2, rng="seed")),
], ids=lambda v: v if isinstance(v, str) else "")
def test_factories_reject_bad_arguments_clearly(name, call_factory):
    with pytest.raises((TypeError, ValueError)) as info:
        call_factory()
    assert str(info.value).startswith(f"{name}: "), str(info.value)


def test_backward_with_bad_gradient_argument():
    y = good((2, 3)) * 2
    with pytest.raises(ValueError, match=r"backward: gradient has shape \(3,\)"):
        y.backward(np.ones(3))
    with pytest.raises(ValueError, match="backward: gradient can be omitted only"):
        y.backward()
    with pytest.raises(TypeError, match="tensor"):
        y.backward("abc")


def test_requires_grad_on_integers_is_a_clear_error():
    with pytest.raises(TypeError, match="only floating-point tensors can require grad"):
        mg.tensor([1, 2], requires_grad=True)


def test_axis_errors_name_the_op():
    x = good((3, 4))
    for fn in (mg.sum, mg.mean, mg.max, mg.logsumexp, mg.softmax, mg.var):
        with pytest.raises((ValueError, TypeError, np.exceptions.AxisError),
                           match=fn.__name__):
            fn(x, axis=5)
        with pytest.raises((ValueError, TypeError), match=fn.__name__):
            fn(x, axis="0")


def test_indexing_errors_are_clear():
    x = good((3, 4))
    with pytest.raises(IndexError, match="getitem"):
        x[5]
    with pytest.raises(IndexError, match="getitem"):
        x[np.array([0.5])]
    with pytest.raises(IndexError, match="getitem"):
        x["a"]
