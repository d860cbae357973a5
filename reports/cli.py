"""Command line: build the LaTeX/PDF derivation reports (``python -m reports --help``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from derivations.guard import run_guarded

from . import build
from .build import REPORTS, LatexError, note

APT_HINT = (
    "apt-get install --no-install-recommends texlive-latex-base texlive-latex-recommended "
    "texlive-pictures latexmk"
)


def default_out() -> Path:
    """``reports/build`` of the source checkout; ``./reports/build`` for an installed package."""
    package = Path(build.__file__).resolve().parent
    if (package.parent / "pyproject.toml").exists():
        return package / "build"
    return Path("reports") / "build"


def _shown(path: Path | None) -> str | None:
    if path is None:
        return None
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def build_parser() -> argparse.ArgumentParser:
    names = ", ".join(f"{name} ({'/'.join(spec['groups'])})" for name, spec in REPORTS.items())
    parser = argparse.ArgumentParser(
        prog="python -m reports",
        description=(
            "Build the derivation reports of flowproof: check the claims of each report's groups "
            "(as 'python -m derivations' does), render NAME.tex from a Jinja2 template, and compile "
            "NAME.pdf with pdflatex when it is on PATH. Each claim gets a section with its statement, "
            "assumptions, the chain of steps with their verdicts and the falsifiers. The full results, "
            "with timings, go to NAME.json next to the .tex. The .tex and the PDF are byte-identical "
            "from run to run (SOURCE_DATE_EPOCH, default 0, fixes the PDF date). A report whose groups "
            f"have no registered claim is skipped with a message. Reports: {names}."
        ),
        epilog=(
            "Exit codes: 0 every requested report was written (or skipped: no claims, no pdflatex); "
            "1 a report failed to render or compile (the end of the LaTeX log is shown); 2 bad usage, "
            "with a one-line 'error:' naming the argument: an unknown option, --points out of range, "
            "a --results file that is missing, empty, not JSON or not a list of claim results as "
            "'python -m derivations --json' prints them, or an --out that is empty or not a writable "
            "folder; nothing is written then. "
            "Claim verdicts do not change the exit code: 'python -m derivations' is the gate. "
            "Examples: python -m reports;  python -m reports --only deep_lda --no-pdf;  "
            "python -m reports --json --out /tmp/reports;  "
            "python -m derivations --json > r.json; python -m reports --results r.json"
        ),
    )
    parser.add_argument(
        "--only", action="append", choices=sorted(REPORTS), metavar="NAME",
        help=f"build only this report (repeatable; one of: {', '.join(sorted(REPORTS))})",
    )
    parser.add_argument("--no-pdf", action="store_true", help="write the .tex (and .json) only, do not run pdflatex")
    parser.add_argument("--json", action="store_true", help="print a JSON summary of what was built on stdout")
    parser.add_argument("--out", default=None, metavar="DIR",  # a str: Path('') would be '.'
                        help="output folder, created if needed (default: reports/build/ of the source tree)")
    parser.add_argument("--points", type=int, default=8,
                        help="random points per step for the numeric route, 1 to the maximum of "
                        "'python -m derivations' (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random points (default 0)")
    parser.add_argument(
        "--results", type=Path, default=None, metavar="FILE",
        help="do not check the claims: take the results from FILE, a JSON list as printed by "
        "'python -m derivations --json' ('-' reads stdin)",
    )
    parser.add_argument("--fresh", action="store_true",
                        help="check the claims and recompute the numeric evidence instead of reusing what "
                        "'python -m derivations' and earlier runs stored in the disk cache "
                        "($FLOWPROOF_CACHE, default .cache/flowproof; an entry is valid only for the exact "
                        "source files and library versions that computed it)")
    parser.add_argument("--evidence", choices=["full", "quick", "none"], default="full",
                        help="numeric evidence tables from simulations of the flows: full (default, about a "
                        "minute), quick (short runs), none")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="compute the evidence and the experiments' grid points on a Dask LocalCluster "
                        "of N worker processes (default: one per core; 1 computes them in this process)")
    parser.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                        help="send the evidence and grid points to this running Dask scheduler instead "
                        "(its workers need flowproof installed at this version)")
    parser.add_argument("--file", type=Path, default=None, metavar="FILE.py",
                        help="build one report, NAME.tex/.pdf with NAME the file's stem, for the claims defined "
                        "in your own Python file (see the README, 'Your own claims'); with --results, the "
                        "results of 'python -m derivations --file FILE.py --json'")
    parser.add_argument("--list", action="store_true", help="list the reports and their claim groups, then exit")
    return parser


def file_report(path: Path) -> tuple[str, dict, list]:
    """The report of a researcher's claim file: its name (the file's stem), its spec (one
    group per claim prefix, in the file's order) and its claims."""
    from derivations import registry

    claims = registry.load_file(path)
    groups = list(dict.fromkeys(c.group for c in claims))
    spec = {"title": f"Your claims: {path.name}", "subtitle": "Checked step by step by flowproof",
            "groups": groups, "template": "report.tex.j2",
            "abstract": f"The claims of {build.escape_tex(path.name)} (group(s) {build.escape_tex(', '.join(groups))}), "
                        "each derived step by step and checked by two independent routes, with its falsifiers."}
    return path.stem, spec, claims


def _check(claims, *, points: int, seed: int, fresh: bool = False) -> list[dict]:
    """The claims' results: a project claim's from the cache when ``python -m derivations``
    has just checked it with this code, these points and this seed (unless ``fresh``)."""
    from derivations import cache, registry
    from derivations.claims import check_claim

    results = []
    for claim in claims:
        project = registry.is_project_claim(claim)
        arguments = registry.result_cache_arguments(claim, points, seed)
        stored = cache.lookup("claim result", arguments) if project and not fresh else None
        if isinstance(stored, dict):
            note(f"  {claim.id:6} {stored['verdict']:10} (reused: checked by python -m derivations with this code)")
            results.append(stored)
            continue
        result = check_claim(claim, points=points, seed=seed)
        note(f"  {claim.id:6} {result.verdict:10} {result.seconds:7.2f} s  {claim.title}")
        if result.error:
            note(f"         error: {result.error}")
        results.append(cache.store("claim result", arguments, result.to_json()) if project else result.to_json())
    return results


def _claim_rows(results: list[dict]) -> list[dict]:
    rows = build.summarize(results)
    for row, result in zip(rows, results):
        row["seconds"] = result.get("seconds")
    return rows


def _load_results(path: Path) -> list[dict]:
    """Claim results from a ``python -m derivations --json`` file ('-': stdin), checked by
    :func:`reports.build.validate_results`; ``ValueError`` naming ``--results`` otherwise."""
    source = f"--results {path}"
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ValueError(f"{source}: cannot read the file ({reason})") from None
    if not text.strip():
        raise ValueError(f"{source}: the file is empty; expected a JSON list of claim results")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source}: not valid JSON ({exc})") from None
    except RecursionError:
        raise ValueError(f"{source}: not valid JSON (nested too deeply)") from None
    return build.validate_results(data, source=source)


