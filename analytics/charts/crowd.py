"""A chart of every partner that stays the same size however many partners there are: the partners that
matter most as dots, and all of them as a shading of how many fall in each cell of a grid.

A dot per partner sent 60,000 points at ten times the demo (5 MB a visit) and kept the browser drawing for
seconds at the demo's 6,000; the shading is a few hundred cells whatever the channel's size.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

__all__ = ["DOTS_SHOWN", "dotted", "add_shading", "crowd_note"]

DOTS_SHOWN = 300  # partners drawn as dots at most; a chart of fewer draws every partner as a dot
_SHADE = [[0, "rgba(128, 128, 128, 0.12)"], [1, "rgba(128, 128, 128, 0.7)"]]  # reads on light and dark


def dotted(frame: pd.DataFrame, weight: pd.Series) -> pd.DataFrame:
    """Give the partners drawn as dots: all of them up to DOTS_SHOWN, else the DOTS_SHOWN of largest `weight`."""
    if len(frame) <= DOTS_SHOWN:
        return frame
    return frame.loc[weight.sort_values(ascending=False, kind="stable").index[:DOTS_SHOWN]]


def add_shading(fig: go.Figure, x: pd.Series, y: pd.Series, x_edges: np.ndarray, y_edges: np.ndarray,
                x_words: Callable[[float], str], y_words: Callable[[float], str]) -> None:
    """Add a grey shading of how many partners fall in each cell of the grid (edges in data units).

    Empty cells stay clear. The shade grows with the logarithm of the count, so that a crowded corner does not
    wash out the rest; the hover gives the count and the cell's ranges in words.
    """
    counts, _, _ = np.histogram2d(x.to_numpy(dtype=float), y.to_numpy(dtype=float), bins=[x_edges, y_edges])
    counts = counts.T  # a row per y cell, as a heatmap draws it
    hover = [[f"{int(n):,} partner{'' if n == 1 else 's'}<br>{x_words(x0)} to {x_words(x1)}<br>"
              f"{y_words(y0)} to {y_words(y1)}" if n else ""
              for n, x0, x1 in zip(row, x_edges[:-1], x_edges[1:], strict=True)]
             for row, y0, y1 in zip(counts, y_edges[:-1], y_edges[1:], strict=True)]
    fig.add_trace(go.Heatmap(
        x=x_edges, y=y_edges, z=np.where(counts > 0, np.log1p(counts), np.nan), text=hover,
        hovertemplate="%{text}<extra></extra>", hoverongaps=False, colorscale=_SHADE, showscale=False,
        name="all partners (shading)",
    ))


def crowd_note(dots: int, partners: int, dots_are: str) -> str:
    """Give the words a title adds when not every partner is a dot: what the dots are, what the shading is."""
    if dots >= partners:
        return ""
    return f" · dots: the {dots:,} {dots_are}; shading: how many of all {partners:,} partners"
