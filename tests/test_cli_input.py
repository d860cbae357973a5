"""Bad input to the numerics and reports command lines: exit code 2, one `error:` line that
names the argument, no traceback, nothing written; and the work limits of `simulate`."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import sympy as sp

from numerics import cli as ncli
from numerics.deep_lda.flows import FlowError, _fraction
from numerics.deep_lda.simulate import _rat, layer_init
from reports import build
from reports import cli as rcli

ROOT = Path(__file__).resolve().parents[1]


def run(main, argv, capsys):
    """``(exit code, stdout, stderr)`` of ``main(argv)``, whether it returns or exits."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _refuses(main, argv, capsys, prog, argument, expected):
    code, out, err = run(main, argv, capsys)
    assert code == 2, err
    assert "Traceback" not in err and out == ""
    last = err.rstrip("\n").splitlines()[-1]
    assert last.startswith(f"{prog}: error: "), last
    assert argument in last and expected in last, last
    return last


@pytest.fixture
def no_run(monkeypatch):
    """Anything past validation fails the test (a removed check shows as exit code 1, not a hang)."""
    def ran(*args, **kwargs):
        raise AssertionError("the run started: the input was not refused")

    for name in ("gaussian_two_class", "simulate", "simulate_float64", "gd_run"):
        monkeypatch.setattr(ncli, name, ran)
    monkeypatch.setattr(rcli, "run_report", ran)


# ----------------------------------------------------------------------- numerics simulate

@pytest.mark.parametrize("argv,argument,expected", [
    (["--depth", "0"], "--depth", "must be in 1..9"),
    (["--depth", "-2"], "--depth", "must be in 1..9"),
    (["--dim", "0"], "--dim", "must be in 1..12"),
    (["--dim", "three"], "--dim", "expected an integer"),
    (["--dps", "5"], "--dps", f"must be in 10..{ncli.MAX_DPS}"),
    (["--dps", "2000"], "--dps", f"must be in 10..{ncli.MAX_DPS}"),
    (["--T", "0"], "--T", "must be > 0"),
    (["--T", "-1"], "--T", "must be > 0"),
    (["--T", "nan"], "--T", "unknown name 'nan'"),
    (["--T", "inf"], "--T", "unknown name 'inf'"),
    (["--T", "oo"], "--T", "unknown name 'oo'"),
    (["--T", "1/0"], "--T", "not finite"),
    (["--T", "sqrt(2)"], "--T", "not an exact rational"),
    (["--T", ""], "--T", "empty text"),
    (["--T", "9**9**9"], "--T", "exponent"),
    (["--eta", "0"], "--eta", "must be > 0"),
    (["--eta=-1/10"], "--eta", "must be > 0"),
    (["--alpha", "1/0"], "--alpha", "not finite"),
    (["--alpha", "__import__('os')"], "--alpha", "not allowed"),
    (["--ridge", "-1"], "--ridge", "must be >= 0"),
    (["--flow", "euler"], "--flow", "invalid choice: 'euler'"),
    (["--loss", "hinge"], "--loss", "invalid choice: 'hinge'"),
    (["--points", "10**9"], "--points", "expected an integer"),
    (["--points", "1000000000"], "--points", f"must be in 2..{ncli.MAX_POINTS}"),
    (["--outputs", "1000000"], "--outputs", f"must be in 2..{ncli.MAX_OUTPUTS}"),
    (["--flow", "gd", "--steps", "1000000"], "--steps", f"must be in 1..{ncli.MAX_GD_STEPS}"),
])
def test_simulate_refuses_bad_arguments(argv, argument, expected, capsys, no_run):
    """Each bad value: exit 2, the argument and what was expected on the last stderr line."""
    _refuses(ncli.main, ["simulate", "-q", *argv], capsys, "python -m numerics simulate",
             f"argument {argument}", expected)


