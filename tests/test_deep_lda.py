"""Deep LDA claims: the registry as a whole, and hypothesis-drawn exact instances.

The property tests do NOT reuse the sympy models: they recompute the layer flow, the
reduced flow and the quasi-norm with exact ``Fraction`` arithmetic on random rational
data (depth, dimension, positive definite scatter, balanced or unbalanced layers with
random signs), a second, independent route to the same identities.
"""

from fractions import Fraction
from math import prod

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from derivations import registry
from derivations.claims import check_claim

small = st.fractions(min_value=-3, max_value=3, max_denominator=7)
magnitude = st.fractions(min_value=Fraction(1, 7), max_value=3, max_denominator=7)


@pytest.fixture(scope="module")
def dl_results():
    return {c.id: check_claim(c) for c in registry.select(["DL"])}


def test_every_dl_claim_is_verified_and_every_falsifier_fails(dl_results):
    assert set(dl_results) == {f"DL-{i}" for i in range(1, 11)}
    for claim_id, result in dl_results.items():
        assert result.error is None, (claim_id, result.error)
        assert result.verdict == "verified", (claim_id, [s.step.label for s in result.steps if s.verdict != "verified"])
        assert result.falsifiers, claim_id
        for falsifier, outcome in result.falsifiers:
            assert outcome.verdict == "refuted", (claim_id, falsifier.setting)
            assert outcome.numeric.counterexample is not None and outcome.numeric.value, (claim_id, falsifier.setting)


def test_json_contract(dl_results):
    document = dl_results["DL-5"].to_json()
    for key in ("id", "title", "verdict", "steps", "falsifiers", "seconds"):
        assert key in document
    assert all("verdict" in s for s in document["steps"])
    assert all({"drops", "falsified"} <= set(f) for f in document["falsifiers"])


def test_registry_selects_by_id_and_group():
    assert [c.id for c in registry.select(["dl-4", "DL-1"])] == ["DL-4", "DL-1"]
    assert len(registry.select(["DL"])) == 10
    with pytest.raises(KeyError, match="unknown claim"):
        registry.select(["DL-99"])


# --------------------------------------------------------------- exact, independent route
def spd_matrix(entries, d):
    """M Mᵀ + I: symmetric positive definite with rational entries."""
    M = [entries[i * d:(i + 1) * d] for i in range(d)]
    return [[sum(M[i][k] * M[j][k] for k in range(d)) + (i == j) for j in range(d)] for i in range(d)]


def quad(matrix, w):
    return sum(w[i] * matrix[i][j] * w[j] for i in range(len(w)) for j in range(len(w)))


def fisher_gradient(w, between, within):
    """∇(−J) for J = wᵀBw / wᵀAw."""
    N, D = quad(between, w), quad(within, w)
    Bw = [sum(between[i][j] * w[j] for j in range(len(w))) for i in range(len(w))]
    Aw = [sum(within[i][j] * w[j] for j in range(len(w))) for i in range(len(w))]
    return [-(2 * Bw[i] * D - 2 * N * Aw[i]) / D**2 for i in range(len(w))]


def square_gradient(w, X, y):
    r = [sum(X[n][i] * w[i] for i in range(len(w))) - y[n] for n in range(len(X))]
    return [sum(X[n][i] * r[n] for n in range(len(X))) for i in range(len(w))]


@st.composite
def instances(draw, balanced=True):
    L = draw(st.integers(1, 6))
    d = draw(st.integers(1, 5))
    s = draw(st.lists(magnitude, min_size=d, max_size=d))
    signs = draw(st.lists(st.lists(st.sampled_from([-1, 1]), min_size=d, max_size=d), min_size=L, max_size=L))
    if balanced:
        U = [[signs[l][i] * s[i] for i in range(d)] for l in range(L)]
    else:
        U = [[signs[l][i] * draw(magnitude) for i in range(d)] for l in range(L)]
    within = spd_matrix(draw(st.lists(small, min_size=d * d, max_size=d * d)), d)
    delta = draw(st.lists(small, min_size=d, max_size=d))
    between = [[delta[i] * delta[j] for j in range(d)] for i in range(d)]
    return L, d, U, within, between


def layer_flow(U, grad):
    L, d = len(U), len(U[0])
    others = [[prod(U[k][i] for k in range(L) if k != l) for i in range(d)] for l in range(L)]
    return [[-grad[i] * others[l][i] for i in range(d)] for l in range(L)], others


def effective(U):
    return [prod(layer[i] for layer in U) for i in range(len(U[0]))]


