"""Our own mutation campaign: plant one small mistake at a time and see whether a test fails.

    python benchmarks/mutation.py                      # every target, report to stdout
    python benchmarks/mutation.py --target engine --json mutation.json
    python benchmarks/mutation.py --target derivations/zerotest.py --max 40 --jobs 2
    python benchmarks/mutation.py --list               # the mutants, without running them

A *mutant* is the project with one operator changed in one target module: a comparison
(``<`` ↔ ``<=``, ``>`` ↔ ``>=``, ``==`` ↔ ``!=``, ``in`` ↔ ``not in``, ``is`` ↔ ``is not``), a
boolean operator (``and`` ↔ ``or``), a ``not`` dropped, an arithmetic operator (``+`` ↔ ``-``,
``*`` ↔ ``/``, ``**`` → ``*``), ``all`` ↔ ``any``, ``True`` ↔ ``False``, or an integer
constant ``n`` → ``n + 1``.  Each mutant runs the tests that pin its module (``TARGETS``)
in a copy of the repository; it is *killed* when they fail (or time out), and *survives*
when they pass.  A survivor is either a hole in the tests or an equivalent mutant (one that
changes no behaviour); ``benchmarks/mutation_equivalent.json`` lists the survivors we
examined and judged equivalent, with the reason, and the report keeps them apart.

Why not mutmut or cosmic-ray: both mutate every module they are pointed at and run one
test command for all of them; here each module has its own fast test subset (the full suite
takes minutes), and the campaign must run from a plain checkout with nothing but the
project's own dependencies.  The operators are the classic ones of both tools.

Not part of CI's default run (minutes to hours); ``tests/test_mutation.py`` runs the
harness itself on a few mutants.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENT_FILE = ROOT / "benchmarks" / "mutation_equivalent.json"

_ENGINE_TESTS = ("tests/test_gate.py", "tests/test_engine.py", "tests/test_parsing.py",
                 "tests/test_derivations_cli.py")
#: target module -> the pytest arguments that pin it: fast subsets (the full suite takes
#: minutes), with -k where only part of a test file exercises the module
TARGETS: dict[str, tuple[str, ...]] = {
    "derivations/claims.py": _ENGINE_TESTS,
    "derivations/zerotest.py": _ENGINE_TESTS,
    "derivations/balls.py": _ENGINE_TESTS,
    "derivations/cli.py": _ENGINE_TESTS + ("tests/test_user_claims.py",),
    "derivations/parsing.py": ("tests/test_parsing.py",),
    "numerics/core/taylor.py": ("tests/test_taylor.py",),
    "numerics/mirror_flow/mirror_map.py": ("tests/test_mirror_numerics.py", "tests/test_features.py", "-k",
                               "inverse or derivatives or bad_potentials or user_potential or read_back "
                               "or scalar_reimplementation or mf2_balance_conserved or rewritten or flags_of "
                               "or cannot_simplify"),
    "numerics/mirror_flow/features.py": ("tests/test_features.py",),
    "numerics/mirror_flow/margins.py": ("tests/test_mirror_numerics.py", "-k",
                            "margin or kkt or q_values or loss_inverse or separable or horizon_spellings "
                            "or mf5 or mf6"),
}
GROUPS = {"engine": [t for t in TARGETS if t.startswith("derivations/")],
          "numerics": [t for t in TARGETS if t.startswith("numerics/")]}

_COMPARE_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
                 ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
                 ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_BINOP_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
               ast.Pow: ast.Mult}


@dataclass(frozen=True)
class Mutant:
    """One planted change: module, line, enclosing function, the source it changes, what it
    did, and its index among the module's sites.  ``key`` names it without the line number,
    so that it stays valid when unrelated lines move."""
    module: str
    line: int
    function: str
    source: str
    change: str
    index: int

    @property
    def key(self) -> str:
        return f"{self.module}:{self.function}:{self.source}:{self.change}"


def _sites(tree: ast.AST):
    """Every (node, description, apply) of a module, in a fixed order; ``apply`` mutates the node."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for k, op in enumerate(node.ops):
                swap = _COMPARE_SWAP.get(type(op))
                if swap:
                    yield node, f"{type(op).__name__} -> {swap.__name__}", (
                        lambda n=node, k=k, s=swap: n.ops.__setitem__(k, s()))
        elif isinstance(node, ast.BoolOp):
            swap = ast.Or if isinstance(node.op, ast.And) else ast.And
            yield node, f"{type(node.op).__name__} -> {swap.__name__}", (
                lambda n=node, s=swap: setattr(n, "op", s()))
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINOP_SWAP:
            swap = _BINOP_SWAP[type(node.op)]
            yield node, f"{type(node.op).__name__} -> {swap.__name__}", (
                lambda n=node, s=swap: setattr(n, "op", s()))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            yield node, "drop not", (lambda n=node: setattr(n, "op", ast.UAdd()))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("all", "any"):
            other = "any" if node.func.id == "all" else "all"
            yield node, f"{node.func.id} -> {other}", (lambda n=node, o=other: setattr(n.func, "id", o))
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            yield node, f"{node.value} -> {not node.value}", (
                lambda n=node: setattr(n, "value", not n.value))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            yield node, f"{node.value} -> {node.value + 1}", (
                lambda n=node: setattr(n, "value", n.value + 1))