@pytest.mark.parametrize("argv,argument,expected", [
    (["--T", "1e100"], "--T", f"at most {ncli._e(ncli.MAX_T)} with the Taylor method"),
    (["--T", "10001"], "--T", f"at most {ncli._e(ncli.MAX_T)}"),
    (["--T", "1e1000"], "--T", "1.0e+1000"),
    (["--float64", "--T", "1e7"], "--T", f"at most {ncli._e(ncli.MAX_T_FLOAT64)} with float64"),
    (["--dps", "400", "-L", "9", "-d", "9"], "--dps", "per Taylor step"),
    (["--flow", "gd", "--exact"], "--steps", "at most 4 step(s)"),          # the default 10 steps
    (["--flow", "gd", "--exact", "--steps", "5"], "--steps", "at most 4 step(s)"),
    (["--flow", "gd", "--exact", "--steps", "3", "-L", "9", "-d", "9"], "--steps", "at most 2 step(s)"),
    (["--flow", "gd", "--exact", "--steps", "4", "--eta", "1e-20"], "--steps", "at most 3 step(s)"),
])
def test_simulate_refuses_work_that_would_run_for_hours(argv, argument, expected, capsys, no_run):
    """The measured limits (MAX_T, MAX_T_FLOAT64, the step budget, MAX_EXACT_BITS) are named."""
    _refuses(ncli.main, ["simulate", "-q", *argv], capsys, "python -m numerics simulate",
             f"argument {argument}", expected)


def _args(*argv):
    return ncli.build_parser().parse_args(["simulate", *argv])


@pytest.mark.parametrize("argv", [
    ["--T", str(ncli.MAX_T)], ["--float64", "--T", str(ncli.MAX_T_FLOAT64)], ["--dps", str(ncli.MAX_DPS)],
    ["--flow", "gd", "--exact", "--steps", "4"], ["--flow", "gd", "--exact", "--steps", "7", "-L", "1"],
    ["--flow", "gd", "--steps", str(ncli.MAX_GD_STEPS)],
])
def test_the_limits_themselves_are_accepted(argv):
    """At each limit the run is allowed (the limits are not off by one)."""
    ncli.check_workload(_args(*argv))


def test_taylor_step_budget_follows_the_cost_model():
    """The step limit passed to the integrator fills BUDGET_SECONDS at the estimated cost."""
    steps = ncli.check_workload(_args("--dps", "100"))
    assert steps == int(ncli.BUDGET_SECONDS / ncli._step_seconds(100, 9))
    assert ncli.check_workload(_args("--dps", "400")) < steps
    assert ncli.check_workload(_args("--float64")) is None


def test_a_run_that_uses_up_its_step_budget_stops_and_says_so(capsys, monkeypatch):
    """The square loss takes 233 steps to T = 1000; with a budget of 100 steps the run stops, exit 1."""
    monkeypatch.setattr(ncli, "_step_seconds", lambda dps, size: ncli.BUDGET_SECONDS / 50)  # 100: the floor
    code, out, err = run(ncli.main, ["simulate", "-q", "--loss", "square", "--T", "1000"], capsys)
    assert code == 1 and out == "" and "Traceback" not in err
    assert "max_steps = 100 reached" in err and "step budget" in err


@pytest.mark.parametrize("text,value", [
    ("5", Fraction(5)), ("0.1", Fraction(1, 10)), ("2e-3", Fraction(1, 500)), ("1/3", Fraction(1, 3)),
    ("1/3 + 1/6", Fraction(1, 2)), ("2**-3", Fraction(1, 8)), ("Rational(3, 7)", Fraction(3, 7)),
])
def test_numbers_are_read_exactly_by_parse_number(text, value):
    """Exact numbers (what Fraction() reads, and what only parse_number reads) as Fractions."""
    parsed = _args("--T", text).T
    assert parsed == value and isinstance(parsed, Fraction)


@pytest.mark.parametrize("read", [lambda v: _rat(v, "T"), _fraction,
                                  lambda v: layer_init(2, 2, alpha=v)])
