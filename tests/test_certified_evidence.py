"""The proven conservation rows of the evidence (DL-2, DL-3, DL-5, MF-2): ``ε`` bounds the change
of the conserved quantity on a certified enclosure, the planted wrong law is proven to move,
and both agree with an independent uncertified run at higher precision (two routes).  Also
the ball tools behind them (:func:`ball_value`, :func:`proven_changes`, :func:`bound_text`)."""
from fractions import Fraction as F

import flint
import mpmath
import pytest
import sympy as sp

from numerics.core.certified import (ball_value, bound_text, certified_integrate,
                                     proven_changes)
from numerics.core.taylor import TaylorError, TaylorSystem, integrate
from numerics.deep_lda import evidence as dl
from numerics.deep_lda.data import gaussian_two_class
from numerics.deep_lda.simulate import layer_init
from numerics.mirror_flow import evidence as mf
from numerics.mirror_flow.mirror import MirrorProblem, MpVector, mirror_flow
from numerics.mirror_flow.mirror_map import catalogue_potential
from reports.build import REPORTS, render_tex

T_SHORT = F(1, 8)


def as_ball(value, prec=400):
    with flint.ctx.workprec(prec):
        return flint.arb(mpmath.nstr(value, 60))


def assert_row(row, *, eps_below, planted_above):
    assert tuple(row) == dl.ROW_KEYS and all(isinstance(v, str) for v in row.values())
    assert "proven" in row["quantity"] and "certified" in row["precision"]
    assert float(row["drift"]) < eps_below
    assert float(row["falsifier_drift"]) > planted_above


def observed_change(expr, symbols, y_start, y_end, dps=60):
    """The change of ``expr`` between two (uncertified) states, in mpmath."""
    fn = sp.lambdify(symbols, expr, modules="mpmath")
    with mpmath.workdps(dps):
        return fn(*y_end) - fn(*y_start)


# --------------------------------------------------------------------------- Deep LDA

@pytest.fixture(scope="module")
def dl_runs():
    data = gaussian_two_class(2, seed=1)
    return {
        "layer": dl._CertifiedRun("layer", layer_init(3, 2, seed=2, init="unbalanced"), T_SHORT,
                                  data, 30),
        "reduced": dl._CertifiedRun("reduced", layer_init(3, 2, seed=2), T_SHORT, data, 30),
    }


def _check_against_uncertified(run, exprs):
    """Every proven change ball contains the change seen by integrate at 50 digits."""
    flow = run.flow
    params = [run.params[p] for p in flow.params]
    sharp = integrate(flow.system(), run.y0, run.T, dps=50, params=params)
    symbols = list(flow.state) + list(flow.params)
    with mpmath.workdps(60):
        start = [mpmath.mpf(sp.Rational(v).p) / sp.Rational(v).q for v in run.y0 + params]
        end = list(sharp.y[-1]) + start[len(run.y0):]
    for expr, ball in zip(exprs, run.changes(exprs)):
        seen = observed_change(expr, symbols, start, end)
        with flint.ctx.workprec(400):
            assert (ball - as_ball(seen)).contains(0), (expr, ball, seen)


def test_dl2_dl3_rows_bound_the_laws_and_refute_the_planted_ones(dl_runs):
    run = dl_runs["layer"]
    u = run.flow.state
    gaps4 = [u[i] ** 4 - u[l * 2 + i] ** 4 for l in (1, 2) for i in range(2)]
    norm_w = [sum(w ** 2 for w in run.flow.w)]
    assert_row(run.row("gaps", "DL-2", "u^4", gaps4, "unbalanced"), eps_below=1e-26,
               planted_above=1e-4)
    assert_row(run.row("norms", "DL-3", "|w|^2", norm_w, "unbalanced"), eps_below=1e-26,
               planted_above=1e-4)
    _check_against_uncertified(run, run.monitors("DL-2") + run.monitors("DL-3") + gaps4 + norm_w)


def test_dl5_row_on_the_reduced_flow(dl_runs):
    run = dl_runs["reduced"]
    from derivations.diagonal import quasi_norm
    wrong = [quasi_norm(sp.Matrix(run.flow.w), 4)]
    row = run.row("Q", "DL-5", "Q_4", wrong, "balanced")
    assert_row(row, eps_below=1e-26, planted_above=1e-4)
    assert row["quantity"].startswith(r"$|h(w(T)) - h(w(0))|")
    _check_against_uncertified(run, run.monitors("DL-5") + wrong)


