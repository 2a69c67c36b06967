"""The annotated CRF: a blank CRF drawn from the raw form specs, each field annotated with
the SDTM variables its value becomes, as the SDTM Metadata Submission Guidelines show
them; define.xml links every collected variable to its page.

Where a field goes is read from the SDTM specs, not written twice: a rule that takes a
raw column (``{assign: AETERM}``, ``{iso8601: random.RANDDT}``, ``{map: ...}``,
``{number: ...}``) in a source block of a form annotates that form's field with the
variable. A melted field (one record per questionnaire item or per response) is
annotated with the record's topic value: ``QSORRES when QSTESTCD = GP1``; a supplemental
qualifier with its name: ``AERELPER in SUPPAE``. A field no rule takes is ``[NOT
SUBMITTED]``.

Each form has one page or more: its title and the domains its fields go to at the top,
then one row per field (question, name, answer format, annotation). The PDF is
written with reportlab's invariant mode, so the same specs give the same bytes.

Example
-------
>>> notes = annotations(load_dataset_specs(SPECS / "sdtm"), load_forms(), load_codelists())
... # doctest: +SKIP
>>> pages = write_acrf(load_forms(), notes, Path("build/define/acrf.pdf"), "PRECIOUS")
... # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialflow.cdisc import fold
from trialflow.io import write_atomic
from trialflow.spec import Codelist, DatasetSpec, RawForm

__all__ = ["ACRF", "Annotation", "AnnotatedCRF", "annotations", "write_acrf"]

#: The file name of the annotated CRF, beside the define files.
ACRF = "acrf.pdf"
_RAW_ACTIONS = ("assign", "iso8601", "map", "number")
#: The raw column a core derivation reads when its parameters name none.
_DERIVATION_COLUMNS = {"visit": "VISIT", "visitnum": "VISIT", "cycle_visit": "CYCLE"}


@dataclass(frozen=True)
class Annotation:
    """One SDTM variable a raw field becomes.

    Attributes
    ----------
    form, column : str
        The raw field.
    dataset, variable : str
        Where its value goes.
    where : tuple of (str, str), optional
        The value-level condition of a melted field: (topic variable, value), e.g.
        ``("QSTESTCD", "GP1")`` or ``("QNAM", "AERELPER")``.
    """

    form: str
    column: str
    dataset: str
    variable: str
    where: tuple[str, str] | None = None

    @property
    def supplemental(self) -> bool:
        return self.dataset.startswith("SUPP") and self.where is not None \
            and self.where[0] == "QNAM"


def _rules(rule: Any) -> list[Mapping[str, Any]]:
    rules = rule if isinstance(rule, list) else [rule]
    return [r for r in rules if isinstance(r, Mapping)]


def _condition_columns(cond: Any) -> list[str]:
    if not isinstance(cond, Mapping):
        return []
    out = [cond["column"]] if isinstance(cond.get("column"), str) else []
    for key in ("all", "any"):
        for c in cond.get(key) or []:
            out += _condition_columns(c)
    return out + _condition_columns(cond.get("not"))


def _columns_of(rule: Any) -> list[str]:
    """The raw columns a rule takes its value from: the column of an assign, iso8601,
    map or number rule, the column a derivation names (``params: {column: VISIT}``,
    ``verbatim: AETERM``), and the fields whose answer sets a constant (``{hardcode: Y,
    when: {column: STATUS ...}}``)."""
    out = []
    for r in _rules(rule):
        for action in _RAW_ACTIONS:
            if isinstance(r.get(action), str):
                out.append(r[action])
        if isinstance(r.get("time"), str):
            out.append(r["time"])
        if "derive" in r:
            params = r.get("params") or {}
            for key in ("column", "verbatim"):
                if isinstance(params.get(key), str):
                    out.append(params[key])
            if "column" not in params and r["derive"] in _DERIVATION_COLUMNS:
                out.append(_DERIVATION_COLUMNS[r["derive"]])
        if "hardcode" in r and str(r["hardcode"]) != "":
            out += _condition_columns(r.get("when"))
    return out


def _topic_value(rule: Any, item: str, codelists: Mapping[str, Codelist]) -> str | None:
    """What a topic variable's rule gives for a melted record of column ``item``
    (declared maps, codelist lookups and constants; None when it cannot be told)."""
    for r in _rules(rule):
        if "map" in r:
            table = {fold(k): v for k, v in r["values"].items()}
            return str(table.get(fold(item), r.get("default", item)))
        if "hardcode" in r:
            return str(r["hardcode"])
        if "assign" in r:
            cl = codelists.get(str(r.get("codelist")))
            if cl is None:
                return item
            found = cl.lookup().get(fold(item))
            return None if found is None else str(found)
    return None


def _topic(spec: DatasetSpec) -> str | None:
    """The variable that names a melted record: QNAM, --TESTCD or --PARMCD."""
    names = spec.variable_names
    if "QNAM" in names:
        return "QNAM"
    return next((n for n in names if n.endswith(("TESTCD", "PARMCD"))), None)


def annotations(specs: Mapping[str, DatasetSpec], forms: Mapping[str, RawForm],
                codelists: Mapping[str, Codelist]) -> list[Annotation]:
    """Every (raw field, SDTM variable) pair the SDTM specs' rules make.

    Parameters
    ----------
    specs : mapping of str to DatasetSpec
        The SDTM dataset specs.
    forms : mapping of str to RawForm
        The raw form specs (which form a block and a merged column come from).
    codelists : mapping of str to Codelist
        To tell the topic value of a melted field mapped through a codelist.

    Returns
    -------
    list of Annotation
        In spec order: dataset, source block, variable; each pair once.
    """
    out: list[Annotation] = []
    seen: set[Annotation] = set()
    for spec in specs.values():
        topic = _topic(spec)
        for block in spec.sources:
            form = block.get("form")
            if form not in forms:
                continue
            overrides = block.get("set") or {}
            melt = block.get("melt") or {}
            melted = list(melt.get("columns") or [])
            value_col = melt.get("value", "RESULT")
            topic_rule = overrides.get(topic, spec.variable(topic).rule) if topic else None
            fixed_topic = (isinstance(topic_rule, Mapping) and "hardcode" in topic_rule
                           and "when" not in topic_rule)
            for var in spec.variables:
                rule = overrides.get(var.name, var.rule)
                if (var.origin == "Collected" and fixed_topic and not melted
                        and isinstance(rule, Mapping) and "hardcode" in rule
                        and "when" not in rule and not _columns_of(rule)):
                    # A collected value the form gives by being filled in (RSORRES Y
                    # for a clinical progression form): on the form's first field.
                    first = next((c for c in forms[form].column_names
                                  if c not in forms[form].keys), None)
                    if first is not None:
                        note = Annotation(form, first, spec.name, var.name,
                                          (topic, str(topic_rule["hardcode"])))
                        if note not in seen:
                            seen.add(note)
                            out.append(note)
                    continue
                for col in _columns_of(rule):
                    if col.startswith(f"{spec.name}."):
                        continue  # a variable of the dataset itself
                    src_form, _, name = col.rpartition(".")
                    src_form = src_form or form
                    if melted and src_form == form and name == value_col:
                        topic_rule = overrides.get(topic, spec.variable(topic).rule) \
                            if topic else None
                        for item in melted:
                            value = _topic_value(topic_rule, item, codelists)
                            where = (topic, value) if topic and value else None
                            note = Annotation(form, item, spec.name, var.name, where)
                            if note not in seen:
                                seen.add(note)
                                out.append(note)
                        continue
                    if src_form not in forms or name not in forms[src_form].column_names:
                        continue
                    # A block that writes one topic value (SUPPDM QNAM STRAT1, RS
                    # RSTESTCD ECOG101) qualifies its fields with it.
                    topic_rule = overrides.get(topic, spec.variable(topic).rule) \
                        if topic else None
                    fixed = (isinstance(topic_rule, Mapping) and "hardcode" in topic_rule
                             and "when" not in topic_rule and var.name != topic
                             and var.role != "Identifier")
                    where = (topic, str(topic_rule["hardcode"])) if fixed else None
                    note = Annotation(src_form, name, spec.name, var.name, where)
                    if note not in seen:
                        seen.add(note)
                        out.append(note)
    return out


def _field_text(notes: Iterable[Annotation]) -> list[str]:
    """The annotation lines of one field: per dataset, its variables and condition."""
    groups: dict[tuple[str, tuple[str, str] | None], list[str]] = {}
    for n in notes:
        groups.setdefault((n.dataset, n.where), [])
        if n.variable not in groups[(n.dataset, n.where)]:
            groups[(n.dataset, n.where)].append(n.variable)
    lines = []
    for (dataset, where), variables in groups.items():
        if dataset.startswith("SUPP") and where and where[0] == "QNAM":
            lines.append(f"{where[1]} in {dataset}")
        elif where:
            lines.append(f"{' / '.join(variables)} when {where[0]} = {where[1]}")
        else:
            lines.append(" / ".join(variables))
    # STUDYID of every domain is one annotation.
    return list(dict.fromkeys(lines))


@dataclass
class AnnotatedCRF:
    """Where the annotated CRF shows each variable: the pages of each form and of each
    (dataset, variable) and (dataset, variable, value) annotated."""

    path: Path
    form_pages: dict[str, list[int]] = field(default_factory=dict)
    variable_pages: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    value_pages: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)

    def pages(self, dataset: str, variable: str, value: str | None = None) -> list[int]:
        """Pages (1-based, physical) where a variable, or one value of its value-level
        split, is annotated; empty when nowhere."""
        if value is not None:
            return self.value_pages.get((dataset, variable, value), [])
        return self.variable_pages.get((dataset, variable), [])


def _domains_of(notes: Iterable[Annotation], specs_labels: Mapping[str, str]) -> list[str]:
    seen: list[str] = []
    for n in notes:
        name = n.dataset
        if name not in seen:
            seen.append(name)
    return [f"{d} ({specs_labels.get(d, d)})" for d in seen]


def write_acrf(forms: Mapping[str, RawForm], notes: list[Annotation], path: Path,
               study: str, labels: Mapping[str, str] | None = None) -> AnnotatedCRF:
    """Draw the annotated blank CRF (PDF) and say on which pages each variable is.

    Parameters
    ----------
    forms : mapping of str to RawForm
        The raw forms, drawn in this order.
    notes : list of Annotation
        From :func:`annotations`.
    path : pathlib.Path
        The PDF to write (atomically).
    study : str
        The study identifier, printed on every page.
    labels : mapping of str to str, optional
        Dataset labels for the domain boxes (``AE (Adverse Events)``).

    Returns
    -------
    AnnotatedCRF
    """
    from reportlab.lib.colors import Color, black
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen.canvas import Canvas

    labels = labels or {}
    width, height = A4
    margin, top_gap = 36.0, 110.0
    cols = (margin, margin + 190, margin + 270, margin + 340)  # question, name, format, note
    note_width = width - margin - cols[3] - 4
    font, size, leading = "Helvetica", 8.0, 10.0
    by_field: dict[tuple[str, str], list[Annotation]] = {}
    for n in notes:
        by_field.setdefault((n.form, n.column), []).append(n)
    result = AnnotatedCRF(Path(path))
    blue = Color(0.05, 0.2, 0.6)
    fill = Color(0.85, 0.92, 1.0)

    def draw(tmp: Path) -> None:
        canvas = Canvas(str(tmp), pagesize=A4, invariant=1, pageCompression=1)
        canvas.setTitle(f"{study} annotated CRF")
        canvas.setAuthor("trialflow")
        page = 0

        def new_page(form: RawForm, continued: bool) -> float:
            nonlocal page
            if page:
                canvas.showPage()
            page += 1
            result.form_pages.setdefault(form.name, []).append(page)
            canvas.setFont("Helvetica-Bold", 12)
            title = f"{form.label} ({form.name})" + (" - continued" if continued else "")
            canvas.drawString(margin, height - margin - 4, title)
            canvas.setFont(font, 7)
            canvas.drawRightString(width - margin, height - margin - 4,
                                   f"{study} annotated CRF - page {page}")
            domains = _domains_of(by_field_notes(form), labels)
            y = height - margin - 24
            x = margin
            canvas.setFont("Helvetica-Bold", 8)
            for d in domains or ["[NOT SUBMITTED]"]:
                w = canvas.stringWidth(d, "Helvetica-Bold", 8) + 8
                if x + w > width - margin:
                    x, y = margin, y - 16
                canvas.setFillColor(fill)
                canvas.setStrokeColor(blue)
                canvas.rect(x, y - 4, w, 13, fill=1, stroke=1)
                canvas.setFillColor(blue)
                canvas.drawString(x + 4, y, d)
                x += w + 6
            canvas.setFillColor(black)
            canvas.setFont("Helvetica-Bold", 8)
            head = height - top_gap + 14
            for x0, text in zip(cols, ("Question", "Field", "Answer", "SDTM annotation"),
                                strict=True):
                canvas.drawString(x0, head, text)
            canvas.line(margin, head - 3, width - margin, head - 3)
            return height - top_gap

        def by_field_notes(form: RawForm) -> list[Annotation]:
            return [n for c in form.columns for n in by_field.get((form.name, c.name), [])]

        for form in forms.values():
            y = new_page(form, False)
            for column in form.columns:
                field_notes = by_field.get((form.name, column.name), [])
                lines = _field_text(field_notes) or ["[NOT SUBMITTED]"]
                wrapped = [w for line in lines
                           for w in simpleSplit(line, font, size, note_width)]
                question = simpleSplit(column.label, font, size, cols[1] - cols[0] - 6)
                answer = _answer(column)
                rows = max(len(wrapped), len(question), 1)
                row_height = rows * leading + 6
                if y - row_height < margin + 20:
                    y = new_page(form, True)
                canvas.setFont(font, size)
                canvas.setFillColor(black)
                for i, q in enumerate(question):
                    canvas.drawString(cols[0], y - leading * (i + 1), q)
                canvas.drawString(cols[1], y - leading, column.name)
                canvas.drawString(cols[2], y - leading, answer)
                canvas.setFillColor(fill)
                canvas.setStrokeColor(blue)
                canvas.rect(cols[3] - 2, y - row_height + 3, note_width + 4, row_height - 4,
                            fill=1, stroke=1)
                canvas.setFillColor(blue)
                for i, w in enumerate(wrapped):
                    canvas.drawString(cols[3], y - leading * (i + 1), w)
                for n in field_notes:
                    key = (n.dataset, n.variable)
                    pages = result.variable_pages.setdefault(key, [])
                    if page not in pages:
                        pages.append(page)
                    if n.where is not None:
                        vkey = (n.dataset, n.variable, n.where[1])
                        vpages = result.value_pages.setdefault(vkey, [])
                        if page not in vpages:
                            vpages.append(page)
                        if n.supplemental:
                            qkey = (n.dataset, "QVAL", n.where[1])
                            qpages = result.value_pages.setdefault(qkey, [])
                            if page not in qpages:
                                qpages.append(page)
                canvas.setFillColor(black)
                canvas.setStrokeColor(black)
                y -= row_height
        canvas.showPage()
        canvas.save()

    write_atomic(Path(path), draw)
    return result


def _answer(column: Any) -> str:
    """How a field is answered on the blank form."""
    if column.type == "date":
        return "DD-MON-YYYY" + (" (UN)" if column.partial else "")
    if column.codelist:
        return f"[{column.codelist}]"
    if column.allowed:
        return "/".join(str(a) for a in column.allowed)[:14]
    return {"integer": "___ (n)", "float": "___.__"}.get(column.type, "________")
