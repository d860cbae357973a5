"""LaTeX/PDF derivation reports built from the claim results (``python -m reports --help``).

:mod:`reports.build` holds the report table :data:`~reports.build.REPORTS`, the LaTeX
escaping, the Jinja2 rendering and the reproducible pdflatex build; :mod:`reports.cli`
the command line.  Built files go to ``reports/build/`` (not committed).
"""

import derivations  # noqa: F401  (one BLAS thread, set before numpy loads: see derivations/__init__)

from .build import REPORTS, compile_pdf, escape_tex, render_tex

__all__ = ["REPORTS", "render_tex", "compile_pdf", "escape_tex"]
