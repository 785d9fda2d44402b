"""minigrad: a small, fast, honest autograd engine on NumPy.

Reading order for a learner:
``tensor.py`` (the Tensor) -> ``engine.py`` (the chain rule) -> ``ops/arithmetic.py``
-> ``ops/elementwise.py`` -> ``ops/reductions.py`` -> ``ops/shape.py``
-> ``ops/indexing.py`` -> ``ops/matrix.py`` -> ``ops/inplace.py`` -> ``autograd.py``
-> ``gradcheck.py`` -> ``linalg.py`` -> ``statistics.py`` -> ``distributions.py``
-> ``losses.py`` -> ``nn.py`` -> ``optim.py`` -> ``data.py`` -> ``models.py``
-> ``viz.py`` and ``explain.py``. Plumbing: ``creation.py`` (factories),
``interop.py`` (NumPy's ``np.exp(t)``), ``backends.py`` and ``_dask.py`` (Dask, CuPy),
``serialization.py`` (save / load), ``__main__.py`` (the ``minigrad`` command),
``_malloc.py`` (keeps freed array memory for the next step).
"""

from minigrad.tensor import Tensor  # first: everything else refers to it

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
from minigrad.engine import Function, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from minigrad.gradcheck import GradcheckError, gradcheck, gradgradcheck, numerical_grad
from minigrad.ops.arithmetic import abs, add, divide, multiply, negative, power, subtract
from minigrad.ops.elementwise import (
    astype,
    clip,
    cos,
    exp,
    log,
    maximum,
    minimum,
    relu,
    sigmoid,
    sin,
    sqrt,
    tanh,
    where,
)
from minigrad.ops.indexing import getitem
from minigrad.ops.matrix import diag, dot, matmul, outer, trace
from minigrad.ops.reductions import (
    argmax,
    argmin,
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
    reshape,
    squeeze,
    stack,
    swapaxes,
    transpose,
)
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
    "concatenate",
    "corrcoef",
    "cos",
    "cov",
    "data",
    "diag",
    "distributions",
    "divide",
    "dot",
    "enable_grad",
    "exp",
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
    "power",
    "prod",
    "rand",
    "randn",
    "relu",
    "reshape",
    "save",
    "set_grad_enabled",
    "sigmoid",
    "sin",
    "softmax",
    "sqrt",
    "squeeze",
    "stack",
    "std",
    "subtract",
    "sum",
    "swapaxes",
    "tanh",
    "tensor",
    "trace",
    "transpose",
    "var",
    "viz",
    "where",
    "zeros",
    "zeros_like",
]

_malloc.keep_freed_memory()  # see _malloc.py; MINIGRAD_MALLOC=default turns it off