def _not_worth_mutating(tree: ast.AST) -> set[int]:
    """ids of nodes not worth mutating: annotations, decorators, default argument values
    (configuration, not logic), ``__all__`` and ``assert``s."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        parts = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            parts += node.decorator_list
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            parts += [node.returns] + [a.annotation for a in node.args.args + node.args.kwonlyargs]
            parts += node.args.defaults + node.args.kw_defaults
        if isinstance(node, ast.AnnAssign):
            parts.append(node.annotation)
        if isinstance(node, ast.Assert):
            parts.append(node)
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
            parts.append(node)
        for part in parts:
            if part is not None:
                skip |= {id(n) for n in ast.walk(part)}
    return skip


def _enclosing_functions(tree: ast.AST) -> dict[int, str]:
    """id of every node -> the dotted name of the function or class it sits in."""
    names: dict[int, str] = {}

    def visit(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = where
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = f"{where}.{child.name}" if where else child.name
            names[id(child)] = inner
            visit(child, inner)
    visit(tree, "")
    return names


def _committed(module: str, revision: str) -> str:
    """The module's text as committed at ``revision`` (a campaign mutates committed code only)."""
    done = subprocess.run(["git", "show", f"{revision}:{module}"], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"mutation.py: {module} is not committed at {revision}: commit it first")
    return done.stdout


def mutants(module: str, revision: str = "HEAD") -> list[Mutant]:
    """The mutants of one target module as committed at ``revision``, in a fixed order."""
    text = _committed(module, revision)
    tree = ast.parse(text)
    skip = _not_worth_mutating(tree)
    where = _enclosing_functions(tree)
    found, seen = [], {}
    for index, (node, change, _) in enumerate(_sites(tree)):
        if id(node) in skip:
            continue
        source = " ".join((ast.get_source_segment(text, node) or "").split())[:60]
        mutant = Mutant(module, node.lineno, where.get(id(node)) or "<module>", source, change, index)
        seen[mutant.key] = seen.get(mutant.key, 0) + 1   # the same text twice in one function
        if seen[mutant.key] > 1:
            mutant = Mutant(module, mutant.line, mutant.function, f"{source} #{seen[mutant.key]}",
                            change, index)
        found.append(mutant)
    return found


def mutated_source(mutant: Mutant, original: str) -> str:
    """``original`` (the module's text) with the mutant planted."""
    tree = ast.parse(original)
    for index, (node, change, apply) in enumerate(_sites(tree)):
        if index == mutant.index:
            assert change == mutant.change and node.lineno == mutant.line
            apply()
            return ast.unparse(tree)
    raise LookupError(mutant)


