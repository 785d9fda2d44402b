"""minigrad: a small, fast, honest autograd engine on NumPy.

Reading order for a learner:
``tensor.py`` (the Tensor) -> ``grad_mode.py`` -> ``engine.py`` (the chain rule)
-> ``ops/arithmetic.py``
-> ``ops/elementwise.py`` -> ``ops/reductions.py`` -> ``ops/shape.py``
-> ``ops/indexing.py`` -> ``ops/matrix.py`` -> ``ops/inplace.py`` -> ``autograd.py``
-> ``gradcheck.py`` -> ``linalg.py`` -> ``statistics.py`` -> ``distributions.py``
-> ``losses.py`` -> ``nn/`` -> ``optim/`` -> ``data.py`` -> ``models.py``
-> ``viz.py`` and ``explain.py``. Plumbing: ``creation.py`` (factories),
``interop.py`` (NumPy's ``np.exp(t)``), ``backends.py`` and ``_dask.py`` (Dask, CuPy),
``serialization.py`` (save / load), ``__main__.py`` (the ``minigrad`` command),
``versions.py`` (in-place version counters), ``_fastpath.py`` (the engine's
accelerated apply), ``_malloc.py`` (the opt-in :func:`set_allocator_cache`).

Importing minigrad changes nothing outside it: no allocator settings, no
warning filters, no print options, no optional package imported.
"""

from minigrad.tensor import Tensor  # first: everything else refers to it
from minigrad import _fastpath  # noqa: F401  (installs the fast engine paths; MINIGRAD_PLAIN=1: not)

from minigrad import (  # noqa: I001  (namespaces, as numpy.linalg)
    _malloc,
    autograd,
    data,
    distributions,
    linalg,
    losses,
    models,
    nn,
    optim,
    viz,
)
from minigrad.creation import (
    arange,
    eye,
    from_numpy,
    full,
    linspace,
    ones,
    ones_like,
    rand,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from minigrad.compiler import compile  # noqa: A004  (mg.compile; the builtin is untouched)
from minigrad.engine import Function, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from minigrad.gradcheck import GradcheckError, gradcheck, gradgradcheck, numerical_grad
from minigrad.ops.arithmetic import abs, add, divide, multiply, negative, power, subtract
from minigrad.ops.elementwise import (
    astype,
    clip,
    cos,
    erf,
    exp,
    expm1,
    log,
    log1p,
    maximum,
    minimum,
    relu,
    sigmoid,
    sin,
    sqrt,
    tanh,
    where,
)
from minigrad.ops.indexing import getitem, take_along_axis
from minigrad.ops.matrix import diag, dot, einsum, matmul, outer, trace
from minigrad.ops.reductions import (
    argmax,
    argmin,
    cumsum,
    log_softmax,
    logsumexp,
    max,
    mean,
    min,
    prod,
    softmax,
    std,
    sum,
    var,
)
from minigrad.ops.shape import (
    broadcast_to,
    concatenate,
    expand_dims,
    flatten,
    pad,
    repeat,
    reshape,
    split,
    squeeze,
    stack,
    swapaxes,
    tile,
    transpose,
    tril,
    triu,
)
from minigrad._malloc import set_allocator_cache
from minigrad.serialization import load, save
from minigrad.statistics import corrcoef, cov, median

__version__ = "0.1.0"

__all__ = [
    "Function",
    "GradcheckError",
    "Tensor",
    "abs",
    "add",
    "arange",
    "argmax",
    "argmin",
    "astype",
    "autograd",
    "broadcast_to",
    "clip",
    "compile",
    "concatenate",
    "corrcoef",
    "cos",
    "cov",
    "cumsum",
    "data",
    "diag",
    "distributions",
    "divide",
    "dot",
    "einsum",
    "enable_grad",
    "erf",
    "exp",
    "expm1",
    "expand_dims",
    "eye",
    "flatten",
    "from_numpy",
    "full",
    "getitem",
    "gradcheck",
    "gradgradcheck",
    "is_grad_enabled",
    "linalg",
    "linspace",
    "load",
    "log",
    "log1p",
    "log_softmax",
    "logsumexp",
    "losses",
    "matmul",
    "max",
    "maximum",
    "mean",
    "median",
    "min",
    "minimum",
    "models",
    "multiply",
    "negative",
    "nn",
    "no_grad",
    "numerical_grad",
    "ones",
    "ones_like",
    "optim",
    "outer",
    "pad",
    "power",
    "prod",
    "rand",
    "randn",
    "relu",
    "repeat",
    "reshape",
    "save",
    "set_allocator_cache",
    "set_grad_enabled",
    "sigmoid",
    "sin",
    "softmax",
    "split",
    "sqrt",
    "squeeze",
    "stack",
    "std",
    "subtract",
    "sum",
    "swapaxes",
    "take_along_axis",
    "tanh",
    "tensor",
    "tile",
    "trace",
    "transpose",
    "tril",
    "triu",
    "var",
    "viz",
    "where",
    "zeros",
    "zeros_like",
]

if _malloc.requested_by_environment():  # MINIGRAD_MALLOC=keep: the opt-in, at import
    set_allocator_cache()
