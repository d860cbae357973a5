"""flowproof's derivations (sympy): models, claims, the two-route step checks, kernels.

Importing this package (every flowproof entry point does, before numpy loads) sets BLAS to
one thread unless the environment already says otherwise: flowproof's matrices are small,
and OpenBLAS started with several threads rounds differently from a single-threaded one —
a Dask worker is single-threaded — so a serial and a Dask run would differ in the last bits.
"""
import os as _os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_name, "1")
