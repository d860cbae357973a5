"""The compiled route of :func:`numerics.core.taylor.integrate`: the Taylor program run in C.

The generated Python of :class:`~numerics.core.taylor.TaylorSystem` spends about 1-2 µs of
interpreter work per node and Taylor coefficient on top of the MPFR arithmetic; heyoka
avoids that by compiling each system with LLVM.  Here one C file (``taylor_engine.c``)
*interprets* any Taylor program, passed as an integer tape: it is compiled once per machine
(about a second, with the C compiler Python packages are built with) against the MPFR and
GMP that gmpy2 ships, and kept, like a compiled module, in ``$FLOWPROOF_ENGINE_DIR``
(default ``~/.cache/flowproof/engine``, or under ``$XDG_CACHE_HOME``); a new system costs no
compilation.  No maintained library offers this (heyoka is a benchmark reference only, and
python-flint has series arithmetic but no ODE Taylor programs), so it is written here.

The C loop mirrors the Python route operation for operation (the same roundings and
correctly rounded sums, the same step-size arithmetic), so both give the same bits; the
tests compare them on every node kind, and on errors.  Where the engine cannot be built
(no compiler, no MPFR headers) :func:`available` says why and ``integrate`` uses Python.

>>> import sympy as sp
>>> from numerics.core.taylor import TaylorSystem, integrate
>>> y = sp.Symbol("y")
>>> a = integrate(TaylorSystem([y], [-y]), ["1"], 1, dps=30, engine="python")
>>> b = integrate(TaylorSystem([y], [-y]), ["1"], 1, dps=30, engine="auto")
>>> a.y == b.y
True
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
import sysconfig
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Optional

import gmpy2
import mpmath

__all__ = ["available", "run", "ENGINE_NAME"]

ENGINE_NAME = "taylor (Jorba-Zou, C over MPFR)"
_SOURCE = Path(__file__).with_name("taylor_engine.c")
_KINDS = ("var", "const", "lin", "mul", "sqr", "div", "recip", "pow", "sqrt", "exp", "log",
          "abs", "sign", "sin", "cos", "tanh")
NODE_INTS = 11
INFO_INTS = 5
#: the status codes of fp_integrate (ST_OK, ST_DOMAIN, ... in taylor_engine.c), by name
STATUS = ("ok", "domain", "arith", "underflow", "max_steps", "monitor", "nonfinite", "memory")


def _mpfr_libraries() -> tuple[list[str], list[str], list[str]]:
    """(include dirs, libraries to link, rpath dirs) for the MPFR that gmpy2 uses: its
    wheel ships mpfr.h/gmp.h beside the module and the libraries in ``gmpy2.libs``; a
    gmpy2 built against the system's MPFR links ``-lmpfr -lgmp``."""
    package = Path(gmpy2.__file__).parent
    bundled = package.parent / "gmpy2.libs"
    includes = [str(package)] if (package / "mpfr.h").exists() else []
    if bundled.is_dir():
        libs = sorted(str(p) for p in bundled.iterdir() if p.name.startswith(("libmpfr", "libgmp")))
        if any("libmpfr" in p for p in libs) and any("libgmp" in p for p in libs):
            return includes, libs, [str(bundled)]
    return includes, ["-lmpfr", "-lgmp"], []


