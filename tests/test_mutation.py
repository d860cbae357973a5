"""The mutation harness itself (benchmarks/mutation.py) on a couple of mutants."""
from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("mutation", ROOT / "benchmarks" / "mutation.py")
mutation = importlib.util.module_from_spec(spec)
sys.modules["mutation"] = mutation   # dataclasses look their module up there
spec.loader.exec_module(mutation)


def test_mutants_are_enumerated_stably_and_each_changes_one_place():
    found = mutation.mutants("derivations/claims.py")
    assert len({m.key for m in found}) == len(found) > 20
    assert found == mutation.mutants("derivations/claims.py")
    original = mutation._committed("derivations/claims.py", "HEAD")
    falsified = next(m for m in found if m.function == "falsified" and m.change == "Eq -> NotEq")
    mutated = mutation.mutated_source(falsified, original)
    assert "falsifier_verdict != 'refuted'" in mutated and ast.parse(mutated)
    assert not any(m.function == "Step" and "frozen" in m.source for m in found)   # decorators skipped


def test_a_planted_mistake_is_killed_and_a_harmless_one_survives(tmp_path, monkeypatch):
    monkeypatch.setitem(mutation.TARGETS, "derivations/claims.py",
                        ("tests/test_gate.py", "-k", "only_a_refuted or claim_verdict"))
    found = mutation.mutants("derivations/claims.py")
    killed = next(m for m in found if m.function == "falsified" and m.change == "Eq -> NotEq")
    harmless = next(m for m in found if m.function == "StepResult.to_json" and m.change == "4 -> 5")
    workdir = tmp_path / "copy"
    mutation._copy_project(workdir, "HEAD")
    results = [mutation.run_mutant(m, workdir, timeout=120) for m in (killed, harmless)]
    assert [r["outcome"] for r in results] == ["killed", "survived"]
    assert (workdir / "derivations/claims.py").read_text() == mutation._committed("derivations/claims.py", "HEAD")
    summary = mutation.summarize(results, {harmless.key: "rounding of a displayed time"})
    assert summary["kill_rate"] == 1.0 and summary["equivalent"] == 1 and not summary["survivors"]


def test_targets_and_their_tests_exist():
    for module, tests in mutation.TARGETS.items():
        assert (ROOT / module).is_file(), module
        assert all((ROOT / t).is_file() for t in tests if t.startswith("tests/")), module
    with pytest.raises(SystemExit):
        mutation.main(["--target", "nowhere.py", "--list"])
