"""mg.viz (work in progress: filled in by its issue)."""


def draw_graph(*args, **kwargs):
    raise NotImplementedError("draw_graph is not implemented yet")


def render(*args, **kwargs):
    raise NotImplementedError("render is not implemented yet")


def explain(*args, **kwargs):
    raise NotImplementedError("explain is not implemented yet")


def backward_steps(*args, **kwargs):
    raise NotImplementedError("backward_steps is not implemented yet")

