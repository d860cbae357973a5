"""The claim registry, keyed by SPEC IDs (``DL-4``) and groups (``DL``, ``MF``).

>>> from derivations import registry
>>> [c.id for c in registry.select(["DL-1"])]
['DL-1']
"""

from __future__ import annotations

import importlib

from .claims import Claim

__all__ = ["register", "select", "all_claims", "groups"]

_CLAIMS: dict[str, Claim] = {}
_MODULES = ("derivations.deep_lda", "derivations.mirror_flow")  # modules whose import registers claims


def register(claim: Claim) -> Claim:
    if claim.id in _CLAIMS and _CLAIMS[claim.id] is not claim:
        raise ValueError(f"claim {claim.id} is registered twice")
    _CLAIMS[claim.id] = claim
    return claim


def _load() -> None:
    for module in _MODULES:
        importlib.import_module(module)


def _order(claim_id: str):
    group, _, number = claim_id.partition("-")
    return group, int(number) if number.isdigit() else number


def all_claims() -> list[Claim]:
    _load()
    return [_CLAIMS[k] for k in sorted(_CLAIMS, key=_order)]


def groups() -> list[str]:
    return sorted({c.group for c in all_claims()})


def select(names: list[str] | None = None) -> list[Claim]:
    """Claims named by ID or group, in SPEC order; all claims when ``names`` is empty."""
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
