"""How many hypothesis examples per second the conservation property test runs.

The test is ``tests/test_simulations.py::test_layer_flow_conserves_and_matches_reduced_and_mirror``
(draw depth, dimension, data, balanced signs, precision; integrate the layer flow, the reduced
flow and the mirror form at 30 or 50 digits; check DL-2/3/4/5/6).  Run from the repository root:

    python benchmarks/property_rate.py [--profile ci|dev|thorough] [--json]

The test runs as the suite runs it, with the example count of the chosen hypothesis profile
(registered in tests/conftest.py); every example is counted.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from hypothesis import settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import conftest  # noqa: E402,F401  (registers the hypothesis profiles)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=["dev", "ci", "thorough"], default="ci",
                        help="hypothesis profile (default ci: derandomized)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    settings.load_profile(args.profile)
    import test_simulations  # the test module itself, imported once the profile is active

    test = test_simulations.test_layer_flow_conserves_and_matches_reduced_and_mirror
    inner, calls = test.hypothesis.inner_test, []

    def counted(*a, **k):
        calls.append(1)
        return inner(*a, **k)

    test.hypothesis.inner_test = counted
    started = time.perf_counter()
    test()
    seconds = time.perf_counter() - started
    result = {"test": "test_layer_flow_conserves_and_matches_reduced_and_mirror", "profile": args.profile,
              "examples": len(calls),
              "seconds": seconds, "examples_per_second": len(calls) / seconds}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['examples']} examples in {seconds:.1f} s: {result['examples_per_second']:.2f} examples/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
