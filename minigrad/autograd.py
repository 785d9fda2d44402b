"""mg.autograd: grad, jacobian, hessian, detect_anomaly (work in progress: filled in by its issue)."""


def grad(*args, **kwargs):
    raise NotImplementedError("grad is not implemented yet")


def jacobian(*args, **kwargs):
    raise NotImplementedError("jacobian is not implemented yet")


def hessian(*args, **kwargs):
    raise NotImplementedError("hessian is not implemented yet")


def detect_anomaly(*args, **kwargs):
    raise NotImplementedError("detect_anomaly is not implemented yet")