def test_library_readers_use_parse_number(read):
    """simulate.py and flows.py read text with parse_number: 1/2 + 1/4 is 3/4; 1/0 is refused."""
    value = read("1/2 + 1/4")
    assert (value if not isinstance(value, list) else abs(value[0][0])) == sp.Rational(3, 4)
    with pytest.raises(FlowError, match="not finite"):
        read("1/0")


@pytest.mark.parametrize("value", [float("inf"), float("nan"), sp.oo, sp.sqrt(2)])
def test_simulate_refuses_values_that_are_not_finite_rationals(value):
    with pytest.raises(FlowError, match="T: cannot read"):
        _rat(value, "T")


# ------------------------------------------------------------------------- subcommands

def test_no_command_prints_the_help_and_exits_2(capsys):
    code, out, err = run(ncli.main, [], capsys)
    assert code == 2 and out == ""
    assert "simulate" in err and "evidence" in err
    assert err.splitlines()[-1] == "python -m numerics: error: a command is required: simulate, evidence or experiment"


def test_unknown_command_prints_the_help_and_exits_2(capsys):
    code, out, err = run(ncli.main, ["simulat"], capsys)
    assert code == 2 and out == "" and "Traceback" not in err
    assert "integrate one flow" in err   # the help, with the commands
    assert err.splitlines()[-1].startswith("python -m numerics: error: argument command: invalid choice: 'simulat'")


def test_evidence_refuses_an_unknown_group(capsys, no_run):
    _refuses(ncli.main, ["evidence", "--group", "XY"], capsys, "python -m numerics evidence",
             "argument --group", "invalid choice: 'XY'")


