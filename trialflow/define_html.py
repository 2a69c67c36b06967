"""define.xml that opens in a browser: the stylesheet instruction, the stylesheet beside
it, and an HTML rendering for readers that will not run XSLT.

A reviewer double-clicks define.xml: a browser applies the stylesheet named by its
``<?xml-stylesheet?>`` instruction (trialflow's own XSLT 1.0,
``trialflow/standards/define2-1.xsl``, written beside each define file) and shows the
datasets, variables, value-level metadata, codelists, methods and comments as tables
with links between them. Browsers refuse XSLT on ``file://`` pages (each file is its
own origin), so the same transform is also run here with lxml and written as
``define-<standard>.html`` next to the XML.

Example
-------
>>> from lxml import etree
>>> tree = etree.ElementTree(etree.fromstring(b"<ODM/>"))
>>> add_stylesheet(tree).getroot().getprevious().text
'type="text/xsl" href="define2-1.xsl"'
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from trialflow import STANDARDS
from trialflow.io import write_atomic

__all__ = ["STYLESHEET", "add_stylesheet", "render_html"]

#: trialflow's stylesheet for Define-XML 2.1.
STYLESHEET = STANDARDS / "define2-1.xsl"


def add_stylesheet(tree: etree._ElementTree) -> etree._ElementTree:
    """``tree`` with the instruction that names the stylesheet (once)."""
    root = tree.getroot()
    previous = root.getprevious()
    if not (isinstance(previous, etree._ProcessingInstruction)
            and previous.target == "xml-stylesheet"):
        root.addprevious(etree.ProcessingInstruction(
            "xml-stylesheet", f'type="text/xsl" href="{STYLESHEET.name}"'))
    return tree


def render_html(define: Path) -> list[Path]:
    """Write the stylesheet beside ``define`` and its HTML rendering
    (``<stem>.html``); return both paths."""
    define = Path(define)
    xsl = STYLESHEET.read_bytes()
    transform = etree.XSLT(etree.fromstring(xsl))
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    html = transform(etree.parse(str(define), parser))
    data = etree.tostring(html, method="html", encoding="UTF-8", doctype="<!DOCTYPE html>")
    return [write_atomic(define.with_name(STYLESHEET.name), lambda tmp: tmp.write_bytes(xsl)),
            write_atomic(define.with_suffix(".html"), lambda tmp: tmp.write_bytes(data))]
