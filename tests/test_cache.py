"""The disk cache of numeric results (derivations.cache): hits, misses, corrupt entries,
staleness by code digest, atomic writes, and the reports' --fresh."""
from __future__ import annotations

import json

import pytest

from derivations import cache


def counting():
    calls = []

    def work(x, quick=False):
        calls.append((x, quick))
        return {"x": [x, x * 2], "quick": quick}
    return work, calls


def test_a_second_call_is_a_hit_and_arguments_are_part_of_the_key(tmp_path):
    work, calls = counting()
    first = cache.cached(work, {"x": 3}, folder=tmp_path)
    assert cache.cached(work, {"x": 3}, folder=tmp_path) == first == {"x": [3, 6], "quick": False}
    cache.cached(work, {"x": 4}, folder=tmp_path)
    assert calls == [(3, False), (4, False)]


def test_fresh_recomputes(tmp_path):
    work, calls = counting()
    cache.cached(work, {"x": 1}, folder=tmp_path)
    cache.cached(work, {"x": 1}, folder=tmp_path, fresh=True)
    assert len(calls) == 2


@pytest.mark.parametrize("damage", ["", "{not json", '{"key": "someone else", "result": 1}', "[]"])
def test_a_corrupt_entry_is_recomputed_never_trusted(tmp_path, damage):
    work, calls = counting()
    cache.cached(work, {"x": 5}, folder=tmp_path)
    (entry,) = tmp_path.glob("*.json")
    entry.write_text(damage)
    assert cache.cached(work, {"x": 5}, folder=tmp_path) == {"x": [5, 10], "quick": False}
    assert len(calls) == 2
    assert json.loads(entry.read_text())["result"]["x"] == [5, 10]   # and repaired


def test_a_code_change_makes_every_entry_stale(tmp_path, monkeypatch):
    work, calls = counting()
    cache.cached(work, {"x": 2}, folder=tmp_path)
    monkeypatch.setattr(cache, "code_digest", lambda: "another version of the code")
    cache.cached(work, {"x": 2}, folder=tmp_path)
    assert len(calls) == 2


def test_cold_and_warm_results_are_identical(tmp_path):
    """A cold call returns what a warm one will (JSON round trip: tuples become lists)."""
    cold = cache.cached(lambda: {"t": (1, 2.5)}, {}, folder=tmp_path)
    warm = cache.cached(lambda: {"t": (1, 2.5)}, {}, folder=tmp_path)
    assert cold == warm == {"t": [1, 2.5]}


def test_no_temporary_files_are_left(tmp_path):
    work, _ = counting()
    cache.cached(work, {"x": 7}, folder=tmp_path)
    assert [p.name.startswith(".tmp-") for p in tmp_path.iterdir()] == [False]


def test_reports_take_evidence_from_the_cache_unless_fresh(monkeypatch, tmp_path):
    from reports import build

    monkeypatch.setenv("FLOWPROOF_CACHE", str(tmp_path))
    calls = []
    import numerics.core.law_witness as lw

    monkeypatch.setattr(lw, "law_evidence", lambda quick=False: calls.append(quick) or {"LAW-1": []})
    spec = build.REPORTS["conservation"]
    assert build.numeric_evidence(spec, quick=True) == {"LAW-1": []}
    build.numeric_evidence(spec, quick=True)
    build.numeric_evidence(spec, quick=True, fresh=True)
    assert calls == [True, True]


def test_reports_reuse_what_derivations_just_checked(capsys, monkeypatch, tmp_path):
    """python -m derivations stores each project claim's result; python -m reports then
    reuses it (and says so) instead of checking the claim a second time; --fresh checks."""
    from derivations import registry
    from derivations.cli import main as derive
    from reports import cli as reports_cli

    monkeypatch.setenv("FLOWPROOF_CACHE", str(tmp_path))
    assert derive(["DL-1"]) == 0
    capsys.readouterr()
    (claim,) = registry.select(["DL-1"])
    calls = []
    import derivations.claims as claims_module

    real = claims_module.check_claim
    monkeypatch.setattr(claims_module, "check_claim", lambda *a, **k: calls.append(1) or real(*a, **k))
    reused = reports_cli._check([claim], points=8, seed=0)
    assert calls == [] and reused[0]["id"] == "DL-1" and reused[0]["verdict"] == "verified"
    assert "reused" in capsys.readouterr().err
    assert reports_cli._check([claim], points=8, seed=0, fresh=True)[0]["verdict"] == "verified"
    assert calls == [1]
    reports_cli._check([claim], points=9, seed=0)    # other points: another key, checked
    assert calls == [1, 1]


def test_a_users_claim_is_never_taken_from_the_cache(tmp_path, monkeypatch):
    from derivations import registry
    from derivations.claims import Claim, Step
    import sympy as sp

    own = Claim("MINE-1", "t", "s", [], lambda: [Step(sp.Integer(1), sp.Integer(1), "r")])
    assert not registry.is_project_claim(own)
    assert registry.is_project_claim(registry.select(["DL-1"])[0])


def test_the_digest_covers_the_source_tree():
    """Pin: after the module moved, the root was one folder too high and the digest covered
    no source file at all, so a code change did not make entries stale."""
    from pathlib import Path

    assert (cache._ROOT / "derivations" / "cache.py").resolve() == Path(cache.__file__).resolve()
