"""median, cov, corrcoef (work in progress: filled in by its issue)."""


def median(*args, **kwargs):
    raise NotImplementedError("median is not implemented yet")


def cov(*args, **kwargs):
    raise NotImplementedError("cov is not implemented yet")


def corrcoef(*args, **kwargs):
    raise NotImplementedError("corrcoef is not implemented yet")

