"""Optimizers, learning-rate schedules and ``minimize``: ``mg.optim``.

An optimizer holds parameters (Tensors that require grad). The training loop
is always the same four lines::

    opt.zero_grad()          # forget the previous gradients
    loss = compute_loss()    # forward: builds the graph
    loss.backward()          # fills p.grad for every parameter
    opt.step()               # p.data -= (something) * p.grad, in place

**GD versus SGD** (the seed notes' first interview question): the update rule
is the same; what differs is the data behind ``loss``. Gradient descent takes
one step per pass over the *full* dataset (the exact gradient); stochastic
gradient descent takes one step per random *minibatch* (a noisy, cheap
estimate of it), so it makes many steps per pass. ``GD`` and ``SGD`` are the
update rules; ``mg.data.DataLoader`` supplies full batches or minibatches, and
``mg.models.LinearRegression(optimizer="gd" | "sgd")`` shows both.

``optimizers.py`` holds the update rules (GD, SGD, Adam, AdamW, RMSprop,
Adagrad), each exactly ``torch.optim``'s for the same settings (checked
against PyTorch in ``tests/test_optim.py``); ``lr_scheduler.py`` the
schedules (``mg.optim.lr_scheduler.StepLR`` ...); ``minimizer.py``
:func:`minimize`.

>>> import minigrad as mg
>>> w = mg.tensor([1.0, -2.0], requires_grad=True)
>>> opt = mg.optim.AdamW([w], lr=0.1)
>>> sched = mg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
>>> for _ in range(4):
...     opt.zero_grad()
...     (w * w).sum().backward()
...     opt.step()
...     sched.step()
>>> sched.get_last_lr()
[0.025]
"""

from minigrad.optim import lr_scheduler
from minigrad.optim.minimizer import MinimizeResult, minimize
from minigrad.optim.optimizers import GD, SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

__all__ = ["GD", "SGD", "Adagrad", "Adam", "AdamW", "MinimizeResult", "Optimizer", "RMSprop",
           "lr_scheduler", "minimize"]