def _check_points(points: int) -> None:
    from derivations.cli import MAX_POINTS  # one limit for both command lines

    if not 1 <= points <= MAX_POINTS:
        raise ValueError(f"--points must be in 1..{MAX_POINTS}, got {points}")


def _check_parallel(workers: int | None, scheduler: str | None) -> None:
    if workers is not None and workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    from numerics.core.runner import check_scheduler

    check_scheduler(scheduler)


def _group_of(result: dict) -> str:
    return result.get("group") or str(result["id"]).split("-")[0]


def run_report(
    name: str, *, out: Path, pdf: bool, points: int | None, seed: int | None,
    claims: list | None = None, given: list[dict] | None = None, evidence: str = "full",
    spec: dict | None = None, fresh: bool = False, fresh_evidence: bool | None = None,
) -> dict:
    """Build one report; returns its entry of the JSON summary (``status``: built/skipped/failed).

    ``spec``: the report's entry (default ``REPORTS[name]``; see :func:`file_report` for a
    user's).  The claims are checked here, unless ``given`` holds their results already.
    ``fresh``: check the claims again; ``fresh_evidence`` (default: as ``fresh``): recompute
    the evidence and experiments instead of reading the cache.
    """
    fresh_evidence = fresh if fresh_evidence is None else fresh_evidence
    spec = spec or REPORTS[name]
    groups = ", ".join(spec["groups"])
    entry = {"name": name, "title": spec["title"], "groups": list(spec["groups"]),
             "status": "built", "tex": None, "pdf": None, "json": None, "note": None, "claims": []}
    if given is not None:
        results = [r for group in spec["groups"] for r in given if _group_of(r) == group]
        if not results:
            entry.update(status="skipped", note=f"no results for group(s) {groups} in the --results file")
            note(f"[{name}] skipped: {entry['note']}")
            return entry
        note(f"[{name}] {len(results)} claim results of group(s) {groups} read from the --results file")
    else:
        chosen = build.select_claims(spec, claims or [])
        if not chosen:
            entry.update(status="skipped", note=f"no claims registered for group(s) {groups}")
            note(f"[{name}] skipped: {entry['note']}")
            return entry
        note(f"[{name}] checking {len(chosen)} claims of group(s) {groups}")
        results = _check(chosen, points=points, seed=seed, fresh=fresh)
    experiments: list[dict] = []
    if evidence != "none" and spec.get("evidence"):
        started = time.perf_counter()
        note(f"[{name}] numeric evidence ({evidence}{', recomputed' if fresh_evidence else ', from the cache when valid'})")
        rows = build.numeric_evidence(spec, quick=evidence == "quick", fresh=fresh_evidence)
        experiments = build.split_evidence(spec, results, rows)
        experiments += build.run_experiments(spec, quick=evidence == "quick", fresh=fresh_evidence)
        note(f"[{name}] evidence for {len(rows)} claims and {len(experiments)} experiments in "
             f"{time.perf_counter() - started:.1f} s")
    entry["claims"] = _claim_rows(results)
    json_path = build.write_atomic(out / f"{name}.json", json.dumps(results, indent=1) + "\n")
    entry["json"] = _shown(json_path)
    if experiments:
        build.write_atomic(out / f"{name}.experiments.json", json.dumps(experiments, indent=1) + "\n")
    try:
        tex = build.render_tex(spec, results, name=name, points=points, seed=seed,
                               experiments=experiments)
    except Exception as exc:  # a template error is a bug: say where, fail the build
        entry.update(status="failed", note=f"rendering failed: {type(exc).__name__}: {exc}")
        note(f"[{name}] {entry['note']}")
        return entry
    tex_path = build.write_atomic(out / f"{name}.tex", tex)
    entry["tex"] = _shown(tex_path)
    note(f"[{name}] wrote {entry['tex']}")
    pdf_path = out / f"{name}.pdf"
    if not pdf:
        entry["note"] = "PDF not requested (--no-pdf)"
        return entry
    if build.pdflatex_path() is None:
        entry["note"] = "pdflatex not found on PATH: wrote the .tex only"
        note(f"[{name}] pdflatex not found on PATH: the PDF is skipped (install TeX: {APT_HINT})")
        return entry
    started = time.perf_counter()
    try:
        data = build.compile_pdf(tex, name, progress=lambda m: note(f"[{name}] {m}"))
    except LatexError as exc:
        log_path = build.write_atomic(out / f"{name}.log", exc.log) if exc.log else None
        if pdf_path.exists():
            pdf_path.unlink()  # never leave a PDF that does not match the .tex
        entry.update(status="failed", note=str(exc))
        note(f"[{name}] {exc}; end of the LaTeX log" + (f" ({_shown(log_path)})" if log_path else "") + ":")
        note(exc.log_tail)
        return entry
    build.write_atomic(pdf_path, data)
    entry["pdf"] = _shown(pdf_path)
    note(f"[{name}] wrote {entry['pdf']} ({len(data)} bytes, {time.perf_counter() - started:.1f} s)")
    return entry


