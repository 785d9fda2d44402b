"""save and load (work in progress: filled in by its issue)."""


def save(*args, **kwargs):
    raise NotImplementedError("save is not implemented yet")


def load(*args, **kwargs):
    raise NotImplementedError("load is not implemented yet")

