"""An experiment: a question, a grid of settings, one run per grid point, the laws its
results must obey (each with a falsifier), and the figures that show them.

A :class:`derivations.claims.Claim` is proved; an :class:`Experiment` is measured.  Its
parts are plain functions so that one object drives the command line
(``python -m numerics experiment ID``), the tests and a report section:

* ``grid(quick)`` — the parameters of each run, JSON-able dicts (they are the cache key);
* ``run(**point)`` — one run, returning JSON-able data (a module-level function, so that a
  Dask worker can import it);
* ``analyse(points, results, quick)`` — the :class:`Outcome`: fitted laws, table rows and
  figures, from the runs alone (cheap: no simulation happens here).

:func:`numerics.core.runner.run_experiment` runs the grid (serially or on Dask, each point
cached on disk) and returns the outcome as JSON.

>>> def run(x):
...     return {"y": 2 * x}
>>> def analyse(points, results, quick):
...     slope = results[-1]["y"] / points[-1]["x"]
...     return Outcome(laws=[law("slope of y against x", slope, expected=2, tolerance=1e-12,
...                              falsifier="y = x", falsifier_measured=1)])
>>> e = Experiment("EX-1", "doubling", "Is y = 2x?", "x = 1, 2, 3",
...                grid=lambda quick: [{"x": x} for x in (1, 2, 3)], run=run, analyse=analyse)
>>> outcome = e.analyse(e.grid(True), [e.run(**p) for p in e.grid(True)], True)
>>> outcome.laws[0]["holds"], outcome.laws[0]["falsified"], outcome.verdict()
(True, True, 'confirmed')
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

__all__ = ["Experiment", "Outcome", "law", "figure", "curve", "image", "fit_exponent", "local_exponents"]


@dataclass(frozen=True)
class Experiment:
    """See the module docstring.  ``id``: a claim ID (``MF-7``) or a named one (``DL-SWEEP``);
    ``question``/``setting``: one sentence each (``$…$`` math allowed), shown in the report."""

    id: str
    title: str
    question: str
    setting: str
    grid: Callable[[bool], Sequence[dict]]
    run: Callable[..., dict]
    analyse: Callable[[list, list, bool], "Outcome"]


@dataclass
class Outcome:
    """What an experiment found: ``laws`` (from :func:`law`), evidence ``rows`` in the report's
    table format (``quantity, precision, horizon, drift, falsifier, falsifier_drift, note``)
    and ``figures`` (from :func:`figure`)."""

    laws: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    figures: list = field(default_factory=list)

    def verdict(self) -> str:
        """``confirmed`` if every law holds and every falsifier breaks it; else ``not confirmed``."""
        ok = all(l["holds"] and l["falsified"] is not False for l in self.laws)
        return "confirmed" if ok else "not confirmed"

    def as_json(self) -> dict:
        return {**asdict(self), "verdict": self.verdict()}


def law(name: str, measured: float, *, expected: float, tolerance: float,
        falsifier: Optional[str] = None, falsifier_measured: Optional[float] = None,
        uncertainty: Optional[float] = None, note: str = "") -> dict:
    """A fitted law: ``measured`` must lie within ``tolerance`` of ``expected``; in the
    ``falsifier`` setting (one assumption dropped) the same fit must leave that interval.
    ``uncertainty``: the fit's own error estimate (e.g. the spread of local slopes), shown."""
    holds = math.isfinite(measured) and abs(measured - expected) <= tolerance
    falsified = None
    if falsifier is not None:
        falsified = not (math.isfinite(falsifier_measured) and abs(falsifier_measured - expected) <= tolerance)
    return {"name": name, "measured": measured, "expected": expected, "tolerance": tolerance,
            "uncertainty": uncertainty, "holds": holds, "falsifier": falsifier,
            "falsifier_measured": falsifier_measured, "falsified": falsified, "note": note}


def fit_exponent(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of ``log y`` against ``log x``: the ``b`` of ``y ~ x^b``.

    >>> round(fit_exponent([1, 2, 4], [3, 12, 48]), 12)
    2.0
    """
    lx, ly = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    if lx.size < 2:
        raise ValueError("need at least two points to fit an exponent")
    return float(np.polyfit(lx, ly, 1)[0])


def local_exponents(x: Sequence[float], y: Sequence[float]) -> list[float]:
    """The slopes of ``log y`` against ``log x`` between neighbouring points."""
    lx, ly = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    return [float(v) for v in np.diff(ly) / np.diff(lx)]


def curve(label: str, x: Sequence[float], y: Sequence[float], *, color: Optional[int] = None,
          dashed: bool = False) -> dict:
    """One line of a plot (``label`` may hold ``$…$`` math); ``color``: an index into the
    report's palette (default: the curve's position), ``dashed``: a dashed line."""
    out = {"label": label, "x": [float(v) for v in x], "y": [float(v) for v in y]}
    if color is not None:
        out["color"] = color
    if dashed:
        out["dashed"] = True
    return out


def image(label: str, values: Sequence[Sequence[float]]) -> dict:
    """One small image (rows of values, drawn with a diverging colour scale around 0)."""
    return {"label": label, "values": [[float(v) for v in row] for row in values]}


FIGURE_KINDS = ("loglog", "semilogx", "semilogy", "linear", "images")


def figure(caption: str, kind: str, series: Sequence[dict], *, xlabel: str = "", ylabel: str = "",
           columns: int = 8) -> dict:
    """A figure of the report: ``kind`` one of :data:`FIGURE_KINDS`; ``series`` are
    :func:`curve` dicts (plots) or :func:`image` dicts (``kind="images"``, ``columns`` per row).
    Labels and the caption may hold ``$…$`` math."""
    if kind not in FIGURE_KINDS:
        raise ValueError(f"figure kind {kind!r}: expected one of {', '.join(FIGURE_KINDS)}")
    return {"caption": caption, "kind": kind, "xlabel": xlabel, "ylabel": ylabel,
            "series": list(series), "columns": columns}