def main(argv: list[str] | None = None) -> int:
    """Build the reports; returns the exit code (argparse exits 2 itself on a bad option)."""
    args = build_parser().parse_args(argv)
    if args.list:
        for name, spec in REPORTS.items():
            print(f"{name:12} {'/'.join(spec['groups']):6} {spec['title']}")
        return 0
    try:  # every argument is checked before anything is written
        _check_points(args.points)
        _check_parallel(args.workers, args.scheduler)
        own = file_report(args.file) if args.file is not None else None
        given = _load_results(args.results) if args.results is not None else None
        out = build.prepare_out(args.out if args.out is not None else default_out())
    except ValueError as exc:
        print(f"python -m reports: error: {exc}", file=sys.stderr)
        return 2
    def body() -> int:
        try:
            return _build(args, out, given, own)
        except OSError as exc:
            print(f"python -m reports: error: writing the reports failed: {exc}", file=sys.stderr)
            return 1
    return run_guarded("python -m reports", body)


def _compute_evidence(args, reports) -> None:
    """Compute every report's evidence and experiment grid points at once, in parallel (a Dask
    LocalCluster, or ``--scheduler``), into the disk cache; the reports then only read it."""
    from numerics.core.runner import default_workers, run_tasks

    tasks = [task for _, spec in reports for task in build.report_tasks(spec, quick=args.evidence == "quick")]
    if not tasks:
        return
    workers = args.workers or default_workers()
    where = args.scheduler or (f"a Dask LocalCluster of {workers} workers" if workers > 1 else "this process")
    note(f"computing {len(tasks)} evidence runs and grid points ({'recomputed' if args.fresh else 'cached ones reused'}) "
         f"on {where}")
    started = time.perf_counter()
    run_tasks(tasks, fresh=args.fresh, workers=workers, scheduler=args.scheduler, description="evidence")
    note(f"evidence computed in {time.perf_counter() - started:.1f} s")


