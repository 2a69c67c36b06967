"""Table 14.1.1: subjects in each analysis population, by randomised arm.

The first table of the package and the model for the others: the layout reads counts
from the ARD (analysis ``populations``), formats them with :mod:`tlf.format` and returns
a :class:`~tlf.document.Table`; the build adds the source line and renders it.
"""

from __future__ import annotations

from tlf.analyses import ARMS
from tlf.document import Column, Row, Table
from tlf.format import n_pct
from tlf.outputs import Context, title_block
from tlf.spec import OutputSpec

#: ARD population variable -> row label, in display order.
POPULATIONS: dict[str, str] = {
    "randomised": "Randomised",
    "itt": "Intent-to-treat (ITT)",
    "fas": "Full analysis set (FAS)",
    "safety": "Safety",
    "measurable_disease": "ITT with measurable disease",
    "hrqol": "ITT with HR-QoL assessment",
    "tdm1_latest_regimen": "ITT with T-DM1 as latest regimen",
}


def layout_populations(spec: OutputSpec, ctx: Context) -> Table:
    """Subjects per population, n (% of randomised), per arm and in total."""
    groups = (*ARMS, "Total")
    randomised = {g: ctx.view.population_n("randomised", g) for g in groups}
    columns = [Column("label", "Population", width=2.5)] + [
        Column(g, f"{g}\n(N={randomised[g]})", align="center") for g in groups]
    rows = [Row((label, *(n_pct(ctx.view.population_n(var, g), randomised[g])
                          for g in groups)))
            for var, label in POPULATIONS.items()]
    return Table(title_block(spec), columns, rows, footnotes=spec.footnotes,
                 landscape=spec.landscape)


LAYOUTS = {"populations": layout_populations}
