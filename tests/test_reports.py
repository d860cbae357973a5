"""The LaTeX reports: escaping, rendering (fake and real results), reproducible bytes, PDF build."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports import build, cli
from reports.build import REPORTS, escape_mixed, escape_tex, math_lines, render_tex

SPECIALS = r"a_b^c*d<e>f|g&h%i#j$k~l\m{n}o" + '"p'
NASTY = SPECIALS + " α≥β, ‖w‖², x ∈ ℝ — done…"
HAS_PDFLATEX = shutil.which("pdflatex") is not None
needs_pdflatex = pytest.mark.skipif(not HAS_PDFLATEX, reason="pdflatex is not on PATH")


def _numeric(verdict="zero", points=8, exact=8, ball=0, counterexample=None, value=None, note=None):
    return {"verdict": verdict, "points": points, "exact_points": exact, "ball_points": ball,
            "counterexample": counterexample, "value": value, "note": note}


def _step(label, lhs, rhs, *, verdict="verified", relation="=", relation_latex="=", lhs_display="",
          numeric=None, reason="because", symbolic="zero", seconds=0.123):
    return {"label": label, "lhs": "x", "rhs": "x", "lhs_latex": lhs, "rhs_latex": rhs,
            "lhs_display": lhs_display, "relation": relation, "relation_latex": relation_latex,
            "reason": reason, "verdict": verdict, "symbolic": symbolic,
            "numeric": numeric or _numeric(), "seconds": seconds}


def fake_results() -> list[dict]:
    """Two claims that exercise every branch of the template, with LaTeX-special text."""
    long_sum = " + ".join(rf"\frac{{a_{{{i}}} x^{{{i}}}}}{{1 + b_{{{i}}}}}" for i in range(30))
    huge = " + ".join(f"c_{{{i}}} y^{{{i}}}" for i in range(400))
    refuted = _numeric("nonzero", points=1, exact=1, counterexample={"A_11": "6/7", "eta1": "-5/3", "w2": "1/3"},
                       value="-3254825/6926642")
    ball = _numeric("nonzero", points=1, exact=0, ball=1, counterexample={"x_1": "1/2"},
                    value="[-0.587018858148597 +/- 2.76e-16]")
    first = {
        "id": "DL-1", "title": "Special <title> with 100% & $5 | eta^2 sum_i", "group": "DL",
        "statement": r"For $c \neq 0$: $J(cw) = J(w)$, with ‖w‖ and α.",
        "assumptions": [{"name": "scale_invariance", "text": "a ratio of forms, $r = 0$ & no_ridge > 0"}],
        "scope": "only d <= 3 | see #12 ~ here",
        "verdict": "refuted", "ok": False, "error": None, "seconds": 12.3456,
        "steps": [
            _step("f(cw) = f(w) <label_1>", r"\frac{a}{b}", r"\frac{a c^{2}}{b c^{2}}", reason=SPECIALS),
            _step("long one", long_sum, "0", lhs_display=r"\sum_{i=0}^{29} \frac{a_i x^i}{1 + b_i}"),
            _step("long two", long_sum, long_sum, verdict="refuted", numeric=refuted, symbolic="skipped"),
            _step("huge", huge, "0", verdict="undecided", symbolic="unknown",
                  numeric=_numeric("undecided", ball=8, exact=0, note="ball too wide at 2^-53 | try dps>=50")),
            _step("ineq", r"Q", r"\frac{1}{L} \sum_l \|u_l\|^2", relation="<=", relation_latex=r"\leq",
                  symbolic="holds", numeric=_numeric("holds")),
        ],
        "falsifiers": [
            {"drops": "scale_invariance", "setting": "ridge r > 0 & 50% | x^2", "falsified": True,
             "conclusion": _step("f(cw) = f(w)", "r w_{1}", "0", verdict="refuted", numeric=refuted,
                                 symbolic="skipped")},
            {"drops": "same-flow", "setting": "exp loss", "falsified": True,
             "conclusion": _step("", "e^{w}", "0", verdict="refuted", numeric=ball, symbolic="skipped")},
            {"drops": "depth~match", "setting": "L != L'", "falsified": False,
             "conclusion": _step("", "0", "0", verdict="verified")},
        ],
        "evidence": [
            {"quantity": "$Q(w)$ drift_max", "precision": "dps=50", "horizon": 10.0, "drift": 3.2e-48,
             "falsifier_drift": 0.0125, "note": "ridge r=1e-3 | 100%"},
            {"quantity": "balance", "precision": 30, "horizon": "1e3", "drift": 1e-29,
             "falsifier_drift": None, "note": None},
        ],
    }
    second = {
        "id": "DL-2", "title": "Broken derivation", "group": "DL", "statement": "Nothing.",
        "assumptions": [], "scope": "", "verdict": "undecided", "ok": False,
        "error": "ValueError: shapes (2, 1) and {3} differ_at <x>", "seconds": 0.5,
        "steps": [], "falsifiers": [],
    }
    return [first, second]


FAKE_EXPERIMENTS = [{"id": "MF-5", "title": "Q-margin & KKT_limit", "evidence": [
    {"quantity": "direction error |theta/Q - theta*/Q*|_Q", "precision": "float64 LSODA",
     "horizon": "s = 1e4", "drift": "1.0e-05", "falsifier": "distance to the l1 solution",
     "falsifier_drift": "0.12", "note": "rates: dir ~ s^-1 ~ (log t)^-1",
     "series": {"label": "quadratic (l2)", "x": [1.0, 10.0, 100.0], "y": [0.5, 0.0, 2e-7],
                "xlabel": "log t", "ylabel": "direction error_1"}}]}]


# ------------------------------------------------------------------------------- escaping


def test_escape_tex_handles_every_special_character():
    escaped = escape_tex(SPECIALS)
    for raw, expected in [("_", r"\_"), ("^", r"\textasciicircum{}"), ("<", r"\textless{}"),
                          (">", r"\textgreater{}"), ("|", r"\textbar{}"), ("&", r"\&"), ("%", r"\%"),
                          ("#", r"\#"), ("$", r"\$"), ("~", r"\textasciitilde{}"),
                          ("\\", r"\textbackslash{}"), ("{", r"\{"), ("}", r"\}")]:
        assert expected in escaped, raw
    assert escape_tex(None) == ""
    assert escape_tex("phi''(x), a--b, ``q") == "phi'{}'(x), a-{}-b, `{}`q"  # no ligatures
    assert escape_tex("plain text, 1-2") == "plain text, 1-2"


@given(st.text(max_size=60))
def test_escape_tex_output_is_safe(text):
    escaped = escape_tex(text)
    assert escaped.isascii()
    for char in set(text):
        one = escape_tex(char)
        if char in "\\{}$&#%_^~<>|\"\n\r\t" or not char.isascii() or not char.isprintable():
            assert one != char or char == " "
        else:
            assert one == char


def test_escape_mixed_keeps_math_and_escapes_prose():
    assert escape_mixed("a_b $x_1^2$ 50%") == r"a\_b $x_1^2$ 50\%"
    assert escape_mixed("costs $5") == r"costs \$5"  # unbalanced dollar: all prose
    assert escape_mixed("$α$ ≥ 0") == r"$\ensuremath{\alpha}$ \ensuremath{\geq} 0"


def test_pdf_string_reads_mixed_text_out_as_plain_ascii():
    assert build.pdf_plain(r"$\frac{d}{dt} u_{l,i}^2 = -2 g_i w_i$") == "d/dt u_{l,i}^2 = -2 g_i w_i"
    assert build.pdf_plain(r"$Q = -\frac{L}{2(L-2)}\,|w|^{2/L}$") == "Q = -L/(2(L-2)) |w|^(2/L)"
    assert build.pdf_plain(r"$\langle w, \nabla f(w)\rangle = 0$, $d = 2$") == "<w, grad f(w)> = 0, d = 2"
    assert build.pdf_plain(r"$p$-power ($p = 3$): $\varphi^*(y)$, $\Sigma_b = \delta\delta^\top$") \
        == "p-power (p = 3): phi^*(y), Sigma_b = delta delta^T"
    assert build.pdf_plain(r"$\sqrt{w^2 + 4\alpha_0^4}$ $\to$ $\ell_\infty$, $\operatorname{asinh}(\sinh\,z)$") \
        == "sqrt(w^2 + 4 alpha_0^4) -> l_inf, asinh(sinh z)"
    assert build.pdf_plain("costs $5 & α ≤ β") == "costs $5 & alpha <= beta"  # unbalanced: all prose
    assert build.pdf_plain(None) == ""
    assert build.pdf_string(r"DL-8 grows by $\eta^2 \sum_i g_i^2 |w_i|^{2-2/L}$") == (
        r"DL-8 grows by eta\textasciicircum{}2 sum\_i g\_i\textasciicircum{}2 \textbar{}w\_i\textbar{}"
        r"\textasciicircum{}(2-2/L)")


def test_titles_step_labels_and_falsifier_labels_keep_their_math():
    results = fake_results()
    results[0]["title"] = r"Growth by $\eta^2 \sum_i g_i^2$ & 100%"
    results[0]["steps"][0]["label"] = r"$\frac{d}{dt} u_{l,i}^2 = -2 g_i w_i$ <first>"
    results[0]["falsifiers"][0]["conclusion"]["label"] = r"$\dot w = -L\,|w|^{2-2/L} \odot g$, d_1"
    tex = render_tex(REPORTS["deep_lda"], results, name="deep_lda", points=8, seed=0)
    assert tex.isascii()
    heading = (r"\section{\texorpdfstring{DL-1\quad Growth by $\eta^2 \sum_i g_i^2$ \& 100\%}"
               r"{DL-1 Growth by eta\textasciicircum{}2 sum\_i g\_i\textasciicircum{}2 \& 100\%}}")
    assert heading in tex
    assert r"{DL-1} & Growth by $\eta^2 \sum_i g_i^2$ \& 100\% & " in tex  # the summary table
    # steps 1 and 2 are short and share the claim's route sentence: rows of a step table
    assert r"\textbf{1} & $\frac{d}{dt} u_{l,i}^2 = -2 g_i w_i$ \textless{}first\textgreater{}\quad" in tex
    assert r"; $\dot w = -L\,|w|^{2-2/L} \odot g$, d\_1\fpend{" in tex


_ASCII_MATH = re.compile(r"\^|\|\||[<>!]=|->|d/d[a-z]|<[a-z]|\b(phi|theta|eta|alpha|tau|sigma|Sigma|delta|sum|grad|"
                         r"sqrt|oo|l_oo|eps)\b|[A-Za-z]_[A-Za-z0-9{]|\*")


def _prose(mixed: str) -> str:
    parts = re.split(r"(?<!\\)\$", mixed)
    assert len(parts) % 2 == 1, f"unbalanced $ in {mixed!r}"
    return re.sub(r"[\w/]+\.py\b|\bdeep_lda\b", "", " ".join(parts[::2]))  # file and module names are not math


def test_project_claim_texts_write_their_math_in_dollars():
    """Titles, assumptions and falsifier settings of every project claim are mixed text: no
    ASCII math (``^``, ``||``, ``<=``, ``phi``, ``x_i``, ``*``) in the prose outside ``$…$``."""
    from derivations import registry
    texts = []
    for claim in registry.all_claims():
        texts += [claim.title, claim.scope] + [text for _, text in claim.assumptions]
        texts += [f.setting for f in claim.falsifiers]
    offenders = [text for text in texts if _ASCII_MATH.search(_prose(text))]
    assert not offenders, offenders


def test_project_step_labels_write_their_math_in_dollars(real_results):
    labels = [s["label"] for r in real_results for s in r["steps"] + [f["conclusion"] for f in r["falsifiers"]]]
    labels = [label.replace("inverse_fisher", "").replace("neg_log_fisher", "").replace("trace_ratio", "")
              for label in labels]  # loss names are identifiers, not math
    offenders = [label for label in labels if _ASCII_MATH.search(_prose(label))]
    assert labels and not offenders, offenders
    tex = render_tex(REPORTS["deep_lda"], real_results, name="deep_lda", points=8, seed=0)
    assert re.search(r"(\\enspace|\\textbf\{\d+\} &) \$\\frac\{d\}\{dt\} u_\{l,i\}\^2 = -2 g_i w_i\$(\\hfill|\\quad)", tex)


def test_math_lines_break_only_at_top_level():
    latex = r"\left(a + b\right) c + \frac{d - e}{f} - \begin{matrix}g + h\end{matrix} + k"
    lines = math_lines(latex, width=10)
    assert lines == [r"\left(a + b\right) c", r"+ \frac{d - e}{f}", r"- \begin{matrix}g + h\end{matrix}", "+ k"]
    assert math_lines("- a - b", width=3) == ["- a", "- b"]  # a leading unary minus is not a break
    assert math_lines(r"\left(a + b", width=3) == [r"\left(a + b"]  # unbalanced: left whole


def test_values_and_points():
    assert build.value_tex("6/7") == "$6/7$"
    assert build.value_tex("[-0.5 +/- 2.76e-16]") == r"$-0.5 \pm 2.76 \cdot 10^{-16}$"
    assert build.value_tex(3.2e-48) == r"$3.2 \times 10^{-48}$"
    assert build.value_tex(None) == "---"
    assert build.value_tex("dps=50 | x") == r"dps=50 \textbar{} x"
    assert build.point_tex({"eta1": "1/2", "A_11": "-3"}) == r"$A_{11} = -3$, $\eta_{1} = 1/2$"


# ------------------------------------------------------------------------------- rendering


def test_render_fake_results_covers_every_branch():
    tex = render_tex(REPORTS["deep_lda"], fake_results(), name="deep_lda", points=8, seed=0)
    assert tex.isascii()
    assert r"\section{\texorpdfstring{DL-1\quad Special \textless{}title\textgreater{} with 100\% \& \$5" in tex
    assert r"f(cw) = f(w) \textless{}label\_1\textgreater{}" in tex
    assert escape_tex(SPECIALS) in tex  # the reason
    assert r"\sum_{i=0}^{29} \frac{a_i x^i}{1 + b_i}" in tex  # lhs_display replaces lhs_latex
    assert r"\fpcont{{}\leq \frac{1}{L}" in tex or r"Q \leq \frac{1}{L}" in tex
    # a long expression is never dropped: a link in the text, the expression in the appendix
    assert "typeset in full in" in tex and r"\section*{Appendix: long expressions}" in tex
    key = tex.split(r"\hyperref[long:")[1].split("]")[0]
    assert tex.count(f"long:{key}") == 2
    appendix = tex.split(r"\section*{Appendix: long expressions}")[1]
    assert r"\fpat{0}{" in appendix and "characters, typeset in full" not in appendix
    assert r"$A_{11} = 6/7$, $\eta_{1} = -5/3$, $w_{2} = 1/3$" in tex
    assert r"-0.587018858148597 \pm 2.76 \cdot 10^{-16}" in tex
    assert r"\fpverdict{refuted}" in tex and r"\fpverdict{undecided}" in tex
    assert r"\fpbadge{fprefuted}{did not fail: verified}" in tex
    assert r"\textbf{F1}\enspace drops \textsf{scale\_invariance}: ridge r \textgreater{} 0" in tex
    assert r"\subsection*{Numeric evidence}" in tex and r"$3.2 \times 10^{-48}$" in tex
    assert r"differ\_at \textless{}x\textgreater{}" in tex  # the error of DL-2
    assert r"\paragraph{Scope.} only d \textless{}= 3 \textbar{} see \#12" in tex
    assert "0 of 2 claims verified" in tex
    assert "12.3456" not in tex and "0.123" not in tex  # no timings in the .tex
    assert "Numerical experiments" not in tex
    with_experiments = render_tex(REPORTS["deep_lda"], fake_results(), name="deep_lda",
                                  experiments=FAKE_EXPERIMENTS)
    assert r"\section*{Numerical experiments without a symbolic derivation}" in with_experiments
    assert r"MF-5\quad Q-margin \& KKT\_limit" in with_experiments
    assert r"(log t)\textasciicircum{}-1" in with_experiments
    # a row with a series becomes a curve of a log-log plot (the zero is left out)
    assert r"\addplot coordinates {(1,0.5) (100,2e-07)};" in with_experiments
    assert r"ylabel={direction error\_1}" in with_experiments
    assert r"\addlegendentry{quadratic (l2)}" in with_experiments
    assert "loglogaxis" not in tex
    # no evidence key, no evidence table
    plain = [dict(r) for r in fake_results()]
    del plain[0]["evidence"]
    assert "Numeric evidence" not in render_tex(REPORTS["deep_lda"], plain, name="deep_lda")


def test_split_evidence_attaches_rows_to_claims_and_keeps_the_rest_as_experiments():
    results = [{"id": "MF-2"}, {"id": "MF-3"}]
    spec = {"experiments": {"MF-5": "Q-margin"}}
    rows = {"MF-2": [{"drift": "1e-33"}], "MF-3": [], "MF-5": [{"drift": "1e-5"}], "MF-9": [{}]}
    experiments = build.split_evidence(spec, results, rows)
    assert results == [{"id": "MF-2", "evidence": [{"drift": "1e-33"}]}, {"id": "MF-3"}]
    assert experiments == [{"id": "MF-5", "title": "Q-margin", "evidence": [{"drift": "1e-5"}]},
                           {"id": "MF-9", "title": "Numerical experiment", "evidence": [{}]}]


def test_render_is_byte_identical_and_ignores_timings():
    first = render_tex(REPORTS["deep_lda"], fake_results(), name="deep_lda", points=8, seed=0)
    again = fake_results()
    for result in again:
        result["seconds"] = 99.0
        for step in result["steps"]:
            step["seconds"] = 42.0
    assert render_tex(REPORTS["deep_lda"], fake_results(), name="deep_lda", points=8, seed=0) == first
    assert render_tex(REPORTS["deep_lda"], again, name="deep_lda", points=8, seed=0) == first


def test_render_rejects_results_without_id():
    with pytest.raises(ValueError, match="'id'"):
        render_tex(REPORTS["deep_lda"], [{"title": "x"}])


@pytest.fixture(scope="module")
def real_results():
    from derivations import registry
    from derivations.claims import check_claim

    return [check_claim(c).to_json() for c in registry.select(["DL-1", "DL-2"])]


def test_render_real_dl_results(real_results):
    tex = render_tex(REPORTS["deep_lda"], real_results, name="deep_lda", points=8, seed=0)
    assert tex.isascii()
    for result in real_results:
        assert rf"\label{{claim:{result['id']}}}" in tex
        assert tex.count(r"\hyperref[claim:" + result["id"] + "]") == 1
    assert tex.count(r"\fpverdict{") >= sum(len(r["steps"]) for r in real_results)
    assert render_tex(REPORTS["deep_lda"], json.loads(json.dumps(real_results)), name="deep_lda",
                      points=8, seed=0) == tex


# ------------------------------------------------------------------------------- files and CLI


def test_write_atomic_replaces_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "a.tex"
    build.write_atomic(target, "one")
    build.write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["a.tex"]


def test_report_table_is_well_formed():
    for name, spec in REPORTS.items():
        assert re.fullmatch(r"[a-z_]+", name)
        assert spec["title"] and spec["groups"]
        assert (build.TEMPLATE_DIR / spec.get("template", "report.tex.j2")).exists()


def test_cli_builds_tex_and_json_and_skips_empty_groups(tmp_path, monkeypatch, capsys, real_results):
    from derivations import registry

    chosen = registry.select(["DL-1", "DL-2"])
    monkeypatch.setattr(registry, "all_claims", lambda: chosen)
    row = {"quantity": "gap", "precision": "30 digits", "horizon": "T = 1", "drift": "1e-31",
           "falsifier": "rates", "falsifier_drift": "0.3", "note": "fake"}
    monkeypatch.setattr(build, "numeric_evidence", lambda spec, quick, fresh=False: {"DL-2": [row]})
    code = cli.main(["--no-pdf", "--json", "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 0
    summary = json.loads(captured.out)
    by_name = {entry["name"]: entry for entry in summary["reports"]}
    assert by_name["deep_lda"]["status"] == "built"
    assert [c["id"] for c in by_name["deep_lda"]["claims"]] == ["DL-1", "DL-2"]
    assert by_name["deep_lda"]["pdf"] is None
    assert by_name["mirror_flow"]["status"] == "skipped"  # no MF claim among the two
    assert "mirror_flow] skipped: no claims registered for group(s) MF" in captured.err
    tex = (tmp_path / "deep_lda.tex").read_bytes()
    written = json.loads((tmp_path / "deep_lda.json").read_text())
    assert written[0]["id"] == "DL-1" and "evidence" not in written[0]
    assert written[1]["evidence"] == [row] and "Numeric evidence" in tex.decode()
    assert cli.main(["--only", "deep_lda", "--no-pdf", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "deep_lda.tex").read_bytes() == tex


def test_cli_renders_from_a_results_file(tmp_path, capsys, real_results):
    results_file = tmp_path / "results.json"
    results_file.write_text(json.dumps(real_results))
    out = tmp_path / "out"
    assert cli.main(["--results", str(results_file), "--no-pdf", "--json", "--out", str(out), "--evidence", "none"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [e["status"] for e in summary["reports"]] == ["built", "skipped", "skipped"]
    expected = render_tex(REPORTS["deep_lda"], real_results, name="deep_lda")
    assert (out / "deep_lda.tex").read_text() == expected
    results_file.write_text('{"not": "a list"}')
    assert cli.main(["--results", str(results_file), "--out", str(out)]) == 2
    assert "expected a JSON list" in capsys.readouterr().err


def test_cli_without_pdflatex_writes_the_tex_and_says_so(tmp_path, monkeypatch, capsys, real_results):
    results_file = tmp_path / "results.json"
    results_file.write_text(json.dumps(real_results))
    monkeypatch.setattr(build, "pdflatex_path", lambda: None)
    assert cli.main(["--only", "deep_lda", "--results", str(results_file), "--json", "--out", str(tmp_path), "--evidence", "none"]) == 0
    captured = capsys.readouterr()
    entry = json.loads(captured.out)["reports"][0]
    assert entry["status"] == "built" and entry["pdf"] is None and (tmp_path / "deep_lda.tex").exists()
    assert "pdflatex not found on PATH" in captured.err and "texlive-latex-base" in captured.err


def test_cli_latex_failure_exits_1_with_the_log_tail(tmp_path, monkeypatch, capsys, real_results):
    results_file = tmp_path / "results.json"
    results_file.write_text(json.dumps(real_results))
    (tmp_path / "deep_lda.pdf").write_bytes(b"%PDF stale")

    def failing(tex, jobname, **options):
        raise build.LatexError("pdflatex failed (exit code 1) on pass 1", "! Undefined control sequence.", "full log")

    monkeypatch.setattr(build, "pdflatex_path", lambda: "/usr/bin/pdflatex")
    monkeypatch.setattr(build, "compile_pdf", failing)
    assert cli.main(["--only", "deep_lda", "--results", str(results_file), "--out", str(tmp_path), "--evidence", "none"]) == 1
    assert "! Undefined control sequence." in capsys.readouterr().err
    assert (tmp_path / "deep_lda.log").read_text() == "full log"
    assert not (tmp_path / "deep_lda.pdf").exists()  # no PDF that does not match the .tex


def test_cli_usage_errors(capsys):
    assert cli.main(["--points", "0"]) == 2
    with pytest.raises(SystemExit) as exc:
        cli.main(["--only", "no_such_report"])
    assert exc.value.code == 2
    assert cli.main(["--list"]) == 0
    assert "deep_lda" in capsys.readouterr().out


# ------------------------------------------------------------------------------- PDF


@needs_pdflatex
def test_pdf_of_the_fake_report_compiles_and_is_byte_identical():
    tex = render_tex(REPORTS["deep_lda"], fake_results(), name="deep_lda", points=8, seed=0,
                     experiments=FAKE_EXPERIMENTS)
    first = build.compile_pdf(tex, "deep_lda")
    second = build.compile_pdf(tex, "deep_lda")
    assert first.startswith(b"%PDF")
    assert first == second
    assert b"/CreationDate" not in first and b"/ID [" not in first


@needs_pdflatex
def test_pdf_compile_error_reports_the_log_tail():
    broken = "\\documentclass{article}\n\\begin{document}\n\\undefinedmacro\n\\end{document}\n"
    with pytest.raises(build.LatexError) as exc:
        build.compile_pdf(broken, "broken")
    assert "Undefined control sequence" in exc.value.log_tail


def test_a_long_step_shows_its_named_subexpressions_and_links_the_full_form():
    long = " + ".join(rf"\frac{{a_{{{k}}}}}{{1 + b_{{{k}}}}}" for k in range(200))
    step = {"label": "long", "lhs_latex": long, "rhs_latex": "0", "relation_latex": "=", "reason": "r",
            "verdict": "verified",
            "cse": {"definitions": [[r"\kappa_{1}", r"1 + b_{1}"]], "lhs_latex": r"\frac{a_1}{\kappa_{1}}",
                    "rhs_latex": "0"}}
    text = build.step_math(step)
    assert r"\text{where }\kappa_{1} = 1 + b_{1}" in text and r"\frac{a_1}{\kappa_{1}}" in text
    assert rf"\hyperref[long:{build.long_key(step)}]" in text and long not in text
    assert long.split(" + ")[-1] in build.step_math(step, full=True)
    assert [e["key"] for e in build.long_expressions([{"id": "X-1", "steps": [step, step]}])] == [build.long_key(step)]


# ------------------------------------------------------------------------------- layout (issue 11)


def test_the_appendix_breaks_long_expressions_into_lines_of_normal_size():
    """A long expression is split at its sums, products, brackets and fractions, each line
    narrow enough for the appendix column; no line is a scaled-down whole."""
    nested = r"- \frac{2 u_{1} \left(" + " + ".join(f"a_{{{k}}} x^{{{k}}}" for k in range(60)) + r"\right)^{2}}{" \
        + " + ".join(f"b_{{{k}}}" for k in range(40)) + "}"
    lines = build.display_lines(nested, width=build.APPENDIX_WIDTH)
    assert len(lines) > 5
    assert all(build.visible_width(line) + build.indent_width(depth) <= build.APPENDIX_WIDTH for depth, line in lines)
    text = " ".join(line for _, line in lines)
    assert text.startswith(r"- \Bigl( 2 u_{1}") and r"\Bigr)^{2} \Bigr) \Big/" in text and "b_{39}" in text
    assert text.count(r"\Bigl(") == text.count(r"\Bigr)")
    column = r"\left[\begin{matrix}" + r"\\".join(" + ".join(f"c_{{{k}}}" for k in range(30)) for _ in range(2)) \
        + r"\end{matrix}\right]"
    text = " ".join(line for _, line in build.display_lines(column, width=30))
    assert text.startswith(r"\Bigl[ c_{0}") and text.endswith(r"\Bigr]^{\top}") and r",\;" in text
    tex = build.full_math({"lhs_latex": nested, "rhs_latex": "0", "relation_latex": "="})
    assert tex.count(r"\fpat{") == len(lines) and tex.rstrip().endswith("= 0}")


def test_short_steps_with_the_common_route_are_rows_of_a_step_table():
    step = _step("short", "a", "b")
    steps = [step, step, _step("wide", " + ".join(f"x_{{{k}}}" for k in range(40)), "0"), step]
    blocks = build.step_blocks(steps)
    assert [(b["kind"], [g["first"] for g in b["groups"]]) for b in blocks] == [
        ("table", [1, 2]), ("group", [3]), ("group", [4])]
    tex = render_tex(REPORTS["deep_lda"], [{**fake_results()[1], "steps": steps}], name="deep_lda")
    assert tex.count(r"\textbf{1} & short\quad {\footnotesize\emph{Reason:} because}") == 1
    assert r"\textbf{Step 3}\enspace wide" in tex and r"\textbf{Step 4}\enspace short" in tex


def test_named_subexpressions_share_lines():
    definitions = [[rf"\kappa_{{{k}}}", f"u_{{{k}}} v_{{{k}}}"] for k in range(1, 13)]
    step = {"lhs_latex": "x" * (build.MAX_EXPRESSION_CHARS + 1), "rhs_latex": "0",
            "cse": {"definitions": definitions, "lhs_latex": r"\kappa_{12}", "rhs_latex": "0"}}
    text = build.step_math(step)
    assert r"\text{where }\kappa_{1} = u_{1} v_{1},\quad \kappa_{2} = u_{2} v_{2}" in text
    assert text.count(r"\fpat{") < len(definitions) / 3


def test_evidence_columns_name_what_they_hold():
    tex = render_tex(REPORTS["deep_lda"], fake_results(), name="deep_lda", experiments=FAKE_EXPERIMENTS)
    assert "Drift" not in tex and "Its drift" not in tex and "drift column" not in tex
    heads = " & ".join(escape_mixed(c) for c in build.EVIDENCE_COLUMNS)
    assert tex.count(heads) == 2 * 2  # claim evidence and experiment runs, first head and continued head
    counts = [{"id": "LAW-COUNTS", "title": "counts", "evidence": [
        {"quantity": "diagonal net L=3, d=2", "precision": "mirror flow (cosh)", "horizon": "D = 6",
         "drift": "4 laws found", "falsifier": "at most (D - Lie rank)", "falsifier_drift": "4", "note": "LAW-1"}]}]
    results = [{**fake_results()[1], "id": "LAW-1", "group": "LAW"}]
    tex = render_tex(REPORTS["conservation"], results, name="conservation", experiments=counts)
    assert r"Model; flow; dimension $D$ & Laws found & Certified upper bound & Bound \\" in tex
    # the quantity has its column; its precision, horizon and note share one muted line below the row
    assert r"diagonal net $L = 3$, $d = 2$ & 4 laws found & " in tex
    assert r"{\footnotesize\color{fpmuted}mirror flow ($\cosh$); D = 6\enspace---\enspace LAW-1}" in tex
    assert counts[0]["evidence"][0]["quantity"] == "diagonal net L=3, d=2"  # the JSON keeps the plain name
