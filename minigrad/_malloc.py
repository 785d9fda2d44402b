"""``mg.set_allocator_cache()``: keep freed array memory in the process (glibc only).

An autograd step allocates every intermediate array anew and frees the whole
graph at the end of the step. glibc's malloc hands large blocks straight back to
the operating system (arrays over 128 KiB are mmap-ed, and a free top of the heap
is trimmed), so the next step asks for the same memory again and every page of
it is faulted in and zeroed by the kernel. Measured on the W2 benchmark (an MLP,
batch 256) in a plain process: 90 page faults per step in float32 and 320 in
float64 (``python -m benchmarks.diagnostics faults``); hand-written NumPy, which
works in place, has about 2.

:func:`set_allocator_cache` raises two malloc thresholds: blocks up to 32 MiB
come from the heap, and up to 64 MiB of free heap is kept instead of trimmed.
The cost is that the process's resident memory stays near its peak, and the
setting is process-wide (it applies to every allocation of the program, not
only minigrad's), so it is an explicit opt-in: importing minigrad never does
it. The benchmarks and the ``minigrad`` command turn it on; so does
``MINIGRAD_MALLOC=keep`` in the environment, at import.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 << 20  # the largest glibc accepts on 64-bit systems
TRIM_THRESHOLD = 64 << 20

applied = False  # whether set_allocator_cache() changed the settings in this process


def set_allocator_cache() -> bool:
    """Keep freed array memory for the next training step (process-wide, glibc only).

    Returns True if the settings were changed, False where there is no glibc
    (macOS, Windows, musl) -- then nothing happens. There is no undo: call it
    at the start of a program that trains, as the benchmarks do.

    >>> import minigrad as mg
    >>> mg.set_allocator_cache() in (True, False)
    True
    """
    global applied
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    applied = (mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
               and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)
    return applied


keep_freed_memory = set_allocator_cache  # the name benchmarks/ used before


def requested_by_environment() -> bool:
    """``MINIGRAD_MALLOC=keep`` (or 1/on) asks for the setting at import."""
    return os.environ.get("MINIGRAD_MALLOC", "").strip().lower() in ("keep", "1", "on", "yes")
