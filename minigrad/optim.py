"""mg.optim (work in progress: filled in by its issue)."""


def minimize(*args, **kwargs):
    raise NotImplementedError("minimize is not implemented yet")

