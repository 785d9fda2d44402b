"""Neural-network building blocks: ``mg.nn``.

``modules.py`` holds :class:`Module`, ``Linear``, ``Sequential`` and ``MLP``;
``containers.py`` ``ModuleList`` and ``ModuleDict``; ``layers.py`` the other
layers; ``functional.py`` their stateless functions (``mg.nn.functional``);
``init.py`` weight initialisers; ``utils.py`` gradient clipping.
"""

from minigrad.nn.containers import ModuleDict, ModuleList
from minigrad.nn.modules import MLP, Linear, Module, ReLU, Sequential, Sigmoid, Tanh

__all__ = ["MLP", "Linear", "Module", "ModuleDict", "ModuleList", "ReLU", "Sequential", "Sigmoid",
           "Tanh"]

# mg.nn.functional, mg.nn.init, mg.nn.utils (gradient clipping)
from minigrad.nn import functional, init, utils  # noqa: E402
from minigrad.nn.attention import MultiheadAttention, TransformerBlock  # noqa: E402
from minigrad.nn.layers import (  # noqa: E402
    GELU,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv1d,
    Conv2d,
    Dropout,
    Embedding,
    Flatten,
    LayerNorm,
    LeakyReLU,
    MaxPool2d,
    SiLU,
    Softplus,
)

__all__ += [  # the layers of layers.py and attention.py
    "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv1d", "Conv2d", "Dropout", "Embedding",
    "Flatten", "GELU", "LayerNorm", "LeakyReLU", "MaxPool2d", "MultiheadAttention", "SiLU",
    "Softplus", "TransformerBlock", "functional", "init",
]
__all__ += ["utils"]
