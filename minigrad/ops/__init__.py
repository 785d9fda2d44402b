"""The differentiable operations, one file per family.

Each op is a small :class:`~minigrad.engine.Function` subclass whose docstring
is its derivative, with ``forward`` (NumPy) and ``backward`` (minigrad ops) side
by side, followed by the public function that applies it.
"""