def _copy_project(into: Path, revision: str) -> None:
    """The committed tree at ``revision`` (uncommitted edits are not part of a campaign)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)


def run_mutant(mutant: Mutant, workdir: Path, timeout: float) -> dict:
    """Plant the mutant in ``workdir`` (a copy of the project), run its tests, restore."""
    target = workdir / mutant.module
    original = target.read_text()
    started = time.perf_counter()
    try:
        target.write_text(mutated_source(mutant, original))
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                   "--no-header", *TARGETS[mutant.module]]
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", HYPOTHESIS_PROFILE="ci")
        try:
            done = subprocess.run(command, cwd=workdir, capture_output=True, text=True,
                                  timeout=timeout, env=env)
            outcome = "survived" if done.returncode == 0 else "killed"
            detail = (done.stdout.strip().splitlines() or [""])[-1]
        except subprocess.TimeoutExpired:
            outcome, detail = "killed", f"timed out after {timeout:.0f} s"
    finally:
        target.write_text(original)
    return {**asdict(mutant), "key": mutant.key, "outcome": outcome, "detail": detail,
            "seconds": round(time.perf_counter() - started, 2)}


def campaign(chosen: list[Mutant], *, jobs: int, timeout: float, revision: str = "HEAD",
             progress=sys.stderr) -> list[dict]:
    """Run the mutants, ``jobs`` at a time, each worker in its own copy of the project."""
    with tempfile.TemporaryDirectory(prefix="flowproof-mutation-") as scratch:
        workdirs = []
        for k in range(max(1, jobs)):
            workdir = Path(scratch) / f"worker{k}"
            _copy_project(workdir, revision)
            workdirs.append(workdir)
        # each worker takes every jobs-th mutant: no two workers write the same copy
        def work(k: int) -> list[dict]:
            out = []
            for mutant in chosen[k::len(workdirs)]:
                out.append(run_mutant(mutant, workdirs[k], timeout))
                print(f"[{mutant.key}] {out[-1]['outcome']} ({out[-1]['seconds']} s)", file=progress,
                      flush=True)
            return out
        with ThreadPoolExecutor(len(workdirs)) as pool:
            results = [r for part in pool.map(work, range(len(workdirs))) for r in part]
    order = {m.key: i for i, m in enumerate(chosen)}
    return sorted(results, key=lambda r: order[r["key"]])


def summarize(results: list[dict], equivalent: dict[str, str]) -> dict:
    """Kill rate over the mutants not judged equivalent, with the survivors listed."""
    survivors = [r for r in results if r["outcome"] == "survived"]
    judged = [r for r in survivors if r["key"] in equivalent]
    holes = [r for r in survivors if r["key"] not in equivalent]
    relevant = len(results) - len(judged)
    killed = sum(r["outcome"] == "killed" for r in results)
    return {"mutants": len(results), "killed": killed, "equivalent": len(judged),
            "kill_rate": round(killed / relevant, 4) if relevant else None,
            "survivors": [{"key": r["key"], "detail": r["detail"]} for r in holes],
            "equivalent_survivors": [{"key": r["key"], "why": equivalent[r["key"]]} for r in judged]}


def _load_equivalent() -> dict[str, str]:
    return json.loads(EQUIVALENT_FILE.read_text()) if EQUIVALENT_FILE.exists() else {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", action="append", default=[],
                        help=f"a module of {sorted(TARGETS)} or a group {sorted(GROUPS)} (repeatable; default all)")
    parser.add_argument("--max", type=int, default=None, help="at most this many mutants per module (spread evenly)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once (default 2)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per mutant before it counts as killed")
    parser.add_argument("--rerun", metavar="FILE", help="run only the survivors of an earlier campaign's --json FILE")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--json", metavar="FILE", help="write every result and the summary to FILE")
    args = parser.parse_args(argv)
    modules = []
    for name in args.target or list(TARGETS):
        if name not in TARGETS and name not in GROUPS:
            parser.error(f"--target {name!r}: expected one of {sorted(TARGETS) + sorted(GROUPS)}")
        modules += [m for m in GROUPS.get(name, [name]) if m not in modules]
    if args.max is not None and args.max < 1:
        parser.error("--max must be at least 1")
    chosen = []
    for module in modules:
        found = mutants(module)
        if args.max and len(found) > args.max:
            step = len(found) / args.max
            found = [found[int(k * step)] for k in range(args.max)]
        chosen += found
    if args.rerun:
        survived = {r["key"] for r in json.loads(Path(args.rerun).read_text())["results"] if r["outcome"] == "survived"}
        chosen = [m for module in modules for m in mutants(module) if m.key in survived]
    if args.list:
        for mutant in chosen:
            print(mutant.key)
        return 0
    started = time.perf_counter()
    results = campaign(chosen, jobs=args.jobs, timeout=args.timeout)
    summary = summarize(results, _load_equivalent())
    summary["seconds"] = round(time.perf_counter() - started, 1)
    per_module = {m: summarize([r for r in results if r["module"] == m], _load_equivalent())
                  for m in modules}
    for module, part in per_module.items():
        print(f"{module:28} {part['killed']:4}/{part['mutants']:<4} killed, "
              f"{part['equivalent']} equivalent, kill rate {part['kill_rate']}")
    print(f"{'all':28} {summary['killed']:4}/{summary['mutants']:<4} killed, "
          f"{summary['equivalent']} equivalent, kill rate {summary['kill_rate']} in {summary['seconds']} s")
    for survivor in summary["survivors"]:
        print(f"  survived: {survivor['key']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "modules": per_module,
                                               "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