def _build(args, out: Path, given: list[dict] | None, own: tuple | None = None) -> int:
    started = time.perf_counter()
    if own is not None:  # a user's claim file: its own report only
        name, spec, claims = own
        reports = [(name, spec)]
    else:
        from derivations import registry

        claims = registry.all_claims()
        reports = [(name, REPORTS[name]) for name in (dict.fromkeys(args.only) if args.only else REPORTS)]
    if args.evidence != "none":
        _compute_evidence(args, reports)
    if given is not None:
        entries = [run_report(name, out=out, pdf=not args.no_pdf, points=None, seed=None, given=given,
                              evidence=args.evidence, spec=spec) for name, spec in reports]
    else:
        entries = [run_report(name, out=out, pdf=not args.no_pdf, points=args.points, seed=args.seed,
                              claims=claims, evidence=args.evidence, spec=spec, fresh=args.fresh,
                              fresh_evidence=False)
                   for name, spec in reports]
    ok = all(e["status"] != "failed" for e in entries)
    built = sum(e["status"] == "built" for e in entries)
    note(f"{built} report(s) built, {sum(e['status'] == 'skipped' for e in entries)} skipped, "
         f"{sum(e['status'] == 'failed' for e in entries)} failed in {time.perf_counter() - started:.1f} s "
         f"(output: {_shown(out)})")
    if args.json:
        json.dump({"out": _shown(out), "ok": ok, "reports": entries}, sys.stdout, indent=1)
        print()
    return 0 if ok else 1
