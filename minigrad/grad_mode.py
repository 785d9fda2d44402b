"""Grad mode: whether new operations are recorded, one flag per thread (as PyTorch).

``mg.no_grad()`` and ``mg.enable_grad()`` set it for a block or a function;
``engine.py`` reads it in ``Function.apply`` and sets it around each backward.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any


class _State(threading.local):
    grad_enabled = True  # the class attribute is every thread's default


_state = _State()


def is_grad_enabled() -> bool:
    """True when new operations are recorded for backward (the default)."""
    return _state.grad_enabled


def set_grad_enabled(mode: bool) -> None:
    _state.grad_enabled = bool(mode)


class _GradMode:
    """Context manager and decorator that sets grad mode for this thread."""

    enabled = True

    def __enter__(self) -> None:
        self._previous = is_grad_enabled()
        set_grad_enabled(self.enabled)

    def __exit__(self, *exc: object) -> None:
        set_grad_enabled(self._previous)

    def __call__(self, func: Callable) -> Callable:
        mode = type(self)  # a fresh instance per call: safe under recursion and threads
        if inspect.isgeneratorfunction(func):  # the mode holds while the generator runs
            @functools.wraps(func)
            def generator(*args: Any, **kwargs: Any) -> Any:
                gen, sent = func(*args, **kwargs), None
                while True:
                    with mode():
                        try:
                            item = gen.send(sent)
                        except StopIteration as stop:
                            return stop.value
                    try:
                        sent = yield item
                    except GeneratorExit:
                        gen.close()
                        raise
            return generator

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with mode():
                return func(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Operations inside record no graph: ``with mg.no_grad(): ...`` or ``@mg.no_grad()``."""

    enabled = False


class enable_grad(_GradMode):
    """Turn recording back on inside a ``no_grad`` block (or as a decorator)."""

    enabled = True
