"""A small, strict reader of IDX files (the format of the MNIST files), numpy only.

An IDX file is a 4-byte magic number ``0x00 0x00 TYPE DIMS``, then ``DIMS`` big-endian
32-bit sizes, then the data (big-endian, row-major).  Only ``TYPE = 0x08`` (unsigned bytes,
what MNIST's images and labels use) is accepted; a wrong magic number, another type, a
truncated file or trailing bytes raise :class:`ValueError` naming the file.  Files ending in
``.gz`` are decompressed with the standard library.  Nothing is ever downloaded: MNIST is
read from files the user already has (:func:`mnist_files`).

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "x.idx")
>>> write_idx(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
>>> read_idx(path).tolist()
[[0, 1, 2], [3, 4, 5]]
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

__all__ = ["read_idx", "write_idx", "mnist_files", "UNSIGNED_BYTE"]

UNSIGNED_BYTE = 0x08

#: the names MNIST's training files go by (the original ones, and with a dot)
_IMAGE_NAMES = ("train-images-idx3-ubyte", "train-images.idx3-ubyte")
_LABEL_NAMES = ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte")


def _read_bytes(path: Path) -> bytes:
    if path.suffix == ".gz":
        try:
            return gzip.decompress(path.read_bytes())
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: not a readable gzip file ({exc})") from exc
    return path.read_bytes()


def read_idx(path) -> np.ndarray:
    """The array stored in the IDX file ``path`` (``uint8``, shape from the header)."""
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"{path}: {len(raw)} bytes, too short for an IDX header")
    zero, kind, dims = raw[0:2], raw[2], raw[3]
    if zero != b"\x00\x00":
        raise ValueError(f"{path}: bad magic number {raw[:4].hex()} (an IDX file starts with 00 00)")
    if kind != UNSIGNED_BYTE:
        raise ValueError(f"{path}: data type 0x{kind:02x}, only 0x08 (unsigned bytes) is supported")
    if dims == 0:
        raise ValueError(f"{path}: an IDX file needs at least one dimension")
    header = 4 + 4 * dims
    if len(raw) < header:
        raise ValueError(f"{path}: truncated header ({len(raw)} bytes, {header} needed for {dims} dimensions)")
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=dims, offset=4))
    size = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != size:
        what = "truncated" if len(raw) - header < size else "trailing bytes"
        raise ValueError(f"{path}: {what}: {len(raw) - header} data bytes for shape {shape} ({size} expected)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def write_idx(path, array: np.ndarray) -> None:
    """Write a ``uint8`` array as an IDX file (for tests and small fixtures)."""
    array = np.asarray(array)
    if array.dtype != np.uint8 or array.ndim == 0 or array.ndim > 255:
        raise ValueError("write_idx needs a uint8 array with 1 to 255 dimensions")
    header = bytes([0, 0, UNSIGNED_BYTE, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    Path(path).write_bytes(header + array.tobytes())


def mnist_files(location: str) -> tuple[Path, Path]:
    """The images and labels files of ``location``: a folder holding MNIST's training files
    (``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte``, optionally ``.gz``, or the
    names with a dot), or two paths ``IMAGES,LABELS`` separated by a comma."""
    if "," in location:
        images, labels = (Path(p.strip()).expanduser() for p in location.split(",", 1))
    else:
        folder = Path(location).expanduser()
        if not folder.is_dir():
            raise ValueError(f"{location}: not a folder (pass a folder with the MNIST files, or IMAGES,LABELS)")

        def find(names):
            for name in names:
                for candidate in (folder / name, folder / f"{name}.gz"):
                    if candidate.is_file():
                        return candidate
            raise ValueError(f"{folder}: none of {', '.join(names)} (or .gz) found")

        images, labels = find(_IMAGE_NAMES), find(_LABEL_NAMES)
    for path in (images, labels):
        if not path.is_file():
            raise ValueError(f"{path}: no such file")
    return images, labels
