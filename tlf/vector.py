"""Vector twins of figures: an SVG beside every PNG, byte for byte reproducible.

A reviewer zooms into an SVG without the blur of a 150 dpi PNG, and a publisher can
take it as it is. :func:`save_svg` is called where a figure saves its PNG
(:func:`tlf.outputs.save_png`), with the same matplotlib figure. matplotlib's SVG carries
a date and random element ids by default; both are fixed here (no ``Date`` metadata, a
constant ``svg.hashsalt``), so the same drawing gives the same bytes.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

from trialflow.io import write_atomic

__all__ = ["save_svg"]


def save_svg(figure: object, path: Path) -> Path:
    """Save a matplotlib figure as SVG atomically, with no date and fixed ids."""
    buffer = io.BytesIO()
    # Text stays text (svg.fonttype none): a reviewer can search and copy it, and its
    # size is written in the file (the tests check the printed size from it).
    with matplotlib.rc_context({"svg.hashsalt": "trialflow", "svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg",  # type: ignore[attr-defined]
                       metadata={"Date": None, "Creator": "trialflow"})
    data = buffer.getvalue()
    return write_atomic(Path(path), lambda tmp: tmp.write_bytes(data))
