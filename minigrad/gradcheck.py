"""Finite differences and gradient checks (work in progress: filled in by its issue)."""


def numerical_grad(*args, **kwargs):
    raise NotImplementedError("numerical_grad is not implemented yet")


def gradcheck(*args, **kwargs):
    raise NotImplementedError("gradcheck is not implemented yet")


def gradgradcheck(*args, **kwargs):
    raise NotImplementedError("gradgradcheck is not implemented yet")

class GradcheckError(AssertionError):
    pass
