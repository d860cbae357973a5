"""The two margin losses of the mirror-flow numerics and their derivatives, checked fast.

Reference: ``ℓ(q) = e^{−q}`` and ``ℓ(q) = log(1 + e^{−q})`` written here independently,
differentiated by sympy and evaluated by mpmath at 400 digits; every numpy and mpmath
kernel of :mod:`numerics.mirror_flow.mirror` (log ℓ, log(−ℓ'), d/dq log(−ℓ'), −ℓ') must match it at
margins from −40 to 300, where the naive formulas under- or overflow.  A sign flip or a
swapped loss in any kernel fails here in well under a second.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from numerics.mirror_flow import mirror

q = sp.Symbol("q", real=True)
REFERENCE = {"exp": sp.exp(-q), "logistic": sp.log(1 + sp.exp(-q))}
MARGINS = [-40, -3, -0.5, 0, 0.7, 5, 35, 300]


def reference(loss: str, which: str, value: float) -> mpmath.mpf:
    ell = REFERENCE[loss]
    expr = {"log ell": sp.log(ell), "log -ell'": sp.log(-sp.diff(ell, q)),
            "dlog -ell'": sp.diff(sp.log(-sp.diff(ell, q)), q), "-ell'": -sp.diff(ell, q)}[which]
    with mpmath.workdps(400):   # enough that 1 + e^-300 keeps its last term
        return +sp.lambdify(q, expr, "mpmath")(mpmath.mpf(value))


@pytest.mark.parametrize("loss", list(REFERENCE))
def test_symbolic_loss_and_its_negative_derivative(loss):
    assert sp.simplify(mirror._loss_expr(q, loss) - REFERENCE[loss]) == 0
    assert sp.simplify(mirror._neg_dloss_expr(q, loss) + sp.diff(REFERENCE[loss], q)) == 0


@pytest.mark.parametrize("loss", list(REFERENCE))
@pytest.mark.parametrize("which, kernel", [("log ell", mirror._np_log_ell),
                                           ("log -ell'", mirror._np_log_neg_dloss),
                                           ("dlog -ell'", mirror._np_dlog_neg_dloss)])
def test_float64_kernels_match_the_reference(loss, which, kernel):
    got = kernel(np.array(MARGINS, dtype=float), loss)
    expected = [float(reference(loss, which, v)) for v in MARGINS]
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-300), (got, expected)


@pytest.mark.parametrize("loss", list(REFERENCE))
@pytest.mark.parametrize("which, kernel", [("log ell", mirror._mp_log_ell), ("-ell'", mirror._mp_neg_dloss)])
def test_mpmath_kernels_match_the_reference_at_40_digits(loss, which, kernel):
    with mpmath.workdps(40):
        for v in MARGINS:
            expected = reference(loss, which, v)
            assert abs(kernel(mpmath.mpf(v), loss) - expected) <= mpmath.mpf(10) ** -38 * abs(expected), (v, which)