def test_an_unexpected_failure_is_one_line_not_a_traceback(capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("deep inside")

    monkeypatch.setattr(ncli, "gaussian_two_class", broken)
    monkeypatch.delenv("FLOWPROOF_TRACEBACK", raising=False)
    code, _, err = run(ncli.main, ["simulate", "-q"], capsys)
    assert code == 1 and err.count("\n") == 1
    assert "internal error ZeroDivisionError: deep inside" in err


# ----------------------------------------------------------------------- reports --results

def _step(verdict="verified"):
    return {"label": "s", "reason": "because", "lhs": "x", "rhs": "x", "lhs_latex": "x", "rhs_latex": "x",
            "relation": "=", "relation_latex": "=", "verdict": verdict, "symbolic": "zero",
            "numeric": {"verdict": "zero", "points": 1, "exact_points": 1, "ball_points": 0,
                        "counterexample": None, "value": None, "note": None}, "seconds": 0.1}


def valid_results():
    """The smallest results that follow the README's contract: one DL claim."""
    return [{"id": "DL-1", "title": "t", "group": "DL", "statement": "s", "assumptions": [{"name": "a", "text": "b"}],
             "scope": "", "verdict": "verified", "ok": True, "error": None, "seconds": 0.5,
             "steps": [_step()],
             "falsifiers": [{"drops": "a", "setting": "no a", "falsified": True, "conclusion": _step("refuted")}]}]


def _broken(change):
    results = valid_results()
    change(results)
    return results


BAD_RESULTS = [
    ("not a list", {"id": "DL-1"}, "expected a JSON list of claim results", "an object"),
    ("empty list", [], "the list of claim results is empty", ""),
    ("element not an object", ["DL-1"], "element 0 must be an object", "the string 'DL-1'"),
    ("no id", _broken(lambda r: r[0].pop("id")), "element 0: the field 'id' is missing", ""),
    ("id a number", _broken(lambda r: r[0].update(id=3)), "element 0: 'id' must be a string", "the number 3"),
    ("repeated id", _broken(lambda r: r.append(dict(r[0]))), "element 1: the id 'DL-1' repeats element 0", ""),
    ("no verdict", _broken(lambda r: r[0].pop("verdict")), "element 0 (DL-1): the field 'verdict' is missing", ""),
    ("bad verdict", _broken(lambda r: r[0].update(verdict="maybe")), "(DL-1): 'verdict' is 'maybe'",
     "expected one of verified, refuted, undecided"),
    ("no steps", _broken(lambda r: r[0].pop("steps")), "(DL-1): the field 'steps' is missing", ""),
    ("steps not a list", _broken(lambda r: r[0].update(steps={})), "(DL-1): 'steps' must be a list", "an object"),
    ("no falsifiers", _broken(lambda r: r[0].pop("falsifiers")), "(DL-1): the field 'falsifiers' is missing", ""),
    ("no title", _broken(lambda r: r[0].pop("title")), "(DL-1): the field 'title' is missing", ""),
    ("step not an object", _broken(lambda r: r[0]["steps"].append(7)), "(DL-1): steps[1] must be an object", ""),
    ("bad step verdict", _broken(lambda r: r[0]["steps"][0].update(verdict="ok")),
     "(DL-1): steps[0]: 'verdict' is 'ok'", "expected one of verified, refuted, undecided"),
    ("bad symbolic", _broken(lambda r: r[0]["steps"][0].update(symbolic="yes")),
     "(DL-1): steps[0]: 'symbolic' is 'yes'", "zero, holds, unknown, skipped"),
    ("falsified missing", _broken(lambda r: r[0]["falsifiers"][0].pop("falsified")),
     "(DL-1): falsifiers[0]: the field 'falsified' is missing", ""),
    ("falsified a string", _broken(lambda r: r[0]["falsifiers"][0].update(falsified="yes")),
     "falsifiers[0]: 'falsified' must be true or false", ""),
    ("bad conclusion verdict", _broken(lambda r: r[0]["falsifiers"][0]["conclusion"].update(verdict="no")),
     "(DL-1): falsifiers[0].conclusion: 'verdict' is 'no'", ""),
    ("assumption without text", _broken(lambda r: r[0]["assumptions"][0].pop("text")),
     "(DL-1): assumptions[0]: the field 'text' is missing", ""),
]


@pytest.mark.parametrize("name,data,expected,detail", BAD_RESULTS, ids=[c[0] for c in BAD_RESULTS])
def test_validate_results_names_the_element_and_field(name, data, expected, detail):
    with pytest.raises(build.ResultsError) as exc:
        build.validate_results(data, source="r.json")
    assert str(exc.value).startswith("r.json: ") and expected in str(exc.value) and detail in str(exc.value)


def _reports(tmp_path, capsys, *argv):
    out = tmp_path / "out"
    code, stdout, err = run(rcli.main, ["--no-pdf", "--evidence", "none", "--out", str(out), *argv], capsys)
    return code, stdout, err, out


@pytest.mark.parametrize("name,data,expected,detail", BAD_RESULTS[:10], ids=[c[0] for c in BAD_RESULTS[:10]])
def test_reports_refuses_results_of_the_wrong_shape(name, data, expected, detail, tmp_path, capsys, no_run):
    """Through the command line: exit 2, one line naming --results, no output folder created."""
    results = tmp_path / "r.json"
    results.write_text(json.dumps(data))
    code, stdout, err, out = _reports(tmp_path, capsys, "--results", str(results))
    assert code == 2 and stdout == "" and err.count("\n") == 1
    assert err.startswith(f"python -m reports: error: --results {results}: ") and expected in err
    assert not out.exists()


@pytest.mark.parametrize("content,expected", [
    (None, "cannot read the file (No such file or directory)"),
    ("", "the file is empty"),
    ("  \n", "the file is empty"),
    ("[{", "not valid JSON"),
    ("[" * 100_000, "not valid JSON"),
    (b"\xff\xfe[]", "cannot read the file"),
])
def test_reports_refuses_unreadable_results_files(content, expected, tmp_path, capsys, no_run):
    results = tmp_path / "r.json"
    if isinstance(content, bytes):
        results.write_bytes(content)
    elif content is not None:
        results.write_text(content)
    code, stdout, err, out = _reports(tmp_path, capsys, "--results", str(results))
    assert code == 2 and stdout == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"python -m reports: error: --results {results}: ") and expected in err
    assert not out.exists()


