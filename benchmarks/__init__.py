"""minigrad's benchmark suite: five workloads against hand-written NumPy and the peers.

Run ``python -m benchmarks`` (``--help`` for options). Importing this package
first fixes every math library to one thread, so the thread variables must be
set before NumPy, PyTorch or JAX is imported -- which is why this happens here,
at the top of the package, and not in ``run.py``.

Workloads (issue 7):

* W1 -- linear regression, full-batch GD, n=10,000, d=10, 300 steps.
* W2 -- MLP 64-128-128-10, tanh, softmax cross-entropy, batch 256, 100 SGD steps
  (float64 and float32).
* W3 -- per-op overhead: a chain of 2,000 ``y = y * 1.0000001`` on one element,
  forward + backward, reported in microseconds per op.
* W4 -- micrograd's moons MLP 2-16-16-1 (ReLU, max-margin loss + L2), one
  forward + backward over 100 points.
* W5 -- the W3 chain, 50,000 ops deep.
"""

import os

_ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "JAX_PLATFORMS": "cpu",
}
for _name, _value in _ONE_THREAD.items():
    os.environ.setdefault(_name, _value)
