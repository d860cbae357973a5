"""The README quotes no hand-typed measurement: its generated blocks agree with the saved
results they come from, and the saved experiment laws agree with a fresh full run (at the
precision the README prints)."""
import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _benchmark(name):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_main_job_block_is_the_saved_measurement():
    main_job = _benchmark("main_job")
    blocks = _benchmark("readme_blocks")
    assert blocks.current_block(README, main_job.README_NAME) == main_job.readme_block(blocks.load_records(main_job.RESULTS))


def test_the_certified_cost_block_is_the_saved_measurement():
    reference = _benchmark("reference_flow")
    blocks = _benchmark("readme_blocks")
    assert blocks.current_block(README, reference.README_NAME) == \
        reference.readme_block(blocks.load_records(reference.RESULTS))


def test_the_experiment_laws_block_is_the_saved_results():
    laws = _benchmark("experiment_laws")
    blocks = _benchmark("readme_blocks")
    saved = json.loads(laws.RESULTS.read_text())
    assert blocks.current_block(README, laws.README_NAME) == laws.readme_block(saved)


def test_the_saved_experiment_laws_are_what_the_code_measures_now():
    """Every experiment on its full grid, in this process (a fresh cache): the same laws and
    verdicts as the saved file, every number within ``REPRODUCIBLE_TO`` of it (the float64
    experiments move with the numpy/scipy build; see experiment_laws.REPRODUCIBLE_TO)."""
    laws = _benchmark("experiment_laws")
    saved = json.loads(laws.RESULTS.read_text())
    assert laws.disagreements(laws.measure(workers=1, progress=False), saved) == []


def test_the_law_comparison_catches_a_changed_digit():
    laws = _benchmark("experiment_laws")
    saved = json.loads(laws.RESULTS.read_text())
    moved = json.loads(json.dumps(saved))
    law = next(law for r in moved.values() for law in r["laws"] if law["expected"] != 0)
    law["measured"] *= 1 + laws.REPRODUCIBLE_TO / 2     # a build's round-off: accepted
    assert laws.disagreements(moved, saved) == []
    law["measured"] *= 1.05                              # a real change: refused
    assert len(laws.disagreements(moved, saved)) == 1
    law["measured"] = saved[next(iter(saved))]["laws"][0]["measured"]
    next(iter(moved.values()))["verdict"] = "not confirmed"
    assert any("not confirmed" in d for d in laws.disagreements(moved, saved))
