"""Linear regression on a dataset larger than memory, with minigrad on Dask arrays.

The data (``--rows`` x ``--features`` float64, 10^7 x 20 = 1.6 GB by default)
is generated chunk by chunk and written to disk as zarr; it is larger than
the memory budget (``--memory-mb``) this process is allowed. minigrad then
fits it, unchanged, through Dask:

* gradient descent: ``LinearRegression(optimizer="gd").fit(X, y)`` with ``X``
  a lazy ``dask.array``. Each step builds the graph ``mse(X @ w + b, y)``
  lazily; ``loss.backward()`` computes the loss and both gradients in ONE
  pass over the chunks (``minigrad.backends.materialize_grads``), and the
  optimizer updates the small in-memory NumPy parameters;
* minibatch SGD: ``optimizer="sgd"``; ``mg.data.DataLoader`` reads one chunk at
  a time and cuts it into minibatches;

and checks both against the closed form computed by Dask
(``dask.array.linalg.lstsq``, a tall-and-skinny QR over the chunks).

Run::

    python examples/out_of_core_regression.py                 # 10^7 x 20, local scheduler
    python examples/out_of_core_regression.py --rows 200000   # a quick run
    python examples/out_of_core_regression.py --distributed   # dask.distributed Client()
    python examples/out_of_core_regression.py --big           # 10^8 rows (16 GB on disk)

Needs ``pip install minigrad[dask]`` (dask[array], zarr; distributed for
``--distributed``). The last line is ``OK`` when the fits agree with the
closed form and the peak memory stayed under the budget.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import dask
import dask.array as da
import numpy as np

import minigrad as mg


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=10_000_000, help="samples (default 10^7)")
    p.add_argument("--big", action="store_true", help="10^8 rows (16 GB on disk)")
    p.add_argument("--features", type=int, default=20)
    p.add_argument("--chunk-rows", type=int, default=250_000, help="rows per chunk on disk")
    p.add_argument("--memory-mb", type=float, default=1024.0,
                   help="memory budget of this process: its peak RSS must stay below")
    p.add_argument("--gd-steps", type=int, default=20)
    p.add_argument("--lr", type=float, default=0.3)
    p.add_argument("--sgd-epochs", type=int, default=1)
    p.add_argument("--sgd-lr", type=float, default=0.05)
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--dir", type=Path, default=None, help="where to write the zarr data "
                   "(default: a temporary folder, removed afterwards)")
    p.add_argument("--distributed", action="store_true",
                   help="run on a dask.distributed Client() with local worker processes")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    if args.big:
        args.rows = 100_000_000
    return args


def peak_rss_mb() -> float:
    # VmHWM is this program's own peak; ru_maxrss can carry the peak of the process
    # that started it (a large test runner) across fork and exec.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def generate(path: Path, rows: int, d: int, chunk_rows: int, seed: int = 0):
    """Write X (rows, d) and y = X w + b + noise to zarr, chunk by chunk; return (w, b)."""
    import zarr

    rng = np.random.default_rng(seed)
    w_true, b_true = rng.normal(size=d), 0.5
    X = da.random.default_rng(seed + 1).standard_normal((rows, d), chunks=(chunk_rows, d))
    noise = da.random.default_rng(seed + 2).normal(0, 0.1, size=rows, chunks=chunk_rows)
    y = X @ w_true + b_true + noise
    # random floats do not compress: store them raw (zarr 3 API, then zarr 2's)
    targets = []
    for name, a in (("X", X), ("y", y)):
        where, options = str(path / name), {"shape": a.shape, "chunks": a.chunksize, "dtype": "f8"}
        if hasattr(zarr, "create_array"):
            targets.append(zarr.create_array(where, compressors=None, **options))
        else:
            targets.append(zarr.open(where, mode="w", compressor=None, **options))
    da.store([X, y], targets, lock=False)  # one pass: each chunk of X also makes its y
    return w_true, b_true


def closed_form(X, y, use_lstsq: bool) -> np.ndarray:
    """Least squares [w, b] by Dask. ``dask.array.linalg.lstsq`` keeps its tall Q factor
    (as large as the data) in memory, so out of core the same tall-and-skinny QR is
    applied to [X, 1, y] and only its small R factor computed: its last column holds
    Q^T y, and w, b solve R[:-1, :-1] [w, b] = R[:-1, -1] (one pass, bounded memory)."""
    ones = da.ones((X.shape[0], 1), chunks=(X.chunks[0], 1))
    if use_lstsq:
        design = da.concatenate([X, ones], axis=1).rechunk({1: -1})
        return da.linalg.lstsq(design, y)[0].compute()
    augmented = da.concatenate([X, ones, y[:, None]], axis=1).rechunk({1: -1})
    r = da.linalg.qr(augmented)[1].compute()
    return np.linalg.solve(r[:-1, :-1], r[:-1, -1])


def disk_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    client = None
    if args.distributed:
        from dask.distributed import Client

        # local worker processes; the minigrad code below is the same as without them
        client = Client(n_workers=args.workers, threads_per_worker=1,
                        memory_limit=f"{args.memory_mb / args.workers:.0f}MB")
        print(f"dask.distributed: {client}")
    folder = args.dir or Path(tempfile.mkdtemp(prefix="minigrad_ooc_"))
    folder.mkdir(parents=True, exist_ok=True)
    data_path = folder / f"regression_{args.rows}x{args.features}.zarr"
    try:
        t0 = time.perf_counter()
        if not (data_path / "complete").exists():  # generate once; reuse with --dir
            if client is None:  # in a child process: the peak below is the fitting's own
                with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
                    pool.submit(generate, data_path, args.rows, args.features,
                                args.chunk_rows).result()
            else:
                generate(data_path, args.rows, args.features, args.chunk_rows)
            (data_path / "complete").touch()
        print(f"data: {args.rows:,} rows x {args.features} features, chunks of "
              f"{args.chunk_rows:,} rows, at {data_path} ({time.perf_counter() - t0:.1f} s)")
        X = da.from_zarr(str(data_path / "X"))
        y = da.from_zarr(str(data_path / "y"))
        size = disk_size(data_path)
        print(f"size on disk: {size / 2**20:,.1f} MiB; memory budget {args.memory_mb:,.0f} MiB "
              f"(data / budget = {size / 2**20 / args.memory_mb:.2f})")

        tracemalloc.start()
        t0 = time.perf_counter()
        gd = mg.models.LinearRegression(learning_rate=args.lr, n_iterations=args.gd_steps,
                                        optimizer="gd").fit(X, y)
        gd_time = time.perf_counter() - t0
        gd_traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.reset_peak()
        print(f"GD: {args.gd_steps} steps, {gd_time / args.gd_steps:.2f} s per step "
              f"(one pass over the data each), final loss {gd.history_[-1]:.6f}")

        t0 = time.perf_counter()
        sgd = mg.models.LinearRegression(learning_rate=args.sgd_lr, n_iterations=args.sgd_epochs,
                                         optimizer="sgd", batch_size=args.batch_size,
                                         random_state=0).fit(X, y)
        sgd_time = time.perf_counter() - t0
        sgd_traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        print(f"SGD: {args.sgd_epochs} epoch(s), {len(sgd.history_):,} minibatches of "
              f"{args.batch_size}, {sgd_time:.1f} s, final minibatch loss {sgd.history_[-1]:.6f}")

        t0 = time.perf_counter()
        use_lstsq = size / 2**20 < args.memory_mb / 4  # lstsq holds data-sized Q in memory
        coef = closed_form(X, y, use_lstsq)
        w_cf, b_cf = coef[:-1], coef[-1]
        how = "dask.array.linalg.lstsq" if use_lstsq else "R of dask.array.linalg.qr([X, 1, y])"
        print(f"closed form ({how}): {time.perf_counter() - t0:.1f} s")

        gd_err = max(np.abs(gd.weights - w_cf).max(), abs(gd.bias - b_cf))
        sgd_err = max(np.abs(sgd.weights - w_cf).max(), abs(sgd.bias - b_cf))
        print(f"agreement with closed form: GD max |diff| = {gd_err:.2e}, "
              f"SGD max |diff| = {sgd_err:.2e}")
        peak = peak_rss_mb()
        print(f"peak memory: RSS {peak:,.0f} MiB (whole process, Python and Dask included); "
              f"traced NumPy/Python peak {gd_traced:,.0f} MiB in GD, {sgd_traced:,.0f} MiB in SGD")
        generation = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if generation:
            print(f"data generation (a child process): peak RSS {generation:,.0f} MiB")
        if client is not None:  # the budget covers the client and its local workers
            workers = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
            print("worker peak RSS: " + ", ".join(f"{v / 1024:,.0f} MiB"
                                                 for v in workers.values()))
            peak += sum(workers.values()) / 1024
            print(f"client + workers: {peak:,.0f} MiB")
        ok = gd_err < 1e-4 and sgd_err < 0.05 and peak < args.memory_mb
        print("OK" if ok else "FAIL: agreement or memory outside the limits above")
        return 0 if ok else 1
    finally:
        if client is not None:
            client.close()
        if args.dir is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    dask.config.set({"array.chunk-size": "64MiB"})
    sys.exit(main())
