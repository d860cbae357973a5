"""One mirror-flow run of Part B for the command line: a potential, a network, seeded data.

``python -m numerics simulate --flow mirror --potential EXPR --net 2-3-1`` integrates the mirror
flow ``θ̇_j = −∂_jℒ(θ)/φ''(θ_j)`` (Taylor method at ``dps`` digits, :func:`numerics.mirror_flow.mirror.mirror_flow`)
of a bias-free network on seeded separable data (for squared ReLU: data whose signed points lie in
the positive orthant, and one sign per unit) from a seeded rational ``θ(0)``, and reports
what the claims say must hold along it: the per-unit balances of MF-2 (with the Euclidean
balance, its falsifier, beside them) and the dual-energy identity of MF-3
``Σ_j G(θ_j(t)) − Σ_j G(θ_j(0)) = ∫_0^t L Σ_i (−ℓ'(q_i)) q_i``.

>>> r = simulate_mirror("cosh", (2, 2, 1), T=sp.Rational(1, 4), dps=20, outputs=2)
>>> r["network"]["L"], float(r["drift"]["MF-2 balance"]) < 1e-15 < float(r["drift"]["Euclidean balance"])
(2, True)
"""
from __future__ import annotations

import random
import time
from fractions import Fraction
from typing import Sequence

import mpmath
import sympy as sp

from numerics.mirror_flow.mirror import MirrorProblem, mirror_flow
from numerics.mirror_flow.mirror_map import MirrorError, catalogue_potential
from numerics.mirror_flow.networks import Network, orthant_data, separable_data

__all__ = ["simulate_mirror", "parse_widths", "ACTIVATIONS"]

#: activations the Taylor method can follow (ReLU's kink it refuses: use mirror descent)
ACTIVATIONS = ("linear", "squared_relu")


def parse_widths(text: str) -> tuple[int, ...]:
    """``"2-3-1"`` -> ``(2, 3, 1)``: input dimension, hidden widths, output 1.

    >>> parse_widths("3-4-2-1")
    (3, 4, 2, 1)
    """
    try:
        widths = tuple(int(part) for part in text.split("-"))
    except ValueError:
        raise MirrorError(f"--net must be widths joined by '-', such as 2-3-1, got {text!r}") from None
    if len(widths) < 3 or widths[-1] != 1 or min(widths) < 1:
        raise MirrorError(f"--net must be DIM-HIDDEN...-1 with positive widths (at least one hidden "
                          f"layer, output 1), got {text!r}")
    return widths


def _potential(text: str):
    try:
        return catalogue_potential(text)
    except MirrorError:
        return text          # not a catalogue name: an expression in x, parsed (never eval'd)


def _theta0(net: Network, seed: int) -> list[Fraction]:
    """Seeded nonzero rationals ``k/4``, ``|k| ≤ 4``.  For squared ReLU (one hidden layer) each
    unit's incoming and outgoing weights share one sign: with the orthant data no parameter and
    no pre-activation then changes sign, so the Taylor method never meets the kink."""
    rng = random.Random(seed)
    theta = [Fraction(rng.choice([k for k in range(-4, 5) if k]), 4) for _ in range(net.n_params)]
    if net.activation == "squared_relu":
        for incoming, outgoing in net.units:
            sign = 1 if theta[incoming[0]] > 0 else -1
            for j in (*incoming, *outgoing):
                theta[j] = sign * abs(theta[j])
    return theta


def simulate_mirror(potential: str, widths: Sequence[int], *, activation: str = "linear", points: int = 6,
                    seed: int = 0, T=1, dps: int = 30, loss: str = "exp", outputs: int = 5) -> dict:
    """The run described in the module docstring, as JSON-able data (numbers as strings)."""
    if activation not in ACTIVATIONS:
        raise MirrorError(f"activation must be one of {', '.join(ACTIVATIONS)} (the Taylor method refuses "
                          f"ReLU's kink), got {activation!r}")
    if activation == "squared_relu" and len(widths) != 3:
        raise MirrorError("squared ReLU is simulated on one hidden layer (DIM-WIDTH-1), where the "
                          "orthant data keep every pre-activation off the kink")
    net = Network(tuple(widths), activation)
    data = (orthant_data if activation == "squared_relu" else separable_data)(points, widths[0], seed=seed)
    problem = MirrorProblem(net, data, _potential(potential), loss=loss)
    theta0 = _theta0(net, seed)
    T = sp.Rational(T)
    times = [T * k / (outputs - 1) for k in range(outputs)]
    start = time.perf_counter()
    run = mirror_flow(problem, theta0, T, dps=dps, times=times, energy=True)
    seconds = time.perf_counter() - start
    with mpmath.workdps(dps + 10):
        def change(rows):
            return max(abs(r[k] - rows[0][k]) for r in rows for k in range(len(r)))

        G0 = problem.dual_energy(run.theta[0])
        energy = max(abs(problem.dual_energy(th) - G0 - E) for th, E in zip(run.theta, run.energy_witness))
        drift = {"MF-2 balance": change([problem.balances(th) for th in run.theta]),
                 "Euclidean balance": change([problem.euclidean_balances(th) for th in run.theta]),
                 "MF-3 dual energy identity": energy}
        margins = problem.margins(run.theta[-1])
        s = lambda v: mpmath.nstr(v, 6)  # noqa: E731
        return {"potential": problem.mirror.name, "network": {"widths": list(widths), "activation": activation,
                                                              "L": net.L, "parameters": net.n_params},
                "data": {"points": points, "dim": widths[0], "seed": seed}, "loss": loss,
                "theta0": [str(v) for v in theta0], "T": str(T), "dps": dps,
                "integrator": {"steps": run.taylor.steps, "order": run.taylor.order, "seconds": round(seconds, 3)},
                "drift": {k: s(v) for k, v in drift.items()},
                "min_margin": s(min(margins)), "theta_T": [s(v) for v in run.theta[-1]]}
