"""The claim registry, keyed by claim IDs (``DL-4``) and groups (``DL``, ``MF``).

The project's claims register themselves when their modules are imported; a researcher's
claims are found in a file (:func:`load_file`): every :class:`Claim` defined at the top
level of that file, under its own ID and group.

>>> from derivations import registry
>>> [c.id for c in registry.select(["DL-1"])]
['DL-1']
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from .claims import Claim

__all__ = ["register", "select", "all_claims", "groups", "load_file", "ClaimFileError", "is_project_claim",
           "result_cache_arguments"]

_CLAIMS: dict[str, Claim] = {}
_MODULES = ("derivations.deep_lda", "derivations.mirror_flow", "derivations.law_claims")  # modules whose import registers claims


def register(claim: Claim) -> Claim:
    if claim.id in _CLAIMS and _CLAIMS[claim.id] is not claim:
        raise ValueError(f"claim {claim.id} is registered twice (IDs must be unique)")
    _CLAIMS[claim.id] = claim
    return claim


def _load() -> None:
    for module in _MODULES:
        importlib.import_module(module)


class ClaimFileError(ValueError):
    """A claim file that cannot be loaded: missing, not Python, raising, or without claims."""


def load_file(path: str | Path) -> list[Claim]:
    """Run a researcher's claim file and return every ``Claim`` at its top level, in the
    order they are defined.

    The file is the user's own Python (as a test file is for pytest), run once per path and
    process.  Its claims are not added to the project's registry (``select()`` stays the
    project's claims); an ID that clashes with a project claim, or twice in the file, is refused.
    """
    path = Path(path)
    if path.suffix != ".py" or not path.is_file():
        raise ClaimFileError(f"--file {path}: expected an existing Python file (.py)")
    name = f"flowproof_user_claims_{abs(hash(str(path.resolve())))}"
    if name in sys.modules:
        module = sys.modules[name]
    else:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # the user's file failed: say where, not a traceback of ours
            raise ClaimFileError(f"--file {path}: running it raised {type(exc).__name__}: {exc}") from exc
        sys.modules[name] = module
    claims = [v for v in vars(module).values() if isinstance(v, Claim)]
    if not claims:
        raise ClaimFileError(f"--file {path}: defines no Claim at its top level "
                             "(see the README, 'Your own claims')")
    taken = {c.id for c in all_claims()}
    for claim in claims:
        if claim.id in taken:
            raise ClaimFileError(f"--file {path}: the ID {claim.id} is taken (by a project claim or "
                                 "another claim of the file); IDs must be unique")
        taken.add(claim.id)
    return claims


def _order(claim_id: str):
    group, _, number = claim_id.partition("-")
    return (group, 0, int(number), "") if number.isdigit() else (group, 1, 0, number)


def all_claims() -> list[Claim]:
    _load()
    return [_CLAIMS[k] for k in sorted(_CLAIMS, key=_order)]


def is_project_claim(claim: Claim) -> bool:
    """A claim of this project (its code is in the source tree), not one of a user's file."""
    _load()
    return _CLAIMS.get(claim.id) is claim


def result_cache_arguments(claim: Claim, points: int, seed: int) -> dict:
    """The cache arguments of a project claim's result (see :mod:`derivations.cache`): the
    source digest in the key makes a stored verdict valid only for the code that gave it."""
    return {"claim": claim.id, "points": points, "seed": seed}


def groups() -> list[str]:
    return sorted({c.group for c in all_claims()})


def select(names: list[str] | None = None) -> list[Claim]:
    """Claims named by ID or group, in registry order; all claims when ``names`` is empty."""
    claims = all_claims()
    if not names:
        return claims
    chosen, unknown = [], []
    for name in names:
        key = name.upper()
        matches = [c for c in claims if c.id == key or c.group == key]
        if not matches:
            unknown.append(name)
        chosen += [c for c in matches if c not in chosen]
    if unknown:
        known = ", ".join([c.id for c in claims] + groups())
        raise KeyError(f"unknown claim or group {', '.join(unknown)}; known: {known}")
    return chosen
