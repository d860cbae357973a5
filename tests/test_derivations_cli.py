"""``python -m derivations``: what it prints for each verdict, its option bounds and its summary
(fast: toy claims stand in for the registry)."""
from __future__ import annotations

import json

import pytest
import sympy as sp

from derivations import cli, registry
from derivations.claims import Claim, Falsifier, Step

p = sp.Symbol("p", positive=True)


def toy(identifier: str, *, true: bool = True, falsifier_fails: bool = True, scope: str = "") -> Claim:
    conclusion = Step((p + 1) ** 2, p**2 + 2 * p + 1 if true else p**2 + 1, "binomial", label=f"{identifier} square")
    dropped = Step(p + 1, p, "off by one") if falsifier_fails else Step(p, p, "still true")
    return Claim(identifier, f"toy {identifier}", "toy", [("positive", "p > 0")], lambda: [conclusion],
                 [Falsifier("positive", "any sign", lambda: dropped)], scope=scope)


@pytest.fixture
def claims(monkeypatch):
    chosen: list[Claim] = []
    monkeypatch.setattr(registry, "select", lambda names=None: chosen)
    return chosen


def test_quiet_output_shows_only_what_did_not_verify(claims, capsys):
    claims += [toy("T-1"), toy("T-2", true=False)]
    assert cli.main([]) == 1
    out = capsys.readouterr().out
    assert "T-1    verified" in out and "T-1 square" not in out           # verified steps hidden
    assert "NO  step T-2 square  counterexample" in out                    # refuted steps shown
    assert "falsifier: drop" not in out                                    # falsified ones hidden
    assert out.strip().splitlines()[-1].startswith("1/2 claims verified with every falsifier falsified in ")


def test_verbose_output_lists_every_step_falsifier_and_scope(claims, capsys):
    claims.append(toy("T-3", scope="toy scope"))
    assert cli.main(["-v"]) == 0
    out = capsys.readouterr().out
    assert "ok  step T-3 square" in out
    assert "falsifier: drop positive (any sign): fails as it must" in out
    assert "scope: toy scope" in out
    assert cli.main([]) == 0 and "scope:" not in capsys.readouterr().out


def test_a_falsifier_that_does_not_fail_is_shouted(claims, capsys):
    claims.append(toy("T-4", falsifier_fails=False))
    assert cli.main([]) == 1
    out = capsys.readouterr().out
    assert "verified (a falsifier did not fail!)" in out
    assert "falsifier: drop positive (any sign): DID NOT FAIL (verified)" in out


def test_a_refuted_claim_is_not_called_a_falsifier_problem(claims, capsys):
    claims.append(toy("T-5", true=False))
    cli.main([])
    assert "did not fail!" not in capsys.readouterr().out


@pytest.mark.parametrize("points, code", [("0", 2), ("1", 0), ("1000", 0), ("1001", 2)])
def test_points_are_bounded(claims, capsys, points, code):
    claims.append(toy("T-6"))
    assert cli.main(["--points", points]) == code
    if code == 2:
        assert "--points must be in 1.." in capsys.readouterr().err


def test_json_goes_to_stdout_and_progress_to_stderr(claims, capsys):
    claims.append(toy("T-7"))
    assert cli.main(["--json", "--points", "3", "--seed", "5"]) == 0
    captured = capsys.readouterr()
    (result,) = json.loads(captured.out)
    assert result["id"] == "T-7" and result["seconds"] >= 0
    assert result["steps"][0]["numeric"]["points"] == 3
    assert "T-7    verified" in captured.err


def test_the_summary_time_is_measured(claims, capsys):
    import re
    import time
    claims.append(toy("T-8"))
    started = time.perf_counter()
    cli.main([])
    elapsed = time.perf_counter() - started
    seconds = float(re.search(r"in ([0-9.]+) s$", capsys.readouterr().out.strip()).group(1))
    assert 0 <= seconds <= elapsed + 0.05


def test_list_prints_ids_and_titles(claims, capsys):
    claims += [toy("T-9"), toy("T-10")]
    assert cli.main(["--list"]) == 0
    assert capsys.readouterr().out.splitlines() == ["T-9    toy T-9", "T-10   toy T-10"]


def test_unknown_ids_are_bad_usage(capsys):
    assert cli.main(["NOPE-1"]) == 2
    assert "unknown claim or group NOPE-1" in capsys.readouterr().err


def test_the_command_line_is_read_from_sys_argv(claims, capsys, monkeypatch):
    import sys
    claims.append(toy("T-11"))
    monkeypatch.setattr(sys, "argv", ["python -m derivations", "--list"])
    assert cli.main() == 0 and capsys.readouterr().out == "T-11   toy T-11\n"


def test_the_potential_subcommand(capsys):
    assert cli.main(["potential", "x**2/2", "--no-rate"]) == 0
    assert "horizon" in capsys.readouterr().out


def test_the_documented_defaults():
    args = cli.build_parser().parse_args([])
    assert (args.points, args.seed, args.file, args.loss) == (8, 0, [], [])


def test_verbose_shows_each_steps_equation(capsys):
    from derivations.cli import main

    assert main(["-v", "DL-1"]) == 0
    out = capsys.readouterr().out
    assert " = " in out and "A_11" in out        # the equation itself, not only its label
    assert max(len(line) for line in out.splitlines()) < 170


def test_verbose_output_reads_the_latex_of_titles_labels_and_settings_out_as_plain_text(claims, capsys):
    claim = toy("T-6", scope=r"only $p > 0$")
    step = Step((p + 1) ** 2, p**2 + 2 * p + 1, "binomial", label=r"$\frac{d}{dt} Q = \eta^2$")
    claims.append(Claim("T-6", r"growth by $\eta^2 \sum_i g_i^2$", "toy", [("positive", "p > 0")], lambda: [step],
                        claim.falsifiers, scope=claim.scope))
    assert cli.main(["-v"]) == 0
    out = capsys.readouterr().out
    assert "$" not in out
    assert "growth by eta^2 sum_i g_i^2" in out and "ok  step d/dt Q = eta^2" in out
    assert "(p + 1)**2 = p**2 + 2*p + 1" in out and "scope: only p > 0" in out