def test_proven_rows_render_in_the_report(dl_runs):
    run = dl_runs["layer"]
    row = run.row(r"$h = \|u_l\|^2$", "DL-3", r"$\|w\|^2$", [sum(w ** 2 for w in run.flow.w)],
                  "unbalanced")
    result = {"id": "DL-3", "title": "layer norms", "group": "DL", "statement": "", "scope": "",
              "assumptions": [], "verdict": "verified", "ok": True, "error": None,
              "seconds": 0.0, "steps": [], "falsifiers": [], "evidence": [row]}
    tex = render_tex(REPORTS["deep_lda"], [result], name="deep_lda")
    assert tex.isascii() and r"\le \varepsilon" in tex and r"\mathrm{enclosure}" in tex


# --------------------------------------------------------------------------- mirror flow (MF-2)

def test_mf2_row_bounds_the_balances_and_refutes_the_euclidean_one():
    net, data, th0 = mf.mf2_setup("squared_relu")
    label, name, params = mf.MF2_POTENTIALS[0]
    pr = MirrorProblem(net, data, catalogue_potential(name, **params))
    row = mf._mf2_proven(pr, th0, f"2-layer squared_relu, {label}", T_SHORT)
    assert set(row) == set(dl.ROW_KEYS) and all(isinstance(v, str) for v in row.values())
    assert float(row["drift"]) < 1e-27 < 1e-3 < float(row["falsifier_drift"])
    # the same balls against an uncertified run at 50 digits
    y0 = [sp.Rational(v.numerator, v.denominator) for v in th0]
    res = certified_integrate(pr.taylor_system("primal"), y0, T_SHORT, dps=30)
    sharp = mirror_flow(pr, th0, T_SHORT, dps=50)
    with mpmath.workdps(60):
        start = [mpmath.mpf(v.numerator) / v.denominator for v in th0]
        seen = [b - a for a, b in zip(pr.euclidean_balances(MpVector(start, 50)),
                                      pr.euclidean_balances(sharp.theta[-1]))]
    euclid = pr.balances(pr.theta_syms, G=lambda t: t * t / 2)
    for ball, value in zip(proven_changes(res, euclid, y0), seen):
        with flint.ctx.workprec(400):
            assert (ball - as_ball(value)).contains(0)
    assert len(euclid) == len(net.units) == 2


# --------------------------------------------------------------------------- the ball tools

def test_ball_value_encloses_and_refuses():
    x, y = sp.symbols("x y", real=True)
    with flint.ctx.workprec(200):
        X = {x: flint.arb("0.5", "1e-30"), y: flint.arb(-2)}
        v = ball_value(sp.sinh(x) * sp.Abs(y) ** sp.Rational(2, 3) + sp.sqrt(2) * y / x, X, 200)
        exact = flint.arb("0.5").sinh() * flint.arb(2) ** (flint.arb(2) / 3) \
            - 4 * flint.arb(2).sqrt()
        assert v.contains(exact) and v.rad() < 1e-25
        assert ball_value(sp.sign(y) * x, X, 200).contains(-flint.arb("0.5"))
        wide = {x: flint.arb(0, 1), y: flint.arb(1)}
        with pytest.raises(TaylorError, match="sign"):
            ball_value(sp.sign(x), wide, 200)
        with pytest.raises(TaylorError, match="no finite enclosure"):
            ball_value(sp.log(x), wide, 200)
        with pytest.raises(ValueError, match="no ball for the symbol"):
            ball_value(x + sp.Symbol("z"), X, 200)


def test_bound_text_rounds_outward():
    with flint.ctx.workprec(200):
        b = [flint.arb("3.14159e-29", "1e-40"), flint.arb("-1e-30")]
        assert bound_text(b) == "3.2e-29" and bound_text(b, "lower") == "3.1e-29"
        assert bound_text([flint.arb(0, "1e-5")], "lower") == "0"
        assert float(bound_text([flint.arb(0, "1e-5")])) >= 1e-5
    with pytest.raises(ValueError, match="which"):
        bound_text(b, "middle")


def test_proven_changes_needs_an_enclosure():
    y = sp.Symbol("y")
    r = integrate(TaylorSystem([y], [-y]), ["1"], 1, dps=20)
    with pytest.raises(ValueError, match="no enclosure"):
        proven_changes(r, [y], ["1"])
