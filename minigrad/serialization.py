"""``mg.save`` / ``mg.load``: state dicts as NumPy ``.npz`` files, never pickle.

A pickle file can run arbitrary code when loaded; an ``.npz`` file read with
``allow_pickle=False`` holds only plain numeric arrays, so loading a file from
someone else is safe: a truncated, foreign or malicious file is an error that
says so, and runs nothing.

>>> import os, tempfile
>>> import minigrad as mg
>>> model = mg.nn.Linear(2, 1, rng=0)
>>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
>>> mg.save(model.state_dict(), path)
>>> sorted(mg.load(path))
['bias', 'weight']
"""

from __future__ import annotations

import os
import zipfile
from typing import Any

import numpy as np

from minigrad.tensor import Tensor

__all__ = ["load", "save"]


def save(state_dict: dict[str, Any], path: str | os.PathLike) -> None:
    """Write ``state_dict`` (names -> arrays or Tensors) to ``path`` as ``.npz``.

    Only numeric and bool arrays are accepted (nothing that would need pickle).
    NumPy adds the ``.npz`` suffix when ``path`` lacks it.
    """
    if not isinstance(state_dict, dict):
        raise TypeError(f"save: expected a dict of name -> array (e.g. model.state_dict()), "
                        f"got {type(state_dict).__name__}.")
    arrays = {}
    for key, value in state_dict.items():
        if not isinstance(key, str) or not key or "/" in key:
            raise ValueError(f"save: key {key!r} must be a non-empty string without '/'.")
        array = value.data if isinstance(value, Tensor) else np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"save: '{key}' has dtype {array.dtype}; only numeric and bool "
                            "arrays can be saved (no pickled objects).")
        arrays[key] = array
    _write_npz(path, arrays)


def _write_npz(path: str | os.PathLike | Any, arrays: dict[str, np.ndarray]) -> None:
    """The ``.npz`` format (a zip of ``.npy`` files), written directly. ``np.savez(path,
    **arrays)`` would take a key named ``file`` or ``allow_pickle`` as its own argument:
    a TypeError, or an array silently dropped."""
    if isinstance(path, (str, os.PathLike)):
        path = os.fspath(path)
        if not path.endswith(".npz"):
            path += ".npz"  # as np.savez
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, array in arrays.items():
            with archive.open(key + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a state dict written by :func:`save`; the arrays are loaded into memory.

    A file that is not a complete ``.npz`` archive of plain arrays raises
    ``ValueError`` naming the file; pickled content is refused, never run.
    """
    try:
        with open(path, "rb") as fh:  # our handle: closed even when the file is broken
            archive = np.load(fh, allow_pickle=False)
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise ValueError("it holds a single .npy array, not an .npz archive")
            with archive:
                return {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(
            f"load: {os.fspath(path)!r} is not a valid minigrad .npz file (truncated, "
            f"corrupted, another format, or containing pickled objects): "
            f"{str(exc).rstrip('.')}. Save with mg.save(model.state_dict(), path).") from None
