"""flowproof numerics: the flows of both papers, the Taylor integrator, experiments."""
import derivations  # noqa: F401  (one BLAS thread, set before numpy loads: see derivations/__init__)
