"""docs/: the project's own specification agrees with what is registered — every claim and
every experiment has its section, and every section names something that exists."""
import re
from pathlib import Path

from derivations import registry
from numerics.experiments import EXPERIMENTS
from reports.build import REPORTS

DOCS = Path(__file__).resolve().parents[1] / "docs"
_HEADING = re.compile(r"^### (\S+)(?: … (\S+))?", re.M)


def _documented_ids() -> set[str]:
    ids = set()
    for page in DOCS.glob("*.md"):
        for first, last in _HEADING.findall(page.read_text()):
            if last:   # a range such as LAW-1 … LAW-13
                prefix, lo = first.rsplit("-", 1)
                ids |= {f"{prefix}-{k}" for k in range(int(lo), int(last.rsplit("-", 1)[1]) + 1)}
            else:
                ids.add(first)
    return ids


def _measured_ids() -> set[str]:
    legacy = {i for spec in REPORTS.values() for i in spec.get("experiments", {})}
    return set(EXPERIMENTS) | legacy


def test_every_claim_and_experiment_has_its_section():
    documented = _documented_ids()
    claims = {c.id for c in registry.all_claims()}
    assert not claims - documented, f"claims without a section in docs/: {sorted(claims - documented)}"
    missing = _measured_ids() - documented
    assert not missing, f"experiments without a section in docs/: {sorted(missing)}"


def test_every_section_names_a_claim_or_an_experiment():
    known = {c.id for c in registry.all_claims()} | _measured_ids()
    unknown = _documented_ids() - known
    assert not unknown, f"sections of docs/ that name nothing registered: {sorted(unknown)}"


def test_no_reference_points_outside_the_project():
    """The code, tests and docs cite docs/, never the workplace's SPEC.md or ../shared."""
    root = DOCS.parent
    files = [p for folder in ("derivations", "numerics", "reports", "tests", "benchmarks", "docs")
             for p in (root / folder).rglob("*") if p.suffix in (".py", ".md", ".j2")] + [root / "README.md"]
    offenders = [str(p.relative_to(root)) for p in files
                 if p != Path(__file__) and re.search(r"SPEC\.md|\.\./shared|\bSPEC [A-Z]", p.read_text())]
    assert not offenders, offenders
