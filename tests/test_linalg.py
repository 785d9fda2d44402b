"""mg.linalg (and the other rows of tests/op_table_linalg.py): forward against NumPy,
gradients against central finite differences, and the named edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from tests.op_table import OpCase
from tests.op_table_linalg import LINALG_CASES, draw_linalg_inputs, draw_linalg_shapes
from tests.strategies import examples

ROWS = [pytest.param(case, kwargs, id=f"{case.name}-{i}")
        for case in LINALG_CASES for i, kwargs in enumerate(case.kwargs)]
SECOND = [row for row in ROWS if row.values[0].second_order]


def _draw(case: OpCase, data: st.DataObject, requires_grad: bool) -> list[mg.Tensor]:
    shapes = data.draw(draw_linalg_shapes(case), label="shapes")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    return [mg.tensor(a, requires_grad=requires_grad)
            for a in draw_linalg_inputs(rng, case, shapes)]


@pytest.mark.parametrize(("case", "kwargs"), ROWS)
@settings(max_examples=examples(10), deadline=None)
@given(data=st.data())
def test_forward_matches_numpy(case: OpCase, kwargs: dict, data: st.DataObject):
    inputs = _draw(case, data, requires_grad=False)
    out = case.fn(*inputs, **kwargs)
    if case.ref is None:
        scipy_special = pytest.importorskip("scipy.special")
        expected = scipy_special.digamma(inputs[0].data)
    else:
        expected = case.ref(*[t.data for t in inputs], **kwargs)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("case", "kwargs"), ROWS)
@settings(max_examples=examples(10), deadline=None)
@given(data=st.data())
def test_gradients_match_finite_differences(case: OpCase, kwargs: dict, data: st.DataObject):
    inputs = _draw(case, data, requires_grad=True)
    assert mg.gradcheck(lambda *xs: case.fn(*xs, **kwargs), inputs)


@pytest.mark.parametrize(("case", "kwargs"), SECOND)
@settings(max_examples=examples(5), deadline=None)
@given(data=st.data())
def test_second_derivatives(case: OpCase, kwargs: dict, data: st.DataObject):
    inputs = _draw(case, data, requires_grad=True)
    assert mg.gradgradcheck(lambda *xs: case.fn(*xs, **kwargs), inputs)


# -- closed forms ------------------------------------------------------------------


def test_gradient_of_det_is_det_times_inverse_transpose():
    a = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    mg.linalg.det(a).backward()
    np.testing.assert_allclose(a.grad.data, -2.0 * np.linalg.inv(a.data).T)
    np.testing.assert_allclose(a.grad.data, [[4.0, -3.0], [-2.0, 1.0]])  # the cofactors


def test_gradient_of_det_at_a_singular_matrix_is_the_adjugate():
    a = mg.tensor([[1.0, 2.0], [2.0, 4.0]], requires_grad=True)
    mg.linalg.det(a).backward()
    np.testing.assert_allclose(a.grad.data, [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)
    b = mg.tensor(np.zeros((3, 3)), requires_grad=True)
    mg.linalg.det(b).backward()
    np.testing.assert_allclose(b.grad.data, np.zeros((3, 3)), atol=1e-12)


def test_slogdet_sign_and_value():
    a = np.array([[[2.0, 0.0], [0.0, -3.0]], [[1.0, 2.0], [3.0, 4.0]]])
    sign, logabsdet = mg.linalg.slogdet(a)
    np.testing.assert_allclose(sign.data, [-1.0, -1.0])
    np.testing.assert_allclose(logabsdet.data, np.log([6.0, 2.0]))
    assert not sign.requires_grad


def test_solve_batched_matches_numpy_and_broadcasts():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 1, 3, 3)) + 3 * np.eye(3)
    b = rng.normal(size=(5, 3, 2))
    np.testing.assert_allclose(mg.linalg.solve(a, b).data, np.linalg.solve(a, b))
    assert mg.linalg.solve(a, np.ones(3)).shape == (4, 1, 3)


# -- eigendecompositions -----------------------------------------------------------------


def test_eig_of_the_seed_matrix():
    w, v = mg.linalg.eig(mg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    expected_w, expected_v = np.linalg.eig(np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_allclose(w.data, [(5 - math.sqrt(33)) / 2, (5 + math.sqrt(33)) / 2])
    np.testing.assert_allclose(w.data, expected_w)
    np.testing.assert_allclose(v.data, expected_v)
    np.testing.assert_allclose(np.linalg.norm(v.data, axis=0), [1.0, 1.0])


def test_eig_eigenvalue_gradient_closed_form():
    # d lambda_i / dA = u_i v_i^T with u_i the i-th row of V^-1 (left eigenvector)
    a = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    w, v = mg.linalg.eig(a)
    w[1].backward()
    v_np = v.data
    left = np.linalg.inv(v_np)[1]
    np.testing.assert_allclose(a.grad.data, np.outer(left, v_np[:, 1]), atol=1e-12)


def test_eigh_reads_only_the_lower_triangle():
    a = mg.tensor([[2.0, 100.0], [1.0, 3.0]], requires_grad=True)  # upper entry ignored
    w, _ = mg.linalg.eigh(a)
    np.testing.assert_allclose(w.data, np.linalg.eigvalsh([[2.0, 1.0], [1.0, 3.0]]))
    w.sum().backward()
    np.testing.assert_allclose(a.grad.data, [[1.0, 0.0], [0.0, 1.0]], atol=1e-12)  # trace
    upper = mg.tensor([[2.0, 1.0], [-7.0, 3.0]], requires_grad=True)
    mg.linalg.eigh(upper, UPLO="U")[0][1].backward()
    assert upper.grad.data[1, 0] == 0.0


def test_eigh_gradient_of_a_symmetric_input_matches_pytorch_convention():
    # Through a symmetric parametrization S = X + X^T, both conventions agree.
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.normal(size=(3, 3)), requires_grad=True)
    c = rng.normal(size=(3, 3))
    assert mg.gradcheck(lambda t: mg.linalg.eigh(t + t.T)[1] ** 2 * c, [x])


def test_repeated_eigenvalues_warn_and_stay_finite():
    a = mg.tensor(np.eye(3) * 2.0, requires_grad=True)
    w, v = mg.linalg.eigh(a)
    with pytest.warns(mg.linalg.DegenerateEigenvaluesWarning, match="eigh: eigenvalues"):
        (v ** 2).sum().backward()
    assert np.all(np.isfinite(a.grad.data))
    # eigenvalues alone: a symmetric function of the group (the sum) is exact, no warning
    b = mg.tensor(np.eye(3), requires_grad=True)
    mg.linalg.eigh(b)[0].sum().backward()
    np.testing.assert_allclose(b.grad.data, np.eye(3))


def test_projector_onto_a_repeated_eigenspace_has_the_right_gradient():
    # P = v1 v1^T + v2 v2^T for the repeated eigenvalue pair is basis independent.
    def projector(t):
        v = mg.linalg.eigh(t + t.T)[1]
        return mg.matmul(v[:, :2], v[:, :2].T)

    x = mg.tensor(np.diag([0.5, 0.5, 2.0]) + 0.0, requires_grad=True)
    with pytest.warns(mg.linalg.DegenerateEigenvaluesWarning):
        out = projector(x)
        (out * np.arange(9.0).reshape(3, 3)).sum().backward()
    assert np.all(np.isfinite(x.grad.data))


def test_eig_with_complex_spectrum_raises():
    with pytest.raises(ValueError, match="eig: .*complex eigenvalues.*eigh"):
        mg.linalg.eig(mg.tensor([[0.0, -1.0], [1.0, 0.0]]))


# -- bad inputs ---------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [mg.linalg.inv, lambda a: mg.linalg.solve(a, np.ones(2))])
def test_singular_matrix_raises_linalg_error_naming_the_function(fn):
    singular = mg.tensor([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(np.linalg.LinAlgError, match=r"^(inv|solve): the matrix .* singular"):
        fn(singular)


def test_slogdet_gradient_at_singular_matrix_raises():
    a = mg.tensor([[1.0, 2.0], [2.0, 4.0]], requires_grad=True)
    sign, logabsdet = mg.linalg.slogdet(a)
    assert sign.item() == 0.0 and logabsdet.item() == -np.inf
    with pytest.raises(mg.linalg.LinAlgError, match="slogdet: .*singular"):
        logabsdet.backward()


@pytest.mark.parametrize("fn", [mg.linalg.inv, mg.linalg.det, mg.linalg.eigh, mg.linalg.eig,
                                mg.linalg.slogdet])
def test_non_square_input_raises(fn):
    with pytest.raises(ValueError, match=r"expected a square matrix .* shape \(2, 3\)"):
        fn(mg.tensor(np.ones((2, 3))))


def test_solve_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r"solve: a has shape \(2, 2\) but b has shape \(3,\)"):
        mg.linalg.solve(np.eye(2), np.ones(3))


def test_norm_bad_arguments():
    with pytest.raises(ValueError, match="norm: ord='fro' is a matrix norm"):
        mg.linalg.norm(mg.tensor([1.0, 2.0]), ord="fro", axis=0)
    with pytest.raises(ValueError, match="norm: matrix ord='nuc' is not supported"):
        mg.linalg.norm(mg.tensor(np.eye(2)), ord="nuc")
    with pytest.raises(ValueError, match="norm: ord=1 with axis=None needs a 1-D or 2-D"):
        mg.linalg.norm(mg.tensor(np.ones((2, 2, 2))), ord=1)


def test_norm_gradient_at_zero_is_zero_not_nan():
    x = mg.tensor([0.0, 0.0], requires_grad=True)
    mg.linalg.norm(x).backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])


def test_eigh_bad_uplo():
    with pytest.raises(ValueError, match="eigh: UPLO must be 'L' or 'U'"):
        mg.linalg.eigh(np.eye(2), UPLO="X")


@pytest.mark.parametrize("fn", [mg.linalg.inv, mg.linalg.det, lambda a: mg.linalg.slogdet(a)[1],
                                lambda a: mg.linalg.solve(a, np.ones(3, np.float32)),
                                mg.linalg.norm, lambda a: mg.linalg.eigh(a)[1],
                                lambda a: mg.linalg.eig(a)[0], mg.median, mg.cov, mg.corrcoef])
def test_float32_stays_float32(fn):
    a = mg.tensor(np.diag([1.0, 3.0, 5.0]) + 0.1, dtype=np.float32, requires_grad=True)
    out = fn(a)
    assert out.dtype == np.float32
    out.sum().backward()
    assert a.grad.dtype == np.float32 and np.all(np.isfinite(a.grad.data))