def test_reports_accepts_results_that_follow_the_contract(tmp_path, capsys):
    """The validator is not stricter than the contract: the minimal results build a report."""
    results = tmp_path / "r.json"
    results.write_text(json.dumps(valid_results()))
    code, _, err, out = _reports(tmp_path, capsys, "--results", str(results), "--only", "deep_lda")
    assert code == 0, err
    assert (out / "deep_lda.tex").exists() and json.loads((out / "deep_lda.json").read_text())[0]["id"] == "DL-1"


# --------------------------------------------------------------------------- reports --out

@pytest.mark.parametrize("where,expected", [
    ("", "--out: empty path"),
    ("file", "exists and is not a folder"),
    ("file/sub", "cannot write there (Not a directory)"),
    ("file/sub/deeper", "cannot write there (Not a directory)"),
])
def test_reports_refuses_an_unwritable_out(where, expected, tmp_path, capsys, monkeypatch, no_run):
    """A path whose parent is a file (tests run as root: a read-only folder would not stop them)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file").write_text("keep")
    results = tmp_path / "r.json"
    results.write_text(json.dumps(valid_results()))
    before = sorted(p.name for p in tmp_path.iterdir())
    code, stdout, err = run(rcli.main, ["--no-pdf", "--evidence", "none", "--results", str(results),
                                        "--out", where], capsys)
    assert code == 2 and stdout == "" and err.count("\n") == 1
    assert err.startswith("python -m reports: error: --out") and expected in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert (tmp_path / "file").read_text() == "keep"


@pytest.mark.parametrize("points", ["0", "-3", "1000001"])
def test_reports_refuses_points_out_of_range(points, tmp_path, capsys, no_run):
    code, stdout, err, out = _reports(tmp_path, capsys, "--points", points)
    assert code == 2 and err.startswith("python -m reports: error: --points must be in 1..") and not out.exists()


def test_reports_argparse_errors_name_the_argument(tmp_path, capsys, no_run):
    _refuses(rcli.main, ["--only", "nope"], capsys, "python -m reports", "argument --only", "invalid choice: 'nope'")
    _refuses(rcli.main, ["--points", "10**9"], capsys, "python -m reports", "argument --points", "invalid int value")


def test_a_write_that_fails_leaves_no_temporary_and_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "a.tex"
    target.write_text("old")

    def failing(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OSError):
        build.write_atomic(target, "new")
    assert [p.name for p in tmp_path.iterdir()] == ["a.tex"] and target.read_text() == "old"


def test_a_write_error_during_the_build_is_one_line(tmp_path, capsys, monkeypatch):
    results = tmp_path / "r.json"
    results.write_text(json.dumps(valid_results()))

    def failing(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(build, "write_atomic", failing)
    code, _, err, _ = _reports(tmp_path, capsys, "--results", str(results))
    assert code == 1 and err.splitlines()[-1].startswith("python -m reports: error: writing the reports failed")
    assert "Traceback" not in err


# ------------------------------------------------------------------------- end to end

def _python(*argv, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FLOWPROOF_TRACEBACK", None)
    return subprocess.run([sys.executable, *argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def test_end_to_end_simulate_refuses_a_horizon_of_1_over_0():
    done = _python("-m", "numerics", "simulate", "--T", "1/0")
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1].startswith("python -m numerics simulate: error: argument --T: ")


def test_end_to_end_reports_refuses_a_missing_results_file(tmp_path):
    out = tmp_path / "out"
    done = _python("-m", "reports", "--results", str(tmp_path / "none.json"), "--out", str(out))
    assert done.returncode == 2 and done.stdout == "" and not out.exists()
    assert done.stderr == f"python -m reports: error: --results {tmp_path / 'none.json'}: cannot read the file (No such file or directory)\n"