def is_root(value, power, root):
    """value == root**power, with root > 0 (checks |w|^(2/L) = s^2 without irrationals)."""
    return root > 0 and root**power == value


@given(instances())
@example((2, 1, [[Fraction(1)], [Fraction(-1)]], [[Fraction(2)]], [[Fraction(1)]]))
def test_reduced_flow_and_quasi_norm_conservation_exactly(instance):
    L, d, U, within, between = instance
    w = effective(U)
    grad = fisher_gradient(w, between, within)
    velocities, others = layer_flow(U, grad)
    w_dot = [sum(velocities[l][i] * others[l][i] for l in range(L)) for i in range(d)]
    s = [abs(U[0][i]) for i in range(d)]
    for i in range(d):
        assert is_root(abs(w[i]), L, s[i])  # balanced: |w_i| = s_i^L
        # DL-4: ẇ = −L |w|^{2−2/L} g, and |w|^{2−2/L} = s^{2L−2}
        assert w_dot[i] == -L * s[i] ** (2 * L - 2) * grad[i]
    # DL-5: Q = Σ s_i² = ||u_l||² for every l, and dQ/dt = Σ 2 s_i ṡ_i = 0
    Q = sum(si**2 for si in s)
    assert all(sum(u**2 for u in layer) == Q for layer in U)
    assert sum(2 * U[0][i] * velocities[0][i] for i in range(d)) == 0
    assert sum(w[i] * grad[i] for i in range(d)) == 0  # DL-1


@given(instances(balanced=False))
def test_layer_norms_and_balance_gaps_are_conserved_for_any_init(instance):
    L, d, U, within, between = instance
    w = effective(U)
    velocities, _ = layer_flow(U, fisher_gradient(w, between, within))
    for l in range(L):
        assert sum(2 * U[l][i] * velocities[l][i] for i in range(d)) == 0  # DL-3
        for i in range(d):  # DL-2: d/dt u_{l,i}^2 = -2 g_i w_i for every l
            assert 2 * U[l][i] * velocities[l][i] == 2 * U[0][i] * velocities[0][i]
    # DL-9: AM-GM, Q(w) <= (1/L) Σ ||u_l||^2, checked as Π u_{l,i}^2 <= (mean u_{l,i}^2)^L
    for i in range(d):
        mean = sum(U[l][i] ** 2 for l in range(L)) / L
        assert prod(U[l][i] ** 2 for l in range(L)) <= mean**L


@given(instances(), st.fractions(min_value=Fraction(1, 100), max_value=Fraction(1, 2), max_denominator=100))
def test_gradient_descent_increment_is_exact(instance, eta):
    L, d, U, within, between = instance
    w = effective(U)
    grad = fisher_gradient(w, between, within)
    velocities, _ = layer_flow(U, grad)
    U_next = [[U[l][i] + eta * velocities[l][i] for i in range(d)] for l in range(L)]
    s_next = [abs(U_next[0][i]) for i in range(d)]
    assert all(abs(U_next[l][i]) == s_next[i] for l in range(L) for i in range(d))  # balance kept
    Q = sum(abs(U[0][i]) ** 2 for i in range(d))
    increment = eta**2 * sum(grad[i] ** 2 * abs(U[0][i]) ** (2 * L - 2) for i in range(d))
    assert sum(x**2 for x in s_next) == Q + increment  # DL-8


@given(instances(), st.lists(small, min_size=10, max_size=10))
def test_square_loss_breaks_conservation(instance, data):
    """The falsifier by the independent route: with the square loss dQ/dt = -2<w, g> != 0 in general."""
    L, d, U, _, _ = instance
    X = [data[0:d], data[5:5 + d]]
    y = [Fraction(1), Fraction(-1, 2)]
    w = effective(U)
    grad = square_gradient(w, X, y)
    velocities, _ = layer_flow(U, grad)
    dQ = sum(2 * U[0][i] * velocities[0][i] for i in range(d))
    assert dQ == -2 * sum(w[i] * grad[i] for i in range(d))
    # <cw, g(cw)> = c^2 ||Xw||^2 - c <Xw, y>: unless Xw = 0 it vanishes at c = 1 and c = 2 only if
    # both coefficients vanish, which would need ||Xw|| = 0; so one of the two points breaks DL-5.
    Xw = [sum(X[n][i] * w[i] for i in range(d)) for n in range(2)]
    if any(Xw):
        euler = [sum(c * w[i] * g for i, g in enumerate(square_gradient([c * wi for wi in w], X, y))) for c in (1, 2)]
        assert euler != [0, 0]
