"""Shared test set-up: hypothesis profiles, the reset of global precision state, and a
disk cache of numeric results private to the test session (``FLOWPROOF_CACHE``), so that
tests neither read nor fill the project's cache.

Profiles: ``dev`` (default, quick), ``ci`` (chosen when ``CI=true``; derandomized so a CI
run is reproducible), ``thorough`` (many examples, for a manual run). Override with
``HYPOTHESIS_PROFILE=thorough python -m pytest``.
"""

import os
import tempfile

import derivations  # noqa: F401  (first: one BLAS thread before numpy loads, as in Dask workers)

import flint
import mpmath
import pytest
from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=25, **_COMMON)
settings.register_profile("ci", max_examples=25, derandomize=True, print_blob=True, **_COMMON)
settings.register_profile("thorough", max_examples=400, **_COMMON)
_default = "ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", _default))
os.environ["FLOWPROOF_CACHE"] = tempfile.mkdtemp(prefix="flowproof-test-cache-")


@pytest.fixture(autouse=True)
def reset_global_precision():
    """mpmath and python-flint precision are global: every test starts and ends at the defaults."""
    mpmath.mp.dps = 15
    flint.ctx.prec = 53
    yield
    mpmath.mp.dps = 15
    flint.ctx.prec = 53
