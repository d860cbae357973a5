"""A disk cache for expensive results: the reports' simulations, and claim results that
``python -m derivations`` has just computed and ``python -m reports`` then reuses.

A result is stored as JSON under a key made of the function's name, its arguments, and a
digest of **all** of flowproof's source files and of the numeric libraries' versions: any
change of code or library makes every entry stale, so a cached number is never older than
the code that would compute it now.  Writes are atomic (a temporary file, then a rename);
an entry that cannot be read, does not parse, or does not carry its own key is computed
again, never trusted.

The folder is ``$FLOWPROOF_CACHE`` if set, else ``.cache/flowproof`` in the source tree
(ignored by git).  ``fresh=True`` recomputes and overwrites.

>>> import tempfile
>>> calls = []
>>> def square(x):
...     calls.append(x)
...     return {"value": x * x}
>>> folder = tempfile.mkdtemp()
>>> cached(square, {"x": 3}, folder=folder), cached(square, {"x": 3}, folder=folder), calls
({'value': 9}, {'value': 9}, [3])
"""
from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Optional

from .atomic import write_atomic

__all__ = ["cached", "lookup", "store", "cache_folder", "code_digest", "cache_key", "function_name", "MISSING"]

_ROOT = Path(__file__).resolve().parents[1]   # the source tree: derivations/ is one level down
_PACKAGES = ("derivations", "numerics", "reports")


def cache_folder() -> Path:
    return Path(os.environ.get("FLOWPROOF_CACHE") or _ROOT / ".cache" / "flowproof")


@lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-256 of every ``.py`` and ``.c`` file of the packages and of the numeric libraries'
    versions."""
    import flint
    import gmpy2
    import mpmath
    import numpy
    import scipy
    import sympy

    h = hashlib.sha256()
    files = [path for package in _PACKAGES for pattern in ("*.py", "*.c")
             for path in sorted((_ROOT / package).rglob(pattern))]
    if not any(path.name == "cache.py" for path in files):
        raise RuntimeError(f"the cache cannot find its own source tree under {_ROOT}")
    for path in files:
        h.update(str(path.relative_to(_ROOT)).encode())
        h.update(path.read_bytes())
    for module in (sympy, mpmath, gmpy2, flint, numpy, scipy):
        h.update(f"{module.__name__} {getattr(module, '__version__', '?')}".encode())
    return h.hexdigest()


def function_name(function: Callable) -> str:
    """The name a function's results are stored under: ``module.qualname``."""
    return f"{function.__module__}.{function.__qualname__}"


def cache_key(name: str, arguments: dict) -> str:
    text = json.dumps({"function": name, "arguments": arguments, "code": code_digest()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


#: what :func:`lookup` returns when there is no valid entry
MISSING = object()


def lookup(name: str, arguments: dict, *, folder: Optional[Path | str] = None) -> Any:
    """The stored result of ``name(arguments)`` for this code, or :data:`MISSING`."""
    key = cache_key(name, arguments)
    try:
        entry = json.loads((Path(folder or cache_folder()) / f"{key}.json").read_text())
        if entry.get("key") == key:
            return entry["result"]
    except (OSError, ValueError, KeyError, AttributeError):
        pass  # missing, unreadable or corrupt: the caller computes it again
    return MISSING


def store(name: str, arguments: dict, result: Any, *, folder: Optional[Path | str] = None) -> Any:
    """Store a JSON result; returns it as a later :func:`lookup` will (after a JSON round trip)."""
    key = cache_key(name, arguments)
    text = json.dumps({"key": key, "function": name, "arguments": arguments, "result": result})
    write_atomic(Path(folder or cache_folder()) / f"{key}.json", text)
    return json.loads(text)["result"]


def cached(function: Callable[..., Any], arguments: dict, *, fresh: bool = False,
           folder: Optional[Path | str] = None) -> Any:
    """``function(**arguments)``, from the cache when a valid entry exists (JSON results)."""
    name = function_name(function)
    if not fresh:
        hit = lookup(name, arguments, folder=folder)
        if hit is not MISSING:
            return hit
    # stored, then returned as a hit will return it: a cold and a warm run agree
    return store(name, arguments, function(**arguments), folder=folder)
