"""mg.linalg (work in progress: filled in by its issue)."""


def inv(*args, **kwargs):
    raise NotImplementedError("inv is not implemented yet")


def det(*args, **kwargs):
    raise NotImplementedError("det is not implemented yet")


def slogdet(*args, **kwargs):
    raise NotImplementedError("slogdet is not implemented yet")


def solve(*args, **kwargs):
    raise NotImplementedError("solve is not implemented yet")


def norm(*args, **kwargs):
    raise NotImplementedError("norm is not implemented yet")


def eigh(*args, **kwargs):
    raise NotImplementedError("eigh is not implemented yet")


def eig(*args, **kwargs):
    raise NotImplementedError("eig is not implemented yet")

