"""Keep freed array memory in the process for the next step (Linux with glibc only).

An autograd step allocates every intermediate array anew and frees the whole
graph at the end of the step. glibc's malloc hands large blocks straight back to
the operating system (arrays over 128 KiB are mmap-ed, and a free top of the heap
is trimmed), so the next step asks for the same memory again and every page of
it is faulted in and zeroed by the kernel. Measured on the W2 benchmark (an MLP,
batch 256) in a plain process: 90 page faults per step in float32 and 320 in
float64, up to a third of the step's time (how many depends on the heap's
history: ``python -m benchmarks.diagnostics faults``); hand-written NumPy, which
works in place, has about 2.

So at import minigrad raises two malloc thresholds: blocks up to 32 MiB come
from the heap, and up to 64 MiB of free heap is kept instead of trimmed. The
cost is that the process's resident memory stays near its peak. The setting is
process-wide; ``MINIGRAD_MALLOC=default`` in the environment leaves malloc alone.
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

applied = False  # whether keep_freed_memory() changed the settings


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds; True if they were changed."""
    global applied
    if os.environ.get("MINIGRAD_MALLOC", "").strip().lower() in ("default", "0", "off"):
        return False
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    applied = (mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
               and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)
    return applied
