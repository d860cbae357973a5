"""benchmarks/scaling.py: the cell record, the multiply-add count, the growth fit, the README
table and the command line (no timing assertions; heyoka is made unimportable)."""
from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path

import pytest
import sympy as sp

from numerics.core.taylor import jorba_zou_order

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("scaling", ROOT / "benchmarks" / "scaling.py")
scaling = importlib.util.module_from_spec(spec)
sys.modules["scaling"] = scaling   # dataclasses look their module up there
spec.loader.exec_module(scaling)


@pytest.fixture(scope="module")
def tiny_cell():
    """L = 2, d = 3 at 20 digits to T = 1/10, heyoka unimportable, odefun in its child."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(sys.modules, "heyoka", None)   # import heyoka -> ImportError
        return scaling.run_cell(2, 3, 20, T="1/10", odefun_timeout=120, routes=("mpfr", "c"))


def test_a_cell_record_has_every_field_and_null_heyoka_columns(tiny_cell):
    r = json.loads(json.dumps(tiny_cell))   # JSON-ready
    assert (r["L"], r["d"], r["n"], r["digits"], r["T"], r["seed"]) == (2, 3, 2, 20, "1/10", 0)
    assert set(r["expression"]) == {"ours", "ours parametric", "heyoka"}
    assert r["expression"]["heyoka"].startswith("structured")
    ours = r["routes"]["mpfr"]
    assert ours["steps"] >= 1 and ours["order"] == jorba_zou_order(1e-20)
    assert ours["build_seconds"] > 0 and ours["integrate_seconds"] > 0
    assert ours["caches_builds"] is False and ours["second_build_seconds"] is None
    assert ours["prec_bits"] == r["schoolbook"]["prec_bits"] > 20 * 3.32
    assert r["heyoka"]["status"] == "not installed" and "bench" in r["heyoka"]["reason"]
    assert ours["max_abs_diff_vs_heyoka"] is None and ours["integrate_over_heyoka_propagate"] is None
    assert r["environment"]["heyoka"] is None
    assert r["odefun"]["status"] == "ok" and r["odefun"]["max_abs_diff_vs_ours"] < 1e-17
    sb = r["schoolbook"]
    assert sb["multiply_adds_per_step"] == sum(sb["by_kind"].values())
    assert set(sb["by_kind"]) == {"lin", "mul", "state update"}   # L = 2: no power node
    assert sb["limit_seconds"] == pytest.approx(sb["seconds_per_step"] * ours["steps"])
    assert ours["integrate_over_schoolbook"] > 0
    mem = r["memory"]
    assert 0 < mem["after_imports_kib"] <= mem["after_ours_kib"] <= mem["peak_kib"]
    assert len(scaling.table_rows([r])) == 2
    c = r["routes"]["c"]
    assert c["caches_builds"] is True and c["second_build_seconds"] < c["build_seconds"]
    assert c["steps"] == ours["steps"] and c["max_abs_diff_vs_mpfr"] < 1e-19   # same flow, other program


def test_the_expanded_and_structured_forms_are_one_flow():
    problem = scaling.make_problem(3, 4, seed=5)
    w, rhs = problem.expanded_rhs()
    w2, r, r_defs, structured = problem.structured_rhs()
    substituted = [e.xreplace(dict(zip(r, r_defs))) for e in structured]
    assert all(sp.expand(a - b) == 0 for a, b in zip(rhs, substituted))
    assert problem.n == 2 and all(q.denominator in range(1, 10) for row in problem.X for q in row)
    assert scaling.make_problem(3, 4, seed=5) == problem   # seeded


def test_the_parametric_form_is_the_same_flow():
    problem = scaling.make_problem(3, 4, seed=5)
    w, rhs = problem.expanded_rhs()
    w2, parametric, symbols = problem.parametric_rhs()
    values = dict(zip(symbols, problem.data_values()))
    assert all(sp.expand(a - b.xreplace(values)) == 0 for a, b in zip(rhs, parametric))
    other = scaling.make_problem(3, 4, seed=6)
    assert other.parametric_rhs() is problem.parametric_rhs()   # one program per shape


def test_multiply_adds_of_y_squared_counted_by_hand():
    # y' = y*y is one `sqr` node.  Per order k (k = 1..p-1): _sqr makes k//2 + 1 products
    # (k=1: y0*y1 -> 1; k=2: y0*y2 and y1*y1 -> 2; k=3: y0*y3, y1*y2 -> 2; k=4: y0*y4, y1*y3,
    # y2*y2 -> 3), and the state update y_{k+1} = F_k / (k+1) one more.
    # p = 4: (1+1) + (2+1) + (2+1) = 8;  p = 5: 8 + (3+1) = 12.
    y = sp.Symbol("y")
    system = scaling.TaylorSystem([y], [y * y])
    assert scaling.multiply_adds_per_step(system, 4) == {"total": 8, "by_kind": {"sqr": 5, "state update": 3}}
    assert scaling.multiply_adds_per_step(system, 5)["total"] == 12
    assert scaling.evaluation_multiply_adds_per_step(system, 4) == 4   # Horner, no monitor
    with pytest.raises(ValueError, match="order"):
        scaling.multiply_adds_per_step(system, 0)


def test_every_node_kind_of_the_taylor_program_has_a_count():
    y = sp.Symbol("y", positive=True)
    rhs = [y ** sp.Rational(1, 3) + sp.exp(y) + sp.log(y) + sp.sqrt(y) + 1 / (1 + y) + y / (2 + y)
           + sp.sin(y) + sp.cos(y) + sp.tanh(y)]
    system = scaling.TaylorSystem([y], rhs)
    kinds = {n.kind for n in system._nodes}
    assert kinds <= set(scaling.NODE_MULTIPLY_ADDS)
    assert scaling.multiply_adds_per_step(system, 3)["total"] > 0


def _synthetic(record, d, digits, seconds):
    r = copy.deepcopy(record)
    r.update(L=3, d=d, digits=digits, T="5")
    r["routes"]["mpfr"]["integrate_seconds"] = seconds
    r["schoolbook"]["limit_seconds"] = seconds / 2
    return r


def test_growth_exponents_recover_a_known_slope(tiny_cell):
    assert scaling.growth_exponent([1, 10, 100], [3, 3 * 10 ** 2.5, 3 * 100 ** 2.5]) == pytest.approx(2.5)
    assert scaling.growth_exponent([10, 10], [1, 2]) is None
    records = [_synthetic(tiny_cell, d, g, 1e-3 * d ** 2 * g ** 1.5)
               for d in (3, 10, 30) for g in (50, 100)]
    fits = scaling.fitted_exponents(records)
    assert fits["time_vs_d"]["ours mpfr integrate"] == {"50": 2.0, "100": 2.0}
    assert fits["time_vs_digits"]["ours mpfr integrate"] == 1.5
    assert fits["time_vs_d"]["schoolbook limit"]["50"] == 2.0
    assert "heyoka propagate" not in fits["time_vs_d"]
    assert "+2.00 at 50 digits" in scaling.exponents_text(fits)


def test_readme_table_round_trip(tiny_cell, tmp_path):
    records = [_synthetic(tiny_cell, d, 50, 0.1 * d) for d in (3, 10)]
    stale = _synthetic(tiny_cell, 3, 50, 99.0)
    results = tmp_path / "scaling.jsonl"
    scaling.append_records(results, [stale])
    scaling.append_records(results, records)   # the later record of a cell wins
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n\n{scaling.README_BEGIN}\nold\n{scaling.README_END}\n\nrest\n")
    scaling.update_readme(readme, results)
    text = readme.read_text()
    assert text.startswith("intro\n\n") and text.endswith("\n\nrest\n")
    block = scaling.readme_current_block(text)
    assert block == scaling.readme_block(scaling.readme_blocks.load_records(results))
    assert "| 3 | 3 | 50 | mpfr |" in block and "| 3 | 10 | 50 | mpfr |" in block and " 99 " not in block
    scaling.update_readme(readme, results)
    assert readme.read_text() == text   # idempotent
    with pytest.raises(ValueError, match="markers|must contain"):
        scaling.replace_readme_block("no markers", block)


def test_readme_table_is_generated_from_the_committed_results():
    text = (ROOT / "README.md").read_text()
    assert scaling.readme_current_block(text) == scaling.readme_block(scaling.readme_blocks.load_records(scaling.RESULTS))


@pytest.mark.parametrize("argv, message", [
    (["--L", "1"], "argument --L: expected depth L"),
    (["--L", "three"], "argument --L: expected an integer"),
    (["--digits", "4"], "argument --digits: expected number of digits"),
    (["--cell", "3", "10", "2"], "argument --cell: expected number of digits"),
    (["--d", "0"], "argument --d: expected dimension"),
    (["--quick", "--L", "3"], "argument --quick"),
    (["--route", "nope"], "argument --route: invalid choice"),
    (["--T", "-1"], "argument --T: expected a positive horizon"),
])
def test_bad_command_lines_are_clear_argparse_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        scaling.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_help_explains_the_measurements(capsys):
    with pytest.raises(SystemExit) as exc:
        scaling.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for word in ("schoolbook", "heyoka", "odefun", "--readme", "--figure", "ru_maxrss", "seed"):
        assert word in out
