"""Neural-network building blocks: ``mg.nn``.

``modules.py`` holds :class:`Module` and the layers; ``functional.py`` the
layers' stateless functions (``mg.nn.functional``); ``init.py`` weight
initialisers; ``utils.py`` gradient clipping.
"""

from minigrad.nn.modules import MLP, Linear, Module, ReLU, Sequential, Sigmoid, Tanh

__all__ = ["MLP", "Linear", "Module", "ReLU", "Sequential", "Sigmoid", "Tanh"]
