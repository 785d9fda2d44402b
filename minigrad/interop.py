"""NumPy interoperability: ``ndarray + t``, ``np.exp(t)`` and ``np.sum(t)`` stay in the graph.

NumPy hands a call to Tensor's ``__array_ufunc__`` / ``__array_function__``
whenever a Tensor is among the arguments. Known functions dispatch to the
minigrad op of the same name. Unknown ones run on plain arrays only when no
argument requires grad (there is no graph to lose); otherwise they raise, so
the graph is never dropped silently.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.tensor import Tensor

# ufuncs with a differentiable minigrad op of (almost) the same name
_UFUNCS = {
    "add": "add", "subtract": "subtract", "multiply": "multiply", "divide": "divide",
    "true_divide": "divide", "negative": "negative", "power": "power", "absolute": "abs",
    "exp": "exp", "log": "log", "sqrt": "sqrt", "sin": "sin", "cos": "cos", "tanh": "tanh",
    "maximum": "maximum", "minimum": "minimum", "matmul": "matmul",
}
# ufuncs whose output is piecewise constant: computed on the values, no gradient
_CONSTANT_UFUNCS = {
    "less", "less_equal", "greater", "greater_equal", "equal", "not_equal", "sign",
    "floor", "ceil", "rint", "trunc", "isnan", "isinf", "isfinite", "signbit",
    "logical_and", "logical_or", "logical_not", "logical_xor",
}

# functions that only read values (comparisons, shapes): safe on any Tensor
_VALUE_FUNCTIONS = {
    "allclose", "isclose", "array_equal", "array_equiv", "shape", "ndim", "size",
    "argsort", "nonzero", "count_nonzero", "any", "all", "result_type", "can_cast",
    "iscomplexobj", "isrealobj", "array2string", "array_repr", "array_str",
}


def _plain(x: Any) -> Any:
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(v) for v in x)
    return x


def _array(x: Any) -> Any:
    """NumPy scalars become 0-d arrays; arrays (NumPy, Dask, CuPy) stay as they are."""
    return x if hasattr(x, "__array_function__") else np.asarray(x)


def _needs_grad(args: Any) -> bool:
    if isinstance(args, Tensor):
        return args.requires_grad
    if isinstance(args, (list, tuple)):
        return any(_needs_grad(a) for a in args)
    if isinstance(args, dict):
        return any(_needs_grad(a) for a in args.values())
    return False


def _functions(namespace: str = "numpy") -> dict[str, Any]:
    """minigrad's functions under NumPy's names (``numpy`` or ``numpy.linalg``): the
    public functions of the ops, creation and statistics modules, or of linalg.
    Imported on first use: they sit in this layer or below (tests/test_layering.py)."""
    table = _TABLES.get(namespace)
    if table is None:
        import importlib

        names = (["minigrad.linalg"] if namespace == "numpy.linalg" else
                 [f"minigrad.ops.{m}" for m in ("arithmetic", "elementwise", "reductions",
                                                "shape", "indexing", "matrix")]
                 + ["minigrad.creation", "minigrad.statistics"])
        table = {}
        for module in map(importlib.import_module, names):
            for name, f in vars(module).items():
                if (not name.startswith("_") and callable(f) and not isinstance(f, type)
                        and getattr(f, "__module__", "").startswith("minigrad")):
                    table.setdefault(name, f)
        _TABLES[namespace] = table
    return table


_TABLES: dict[str, dict[str, Any]] = {}


def array_ufunc(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
    name = ufunc.__name__
    if method == "__call__" and not kwargs and name in _UFUNCS:
        return _functions()[_UFUNCS[name]](*inputs)
    if method == "__call__" and not kwargs.get("out") and name in _CONSTANT_UFUNCS:
        return Tensor._make(_array(ufunc(*_plain(inputs), **kwargs)))
    if not _needs_grad(inputs):
        return Tensor._make(_array(getattr(ufunc, method)(*_plain(inputs), **kwargs)))
    call = f"np.{name}" if method == "__call__" else f"np.{name}.{method}"
    raise TypeError(
        f"{call} on a Tensor that requires grad has no minigrad equivalent"
        f"{' with these keyword arguments' if kwargs else ''}, and running it on the plain "
        f"array would silently drop the graph. Use the minigrad op (mg.sum, mg.exp, ...), "
        f"or call {call} on t.detach().numpy() if no gradient should flow."
    )


def array_function(func: Any, args: tuple, kwargs: dict) -> Any:
    target = None
    if func.__module__ in ("numpy", "numpy.linalg"):
        target = _functions(func.__module__).get(func.__name__)
    if target is None and func.__name__ in ("amax", "amin"):
        target = _functions()[func.__name__[1:]]
    if target is not None:
        return target(*args, **kwargs)
    if func.__name__ in _VALUE_FUNCTIONS or not (_needs_grad(args) or _needs_grad(kwargs)):
        return func(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})
    raise TypeError(
        f"np.{func.__name__} has no minigrad equivalent, and running it on a Tensor that "
        "requires grad would silently drop the graph. Compose it from minigrad ops, or call "
        f"it on t.detach().numpy() if no gradient should flow."
    )