def engine_folder() -> Path:
    """Where the compiled engine is kept (a build artefact keyed by its source and libraries,
    so every process and test session of this machine shares it)."""
    if os.environ.get("FLOWPROOF_ENGINE_DIR"):
        return Path(os.environ["FLOWPROOF_ENGINE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "flowproof" / "engine"


def _compiler() -> str:
    return os.environ.get("CC") or (sysconfig.get_config_var("CC") or "cc").split()[0]


@lru_cache(maxsize=1)
def _library() -> tuple[Optional[ctypes.CDLL], str]:
    """(the loaded engine, "") or (None, why it is not available)."""
    if os.environ.get("FLOWPROOF_ENGINE", "").lower() == "python":
        return None, "FLOWPROOF_ENGINE=python"
    includes, libs, rpaths = _mpfr_libraries()
    source = _SOURCE.read_bytes()
    key = hashlib.sha256(b"\0".join([source, gmpy2.version().encode(), gmpy2.mpfr_version().encode(),
                                     _compiler().encode(), *map(str.encode, libs)])).hexdigest()[:16]
    folder = engine_folder()
    target = folder / f"taylor_engine-{key}.so"
    if not target.exists():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, partial = tempfile.mkstemp(suffix=".so", dir=folder)
        except OSError as exc:
            return None, f"cannot write the compiled engine to {folder} ({exc}); set FLOWPROOF_ENGINE_DIR"
        os.close(fd)
        command = [_compiler(), "-O2", "-shared", "-fPIC", "-o", partial, str(_SOURCE),
                   *[f"-I{d}" for d in includes], *libs, *[f"-Wl,-rpath,{d}" for d in rpaths], "-lm"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            os.unlink(partial)
            return None, f"cannot run the C compiler {command[0]!r}: {exc}"
        if done.returncode != 0:
            os.unlink(partial)
            return None, f"the C engine did not compile: {done.stderr.strip()[:400]}"
        os.replace(partial, target)   # atomic: concurrent processes see the whole file or none
    try:
        lib = ctypes.CDLL(str(target))
    except OSError as exc:
        return None, f"the compiled engine does not load: {exc}"
    c_int_p, c_char_pp = ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_char_p)
    lib.fp_integrate.restype = ctypes.c_int
    lib.fp_integrate.argtypes = [
        ctypes.c_int, c_int_p, c_int_p, c_int_p, ctypes.c_int, c_int_p, ctypes.c_int, c_char_pp,
        c_char_pp, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, c_char_pp, ctypes.c_int,
        ctypes.c_int, ctypes.c_double, ctypes.c_double, ctypes.c_long, ctypes.c_char_p,
        ctypes.c_int, ctypes.POINTER(ctypes.c_double), c_int_p]
    lib.fp_dot.restype = ctypes.c_int
    lib.fp_dot.argtypes = [ctypes.c_int, ctypes.c_int, c_char_pp, c_char_pp, ctypes.c_char_p,
                           ctypes.c_int]
    return lib, ""


def available() -> tuple[bool, str]:
    """(True, "") when the compiled engine can run here, else (False, the reason)."""
    lib, why = _library()
    return lib is not None, why


def _ints(values):
    return (ctypes.c_int * max(1, len(values)))(*values)


def _texts(values):
    return (ctypes.c_char_p * max(1, len(values)))(*values)


def _tape(system):
    """The integer tape of ``system``'s program (cached on the system)."""
    cached = getattr(system, "_engine_tape", None)
    if cached is not None:
        return cached
    nodes, tape, coefs, operands = system._nodes, [], [], []
    for n in nodes:
        if n.kind in ("lin", "mul", "div") and any(nodes[a].kind == "const" for a in n.args):
            raise AssertionError("a constant operand in a series position")  # the builder folds them
        row = [0] * NODE_INTS
        row[0] = _KINDS.index(n.kind)
        row[1] = n.args[0] if n.args else -1
        row[2] = n.args[1] if len(n.args) > 1 else -1
        row[3] = nodes[n.exponent].index if n.exponent is not None else -1
        row[4] = n.index if n.index is not None else -1
        row[5] = int(n.need_d)
        row[6] = n.monitor if n.monitor is not None else -1
        row[7], row[8] = len(coefs), len(n.terms)
        for c, x in n.terms:
            coefs.append(-1 if c is None else (-2 if c == -1 else nodes[c].index))
            operands.append(x)
        row[9] = nodes[n.const0].index if n.const0 is not None else -1
        row[10] = int(n.gathered)
        tape += row
    system._engine_tape = (_ints(tape), _ints(coefs), _ints(operands), _ints(system._rhs_nodes))
    return system._engine_tape


def _text(v) -> bytes:
    """An mpfr value, exactly, as the engine reads it: hex mantissa, 'p', binary exponent."""
    m, e = v.as_mantissa_exp()
    return f"{int(m):x}p{int(e)}".encode()


def _read(text: bytes) -> mpmath.mpf:
    m, e = text.split(b"p")
    return mpmath.mp.make_mpf(mpmath.libmp.from_man_exp(int(m, 16), int(e)))


def dot_routes(xs, ys, prec: int):
    """``Σ x_j·y_j`` (gmpy2 mpfr values) by the engine's two routes at ``prec`` bits:
    ``(mpfr_route, exact_route, exact_ran)``, each as ``(mpf, sign bit)``; for the tests that
    the exact dot product gives the bits of rounded products and ``mpfr_sum``."""
    lib, why = _library()
    if lib is None:
        raise RuntimeError(f"the C Taylor engine is not available: {why}")
    slot = prec // 4 + 40
    out = ctypes.create_string_buffer(2 * slot)
    flags = lib.fp_dot(prec, len(xs), _texts([_text(v) for v in xs]), _texts([_text(v) for v in ys]),
                       out, slot)
    raw = out.raw
    values = [_read(raw[j * slot:(j + 1) * slot].split(b"\0", 1)[0]) for j in range(2)]
    return (values[0], bool(flags & 2)), (values[1], bool(flags & 4)), bool(flags & 1)


def run(system, y, K, t, te, outs, *, order: int, prec: int, ln_tol: float, safety: float,
        max_steps: int):
    """Integrate with the engine: ``(out_y, steps, hmin, hmax)`` or an error description
    ``("domain" | "arith" | ..., details)``; called by ``integrate`` inside its context."""
    lib, why = _library()
    if lib is None:
        raise RuntimeError(f"the C Taylor engine is not available: {why}")
    tape, coefs, operands, rhs = _tape(system)
    dim = system.dim
    slot = prec // 4 + 40
    rows = len(outs) if outs else 1
    out = ctypes.create_string_buffer((rows * dim + 2) * slot)
    hstats = (ctypes.c_double * 3)()
    info = (ctypes.c_int * INFO_INTS)()
    status = lib.fp_integrate(
        len(system._nodes), tape, coefs, operands, dim, rhs, len(K), _texts([_text(v) for v in K]),
        _texts([_text(v) for v in y]), _text(t), _text(te), len(outs), _texts([_text(v) for v in outs]),
        order, prec, ln_tol, safety, max_steps, out, slot, hstats, info)

    raw = out.raw   # one copy of the buffer (each .raw is a new bytes object)

    def value(j):
        return _read(raw[j * slot:(j + 1) * slot].split(b"\0", 1)[0])

    name = STATUS[status]
    if name == "ok":
        states = [[value(r * dim + s) for s in range(dim)] for r in range(rows)]
        return name, (states, info[3], hstats[0], hstats[1])
    details = {"node": info[1], "code": info[2], "t": value(rows * dim), "steps": info[3],
               "component": info[4], "h": hstats[2]}
    if name == "monitor":
        details["t_end"] = value(rows * dim + 1)
    return name, details
