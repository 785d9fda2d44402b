"""mg.losses (work in progress: filled in by its issue)."""


def mse(*args, **kwargs):
    raise NotImplementedError("mse is not implemented yet")


def mae(*args, **kwargs):
    raise NotImplementedError("mae is not implemented yet")


def huber(*args, **kwargs):
    raise NotImplementedError("huber is not implemented yet")


def binary_cross_entropy(*args, **kwargs):
    raise NotImplementedError("binary_cross_entropy is not implemented yet")


def binary_cross_entropy_with_logits(*args, **kwargs):
    raise NotImplementedError("binary_cross_entropy_with_logits is not implemented yet")


def cross_entropy(*args, **kwargs):
    raise NotImplementedError("cross_entropy is not implemented yet")


def kl_div(*args, **kwargs):
    raise NotImplementedError("kl_div is not implemented yet")


def entropy(*args, **kwargs):
    raise NotImplementedError("entropy is not implemented yet")

