"""The claim engine: the two routes, the verdict rule, planted errors and honest 'undecided'."""

import sympy as sp

from derivations.claims import Claim, Falsifier, Step, chain, check_claim, check_step
from derivations.deep_lda import dl4_instance
from derivations.zerotest import numeric_route, symbolic_route

x = sp.Symbol("x", positive=True)
y = sp.Symbol("y", real=True)


def test_true_identity_is_verified_by_both_routes():
    result = check_step(Step((x + 1) ** 2, x**2 + 2 * x + 1, "binomial"))
    assert (result.verdict, result.symbolic, result.numeric.verdict) == ("verified", "zero", "zero")
    assert result.numeric.exact_points == result.numeric.points > 0


def test_false_identity_is_refuted_with_an_exact_counterexample():
    result = check_step(Step((x + 1) ** 2, x**2 + 1, "forgot the cross term"))
    assert result.verdict == "refuted"
    point = {sp.Symbol(k, positive=True): sp.Rational(v) for k, v in result.numeric.counterexample.items()}
    assert ((x + 1) ** 2 - x**2 - 1).xreplace(point) == sp.Rational(result.numeric.value) != 0


def test_irrational_values_are_decided_in_ball_arithmetic():
    z = sp.Symbol("z", positive=True)
    true = numeric_route(sp.log(x * z) - sp.log(x) - sp.log(z))  # log(6) - log(2) - log(3) stays unevaluated
    assert true.verdict == "zero" and true.ball_points > 0
    nearly = numeric_route(x ** sp.Rational(1, 3) - x ** sp.Rational(1, 3) * (1 + sp.Rational(1, 10**40)))
    assert nearly.verdict == "nonzero"  # a relative error of 1e-40 is still caught by the ball


def test_simplify_alone_never_decides():
    """A symbolic 'unknown' with numeric 'zero' stays undecided: the verdict needs both routes."""
    hard = sp.Function("f")(x) - sp.Function("f")(x) * (sp.sin(x) ** 2 + sp.cos(x) ** 2)
    assert symbolic_route(hard) == "zero"
    result = check_step(Step(sp.gamma(x + 1), x * sp.gamma(x), "functional equation"))
    assert result.verdict == "undecided"  # no ball enclosure for gamma: said, not hidden
    assert result.symbolic == "zero" and result.numeric.verdict == "undecided"


def test_relations_use_sign_of_the_difference():
    assert check_step(Step((x - 1) ** 2, 0, "square", relation=">=")).verdict == "verified"
    refuted = check_step(Step(x - 1, 0, "not always", relation=">="))
    assert refuted.verdict == "refuted" and sp.Rational(refuted.numeric.counterexample["x"]) < 1


def test_matrix_steps_are_checked_entrywise():
    good = Step(sp.Matrix([x * y, y]), sp.Matrix([y * x, y]), "commutativity")
    bad = Step(sp.Matrix([x * y, y]), sp.Matrix([y * x, 2 * y]), "wrong second entry")
    assert check_step(good).verdict == "verified" and check_step(bad).verdict == "refuted"


def test_planted_wrong_exponent_in_dl4_is_refuted_with_a_counterexample():
    L = 3
    assert check_step(dl4_instance(L, 2)).verdict == "verified"
    planted = check_step(dl4_instance(L, 2, exponent=2 - sp.Rational(1, L)))
    assert planted.verdict == "refuted"
    assert planted.numeric.counterexample and planted.numeric.value


def test_claim_verdicts_and_falsifier_bookkeeping():
    steps = chain(x * (x + 1), (x**2 + x, "expand"), (x * x + x, "rewrite"))
    claim = Claim("T-1", "toy", "toy", [("positive", "x > 0")], lambda: steps,
                  [Falsifier("positive", "x of any sign", lambda: Step(sp.sqrt(y**2), y, "sqrt"))])
    result = check_claim(claim)
    assert result.verdict == "verified" and result.ok
    document = result.to_json()
    assert document["falsifiers"][0]["falsified"] is True
    assert {s["verdict"] for s in document["steps"]} == {"verified"}

    planted = Claim("T-2", "toy", "toy", [], lambda: chain(x * (x + 1), (x**2 + 1, "wrong")))
    assert check_claim(planted).verdict == "refuted" and not check_claim(planted).ok


def test_a_falsifier_that_does_not_fail_makes_the_claim_not_ok():
    claim = Claim("T-3", "toy", "toy", [("a", "b")], lambda: [Step(x, x, "trivial")],
                  [Falsifier("a", "nothing changes", lambda: Step(x, x, "still true"))])
    result = check_claim(claim)
    assert result.verdict == "verified" and not result.ok


def test_broken_derivation_is_reported_not_raised():
    def broken():
        raise RuntimeError("model failed")

    result = check_claim(Claim("T-4", "toy", "toy", [], broken))
    assert result.verdict == "undecided" and "model failed" in result.error
