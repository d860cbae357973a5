"""The figures of experiments (:func:`numerics.core.experiment.figure`) as pgfplots/TikZ source.

Plots are drawn by pgfplots inside the document (no image files, so the PDF stays
byte-reproducible); colours follow the Okabe–Ito palette (colour-blind safe, defined in the
template as ``fpc0`` … ``fpc7``), and a curve may ask for a colour index and a dashed line
so that, e.g., one depth keeps its colour across two starts.  Images (the first-layer
weights of a network as 8×8 pictures) are grids of filled squares on a diverging
blue–white–orange scale, each image scaled by its own largest ``|value|``.

>>> print(figure_tex({"caption": "A line.", "kind": "linear", "xlabel": "$t$", "ylabel": "", "columns": 8,
...                   "series": [{"label": "$y = t$", "x": [0, 1], "y": [0, 1]}]}).splitlines()[3])
\\begin{axis}[fpaxis, xlabel={$t$}, ylabel={}]
"""
from __future__ import annotations

import math

from .build import escape_mixed, plot_coordinates

__all__ = ["figure_tex", "figures_tex", "AXES", "PALETTE_SIZE"]

AXES = {"loglog": ("loglogaxis", True, True), "semilogx": ("semilogxaxis", True, False),
        "semilogy": ("semilogyaxis", False, True), "linear": ("axis", False, False)}
PALETTE_SIZE = 8
_MARKS = ("*", "square*", "triangle*", "diamond*", "o", "square", "triangle", "pentagon*")


def _curve_tex(series: dict, index: int, xlog: bool, ylog: bool) -> str:
    colour = series.get("color", index) % PALETTE_SIZE
    style = [f"color=fpc{colour}", f"mark={_MARKS[colour]}"]
    if series.get("dashed"):
        style.append("dashed")
    return (f"\\addplot[{', '.join(style)}] coordinates {{{plot_coordinates(series, xlog=xlog, ylog=ylog)}}};\n"
            f"\\addlegendentry{{{escape_mixed(series['label'])}}}\n")


def _plot_tex(fig: dict, half: bool = False) -> str:
    env, xlog, ylog = AXES[fig["kind"]]
    body = "".join(_curve_tex(s, k, xlog, ylog) for k, s in enumerate(fig["series"]))
    return (f"\\begin{{tikzpicture}}\n"
            f"\\begin{{{env}}}[fpaxis{', fphalf' if half else ''}, xlabel={{{escape_mixed(fig['xlabel'])}}}, "
            f"ylabel={{{escape_mixed(fig['ylabel'])}}}]\n{body}\\end{{{env}}}\n\\end{{tikzpicture}}\n")


def _cell_colour(value: float, scale: float) -> str:
    share = round(100 * abs(value) / scale) if scale > 0 else 0
    return f"{'fpneg' if value < 0 else 'fppos'}!{share}!white"


def _images_tex(fig: dict, cell: float = 0.16) -> str:
    """Images side by side, ``fig["columns"]`` per row, each with its label below it."""
    parts = ["\\begin{tikzpicture}\n"]
    columns = fig.get("columns", 8)
    for k, img in enumerate(fig["series"]):
        values = img["values"]
        rows, cols = len(values), len(values[0])
        scale = max((abs(v) for row in values for v in row if math.isfinite(v)), default=0.0)
        x0 = (k % columns) * (cols + 2) * cell
        y0 = -(k // columns) * (rows + 4) * cell
        for r, row in enumerate(values):
            for c, v in enumerate(row):
                x, y = x0 + c * cell, y0 - r * cell
                parts.append(f"\\fill[{_cell_colour(v, scale)}] ({x:.3f},{y:.3f}) rectangle ++({cell},{-cell});\n")
        parts.append(f"\\draw[fpmuted, line width=0.2pt] ({x0:.3f},{y0:.3f}) rectangle "
                     f"++({cols * cell:.3f},{-rows * cell:.3f});\n")
        parts.append(f"\\node[below, font=\\tiny] at ({x0 + cols * cell / 2:.3f},{y0 - rows * cell:.3f}) "
                     f"{{{escape_mixed(img['label'])}}};\n")
    parts.append("\\end{tikzpicture}\n")
    return "".join(parts)


def figure_tex(fig: dict) -> str:
    """A floating ``figure`` with the plot or the images and the caption."""
    body = _images_tex(fig) if fig["kind"] == "images" else _plot_tex(fig)
    return (f"\\begin{{figure}}[htbp]\n\\centering\n{body}"
            f"\\caption{{{escape_mixed(fig['caption'])}}}\n\\end{{figure}}\n")


def figures_tex(figs: list[dict]) -> str:
    """An experiment's figures as floats: plots two per row (each half the width, with its own
    caption; a plot left without a partner has its caption beside it), images (which need the
    width) one per float.

    >>> plot = {"caption": "A.", "kind": "linear", "xlabel": "", "ylabel": "", "series": []}
    >>> figures_tex([plot, plot, plot]).count("begin{figure}")
    2
    """
    out, pending = [], []
    for fig in list(figs) + [None]:
        if fig is not None and fig["kind"] != "images":
            pending.append(fig)
            if len(pending) < 2:
                continue
        if len(pending) == 1:  # a plot without a partner: half the width, its caption beside it
            out.append(f"\\begin{{figure}}[htbp]\n\\begin{{minipage}}[c]{{0.49\\linewidth}}\n\\centering\n"
                       f"{_plot_tex(pending[0], half=True)}\\end{{minipage}}\\hfill\n"
                       f"\\begin{{minipage}}[c]{{0.49\\linewidth}}\n\\caption{{{escape_mixed(pending[0]['caption'])}}}\n"
                       f"\\end{{minipage}}\n\\end{{figure}}\n")
        elif pending:
            halves = "\\hfill\n".join(
                f"\\begin{{minipage}}[t]{{0.49\\linewidth}}\n\\centering\n{_plot_tex(f, half=True)}"
                f"\\caption{{{escape_mixed(f['caption'])}}}\n\\end{{minipage}}\n" for f in pending)
            out.append(f"\\begin{{figure}}[htbp]\n{halves}\\end{{figure}}\n")
        pending = []
        if fig is not None and fig["kind"] == "images":
            out.append(figure_tex(fig))
    return "".join(out)
