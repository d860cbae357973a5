"""How every command of the suite ends on what is not bad input: one line, an exit code.

>>> run_guarded("demo", lambda: 0)
0
"""
from __future__ import annotations

import os
import sys
from typing import Callable

__all__ = ["run_guarded"]


def run_guarded(prog: str, body: Callable[[], int]) -> int:
    """Run a command's ``body``: Ctrl-C gives 130, a reader that closed stdout (``| head``)
    a quiet 1, and an unexpected exception — a bug, not bad input — one line on stderr and 1
    (``FLOWPROOF_TRACEBACK=1`` re-raises it to show the traceback)."""
    try:
        return body()
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # noqa: BLE001 — the point of this function
        if os.environ.get("FLOWPROOF_TRACEBACK"):
            raise
        print(f"{prog}: error: internal error {type(exc).__name__}: {exc} (please report it; "
              "FLOWPROOF_TRACEBACK=1 shows the traceback)", file=sys.stderr)
        return 1
