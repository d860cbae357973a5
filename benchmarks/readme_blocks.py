"""Generated blocks of the README: text between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->``
that a benchmark rewrites from its saved results (and a test compares with them), so the
README quotes no hand-typed measurement.

>>> text = "a\\n<!-- t:begin -->\\nold\\n<!-- t:end -->\\nb"
>>> replace_block(text, "t", "<!-- t:begin -->\\nnew\\n<!-- t:end -->")
'a\\n<!-- t:begin -->\\nnew\\n<!-- t:end -->\\nb'
"""
from __future__ import annotations

import json
from pathlib import Path

from derivations.atomic import write_atomic

__all__ = ["markers", "replace_block", "current_block", "update_block", "load_records"]


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def _split(text: str, name: str) -> tuple[str, str, str]:
    """(before, marked part without the markers, after); ValueError without the markers."""
    begin, end = markers(name)
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise ValueError(f"the README must contain {begin} and then {end}, once each")
    head, rest = text.split(begin)
    inner, tail = rest.split(end)
    return head, inner, tail


def replace_block(text: str, name: str, block: str) -> str:
    """``text`` with the marked part replaced by ``block`` (markers included)."""
    head, _, tail = _split(text, name)
    return head + block + tail


def current_block(text: str, name: str) -> str:
    """The marked part of a README (markers included)."""
    begin, end = markers(name)
    return begin + _split(text, name)[1] + end


def update_block(readme: Path, name: str, block: str) -> None:
    """Rewrite the marked part of the file ``readme`` (atomically)."""
    readme = Path(readme)
    write_atomic(readme, replace_block(readme.read_text(), name, block))


def load_records(path: Path) -> list[dict]:
    """The records of a benchmark's results file: one JSON object per non-empty line."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
