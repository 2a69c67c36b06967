"""CONSORT flow diagram of the analysis populations (Figure 14.1.1; paper Figure 1).

The layout ``consort`` draws, per randomised arm, the flow randomised -> allocated ->
(excluded from ITT, with the reason) -> ITT -> treatment and follow-up status at the
data cut-off -> analysis populations (FAS with its exclusions, safety with the untreated,
and the ITT subsets). Counts come from the ARD analyses ``populations``
(:mod:`tlf.analyses.baseline`) and ``disposition`` (:mod:`tlf.analyses.disposition`);
the box texts are built by :func:`consort_boxes`, a pure function of the ARD.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from matplotlib.patches import Rectangle

from tlf.analyses import ARMS
from tlf.document import Figure
from tlf.outputs import ArdView, Context, save_png, title_block
from tlf.outputs.figure_km import new_figure
from tlf.spec import OutputSpec

_D = "disposition"
#: Population variable of the ARD -> label in the analysis box.
ANALYSIS_SETS: dict[str, str] = {
    "measurable_disease": "Measurable disease",
    "hrqol": "HR-QoL assessment",
    "tdm1_latest_regimen": "T-DM1 as latest regimen",
}


def _n(view: ArdView, variable: str, arm: str, level: str = "") -> int:
    return view.count(_D, arm, variable, "n", level)


def _reasons(view: ArdView, variable: str, arm: str) -> list[str]:
    """``"  Progressive disease (n = 69)"`` per reason of ``variable``, in ARD order."""
    found = view.rows(_D, group=arm, variable=variable, stat="n")
    return [f"  {level.capitalize()} (n = {int(n)})"
            for level, n in zip(found["level"], found["value"], strict=True)]


def consort_boxes(view: ArdView) -> dict[str, str]:
    """The text of every box of the diagram, keyed ``randomised`` and, per arm,
    ``allocated_<arm>``, ``excluded_<arm>``, ``itt_<arm>``, ``follow_up_<arm>`` and
    ``analysis_<arm>``."""
    boxes = {"randomised": f"Randomised\n(n = {view.population_n('randomised', 'Total')})"}
    for arm in ARMS:
        excluded = view.rows(_D, group=arm, variable="excluded_itt", stat="n")
        boxes[f"allocated_{arm}"] = (f"Allocated to {arm}\n"
                                     f"(n = {view.population_n('randomised', arm)})")
        boxes[f"excluded_{arm}"] = "\n".join(
            [f"Excluded from ITT\n(n = {int(excluded['value'].sum())})"]
            + [textwrap.fill(f"{level} (n = {int(n)})", 24)
               for level, n in zip(excluded["level"], excluded["value"], strict=True)])
        boxes[f"itt_{arm}"] = (f"Intention-to-treat population\n"
                               f"(n = {view.population_n('itt', arm)})")
        boxes[f"follow_up_{arm}"] = "\n".join([
            f"Not treated (n = {_n(view, 'not_treated', arm)})",
            f"Treated (n = {view.population_n('safety', arm)})",
            f"Treatment discontinued (n = {_n(view, 'treatment', arm, 'Discontinued')})",
            *_reasons(view, "DCTREAS", arm),
            f"Treatment ongoing at cut-off (n = {_n(view, 'treatment', arm, 'Ongoing')})",
            f"Study discontinued (n = {_n(view, 'study', arm, 'Discontinued')})",
            *_reasons(view, "DCSREAS", arm),
            f"In follow-up at cut-off (n = {_n(view, 'study', arm, 'Ongoing')})",
        ])
        fas_out = view.rows(_D, group=arm, variable="excluded_fas", stat="n")
        boxes[f"analysis_{arm}"] = "\n".join([
            f"Full analysis set (n = {view.population_n('fas', arm)})",
            *[f"  Excluded: {level.lower()} (n = {int(n)})"
              for level, n in zip(fas_out["level"], fas_out["value"], strict=True)],
            f"Safety population (n = {view.population_n('safety', arm)})",
            f"  Excluded: not treated (n = {_n(view, 'not_treated', arm)})",
            "ITT subsets:",
            *[f"  {label} (n = {view.population_n(var, arm)})"
              for var, label in ANALYSIS_SETS.items()],
        ])
    return boxes


@dataclass(frozen=True)
class _Box:
    x: float  # centre, inches
    top: float
    width: float
    text: str
    align: str = "center"

    @property
    def height(self) -> float:
        return _LINE * (self.text.count("\n") + 1) + 2 * _PAD

    @property
    def bottom(self) -> float:
        return self.top - self.height


_LINE, _PAD, _GAP, _FONT = 0.16, 0.09, 0.32, 8
_WIDTH = 11.0
_MAIN = {ARMS[0]: 3.75, ARMS[1]: 7.25}
_SIDE = {ARMS[0]: 1.0, ARMS[1]: 10.0}


def _place(boxes: dict[str, str]) -> tuple[list[_Box], list[tuple], float]:
    """Boxes and arrows in inches from the top (y down to negative), and the height."""
    placed: list[_Box] = []
    arrows: list[tuple] = []
    top = -0.1
    rand = _Box(_WIDTH / 2, top, 2.0, boxes["randomised"])
    placed.append(rand)
    top = rand.bottom - _GAP
    alloc = {arm: _Box(_MAIN[arm], top, 3.1, boxes[f"allocated_{arm}"]) for arm in ARMS}
    top = min(b.bottom for b in alloc.values()) - _GAP
    excl = {arm: _Box(_SIDE[arm], top, 1.8, boxes[f"excluded_{arm}"]) for arm in ARMS}
    top = min(b.bottom for b in excl.values()) - _GAP
    itt = {arm: _Box(_MAIN[arm], top, 3.1, boxes[f"itt_{arm}"]) for arm in ARMS}
    top = min(b.bottom for b in itt.values()) - _GAP
    follow = {arm: _Box(_MAIN[arm], top, 3.1, boxes[f"follow_up_{arm}"], "left")
              for arm in ARMS}
    top = min(b.bottom for b in follow.values()) - _GAP
    analysis = {arm: _Box(_MAIN[arm], top, 3.1, boxes[f"analysis_{arm}"], "left")
                for arm in ARMS}
    for arm in ARMS:
        placed += [alloc[arm], excl[arm], itt[arm], follow[arm], analysis[arm]]
        x = _MAIN[arm]
        # Randomised -> allocation: down from the centre, across, then down.
        arrows.append(((x, rand.bottom - _GAP / 2), (x, alloc[arm].top)))
        arrows += [((x, alloc[arm].bottom), (x, itt[arm].top)),
                   ((x, itt[arm].bottom), (x, follow[arm].top)),
                   ((x, follow[arm].bottom), (x, analysis[arm].top))]
        side = excl[arm]
        mid = side.top - side.height / 2
        edge = side.x + side.width / 2 if side.x < x else side.x - side.width / 2
        arrows.append(((x, mid), (edge, mid)))
    height = -min(b.bottom for b in placed) + 0.1
    return placed, arrows, height


def draw_consort(boxes: dict[str, str]) -> object:
    """The diagram of :func:`consort_boxes`' texts."""
    placed, arrows, height = _place(boxes)
    figure = new_figure(_WIDTH, height)
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, _WIDTH)
    ax.set_ylim(-height, 0)
    ax.axis("off")
    rand = placed[0]
    # The horizontal bar joining the randomised box to both arms.
    bar = rand.bottom - _GAP / 2
    ax.plot([_WIDTH / 2, _WIDTH / 2], [rand.bottom, bar], color="black", linewidth=0.9)
    ax.plot([min(_MAIN.values()), max(_MAIN.values())], [bar, bar], color="black",
            linewidth=0.9)
    for box in placed:
        ax.add_patch(Rectangle((box.x - box.width / 2, box.bottom), box.width, box.height,
                               facecolor="white", edgecolor="black", linewidth=0.9))
        x = box.x if box.align == "center" else box.x - box.width / 2 + _PAD
        ax.text(x, box.top - _PAD, box.text, ha=box.align, va="top", fontsize=_FONT,
                linespacing=1.45)
    for start, end in arrows:
        ax.annotate("", xy=end, xytext=start,
                    arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 0.9,
                                "shrinkA": 0, "shrinkB": 0, "mutation_scale": 9})
    return figure


def layout_consort(spec: OutputSpec, ctx: Context) -> Figure:
    """The CONSORT diagram (see the module docstring)."""
    figure = draw_consort(consort_boxes(ctx.view))
    path = save_png(figure, ctx.out_dir / f"{spec.name}.png")
    return Figure(title_block(spec), path, footnotes=spec.footnotes,
                  landscape=spec.landscape)


LAYOUTS = {"consort": layout_consort}
