"""The contracts of the TLF layer.

* The ARD: cards-shaped columns, one row per number (unique keys), ``output_id`` naming
  the outputs that print a row.
* Every number a document prints traces to exactly one ARD row, by (output_id, row,
  column), and is that row's value as printed (tables, their headers and figures).
* The CDISC ARS export holds every ARD row once, with resolvable references.
* Specs are a typed contract: a misspelt key, an unknown family, population or analysis
  is one line naming the file, the key and what is allowed (exit 2 at the command line).
* No study knowledge in the code: none of the bundled example's identifiers appears in
  tlf/.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from tlfkit import TLF_SPECS, layout, plan, precious_plan, spec

from tlf.analyses import ARD_COLUMNS, KEY
from tlf.ard import read_ard
from tlf.document import Figure, Table
from tlf.outputs.cells import ArdView, At, Ref, Text, cat, npct_text
from tlf.spec import load_analyses, load_output_specs
from trialflow import SPECS
from trialflow.cli import main
from trialflow.errors import SpecError
from trialflow.stats import round_half_up

REPO = Path(__file__).resolve().parents[2]
OUTPUTS = [s.name for s in load_output_specs(TLF_SPECS)]
TABLES = [s.name for s in load_output_specs(TLF_SPECS) if s.kind == "table"]
FIGURES = [s.name for s in load_output_specs(TLF_SPECS) if s.kind == "figure"]
_NUMBER = re.compile(r"[<>]?-?\d+(?:\.\d+)?|NE")


@pytest.fixture(scope="module")
def built(study_build) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    out = study_build.out / "tlf"
    trace = pd.read_csv(out / "trace.csv", dtype=str, keep_default_na=False)
    return out, read_ard(out / "ard.csv"), trace


# --- the ARD ------------------------------------------------------------------------


def test_ard_shape_and_keys(built) -> None:
    _, ard, _ = built
    assert tuple(ard.columns) == ARD_COLUMNS
    assert not ard.duplicated(list(KEY)).any()
    assert ard["stat_label"].ne("").all() and ard["method"].ne("").all()
    assert set(ard["analysis_id"]) == set(precious_plan().analyses)
    # A comparison names both arms; a subgroup (or a parent term) row names its variable.
    assert set(ard["group1_level"]) == {"PTC", "TC", "Total", "PTC vs TC"}
    sub = ard[ard["group2"] != ""]
    assert set(sub["analysis_id"]) == {"pfs_subgroups", "ae_soc_pt", "ae_soc_pt_grade"}


def test_output_id_names_the_outputs_that_print_a_row(built) -> None:
    _, ard, trace = built
    printed = trace[trace["ard_row"] != ""]
    by_row = printed.groupby(printed["ard_row"].astype(int) - 1)["output_id"].agg(set)
    shown = ard["output_id"].str.split(";")
    for position, outputs in by_row.items():
        assert set(shown[position]) == outputs
    unprinted = ard.index.difference(by_row.index)
    assert (ard.loc[unprinted, "output_id"] == "").all()
    assert set(o for ids in shown for o in ids if o) <= set(OUTPUTS)
    # Every table and figure prints ARD numbers; listings print records.
    assert set(printed["output_id"]) == set(TABLES) | set(FIGURES)


# --- every printed number is one ARD row ----------------------------------------------


def _check_number(text: str, value: float) -> None:
    """``text`` is ``value`` as a table prints it."""
    if text == "NE":
        assert math.isnan(value), (text, value)
    elif text.startswith("<"):
        assert value < float(text[1:]), (text, value)
    elif text.startswith(">"):
        assert value > float(text[1:]), (text, value)
    else:
        decimals = len(text.split(".")[1]) if "." in text else 0
        assert float(round_half_up(value, decimals)) == float(text), (text, value)


@pytest.mark.parametrize("name", TABLES)
def test_every_table_cell_traces_to_its_ard_rows(built, name: str, tmp_path: Path) -> None:
    out, ard, trace = built
    table = layout(spec(name), ard, tmp_path)
    assert isinstance(table, Table)
    mine = trace[trace["output_id"] == name]
    cells = [("header", c.key, c.header) for c in table.columns]
    cells += [(str(i + 1), table.columns[j].key, cell) for i, row in enumerate(table.body)
              if row.kind == "data" for j, cell in enumerate(row.cells) if j > 0]
    checked = 0
    for row, column, text in cells:
        tokens = _NUMBER.findall(str(text or ""))
        if row == "header" and column == "label":
            continue
        refs = mine[(mine["row"] == row) & (mine["column"] == column)]
        if row == "header":
            # A header is a label ("Grade 1") with the group's N from the ARD.
            rest = list(tokens)
            for got in refs["text"]:
                assert got in rest, (name, column, text)
                rest = rest[rest.index(got) + 1:]
        else:
            # Each number of a cell is one traced ARD row, in order, printing its value.
            assert refs["text"].tolist() == tokens, (name, row, column, text)
        for ref in refs.itertuples():
            assert ref.ard_row != "", (name, row, column, "NE without an ARD row")
            found = ard.iloc[int(ref.ard_row) - 1]
            assert tuple(found[list(KEY)]) == tuple(getattr(ref, k) for k in KEY)
            _check_number(ref.text, float(found["stat"]))
            checked += 1
    assert checked > 0


@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_number_traces_to_its_ard_rows(built, name: str,
                                                    tmp_path: Path) -> None:
    _, ard, trace = built
    figure = layout(spec(name), ard, tmp_path)
    assert isinstance(figure, Figure) and figure.trace
    for element, _, text in figure.trace:
        refs = getattr(text, "refs", ())
        numbers = _NUMBER.findall(str(text))
        if not refs:
            # A line of words only ("Stratified log-rank test, one-sided", a heading).
            assert not [n for n in numbers if n not in ("95",)], (name, element, text)
            continue
        rest = str(text)
        for ref in refs:  # in order, each printed number is in the text
            assert ref.text in rest, (name, element, text, ref.text)
            rest = rest[rest.index(ref.text) + len(ref.text):]
            assert ref.row is not None
            _check_number(ref.text, float(ard.iloc[ref.row]["stat"]))
    mine = trace[trace["output_id"] == name]
    assert len(mine) == sum(len(getattr(t, "refs", ())) for _, _, t in figure.trace)
    if name.startswith("f_14_2_") and "forest" not in name:
        at_risk = [p for e, p, _ in figure.trace if e == "at risk"]
        ticks = ard[(ard["analysis_id"] == spec(name).parameters["analysis"])
                    & (ard["stat_name"] == "at_risk")]
        assert len(at_risk) == len(ticks)


def test_cells_keep_their_references_in_order() -> None:
    ard = pd.DataFrame([{"analysis_id": "a", "output_id": "", "population": "p",
                         "group1": "TRT", "group1_level": "X", "group2": "",
                         "group2_level": "", "variable": "V", "variable_level": "",
                         "stat_name": s, "stat_label": s, "stat": v, "method": "m"}
                        for s, v in (("n", 17.0), ("pct", 100 * 17 / 87), ("median", 5.25))])
    view = ArdView(ard)
    text = view.fill("{n:npct} and {median:1}", At("a", "X", "V"))
    assert text == "17 (19.5) and 5.3"
    assert [(r.row, r.text) for r in text.refs] == [(0, "17"), (1, "19.5"), (2, "5.3")]
    joined = cat("[", text, "]")
    assert joined == "[17 (19.5) and 5.3]" and len(joined.refs) == 3
    assert isinstance(Text("x", [Ref(None, (), "NE")]), str)


def test_npct_prints_as_n_pct_does() -> None:
    from tlf.format import n_pct

    for n, big_n in ((17, 87), (0, 108), (1, 3000), (1999, 2000), (5, 5), (1, 8)):
        assert npct_text(n, 100.0 * n / big_n) == n_pct(n, big_n)


# --- the ARS export -------------------------------------------------------------------


def test_ars_reporting_event_holds_every_ard_row(built) -> None:
    out, ard, _ = built
    event = json.loads((out / "ars.json").read_text(encoding="utf-8"))
    assert {"id", "name", "analysisSets", "analysisGroupings", "methods", "analyses",
            "outputs", "mainListOfContents"} <= set(event)
    sets = {s["id"] for s in event["analysisSets"]}
    groups = {(g["id"], grp["id"]) for g in event["analysisGroupings"] for grp in g["groups"]}
    operations = {op["id"] for m in event["methods"] for op in m["operations"]}
    results = [r for a in event["analyses"] for r in a["results"]]
    assert len(results) == len(ard)
    for analysis in event["analyses"]:
        assert analysis["analysisSetId"] in sets
        for result in analysis["results"]:
            assert result["operationId"] in operations
            for rg in result["resultGroups"]:
                assert (rg["groupingId"], rg["groupId"]) in groups
    raw = sorted(float(r["rawValue"]) for r in results if r["rawValue"] is not None)
    assert raw == sorted(ard["stat"].dropna().tolist())
    assert len(event["outputs"]) == len(OUTPUTS)
    printed = [r for r in results if "formattedValue" in r]
    assert printed and all(r["formattedValue"] for r in printed)


# --- specs are a typed contract --------------------------------------------------------


def _analysis(**changes: object) -> dict[str, object]:
    doc = {"id": "t1", "family": "descriptive", "population": "all",
           "group": {"variable": "TRT01P"}, "variables": [{"variable": "AGE"}]}
    return {**doc, **changes}


@pytest.mark.parametrize("doc,message", [
    (_analysis(populaton="all"), "analysis t1: unknown key 'populaton' (allowed: "),
    (_analysis(family="anova"), "family 'anova' is not one of ae_overview"),
    (_analysis(comparisons="pairs"), "comparisons: unallowed value pairs"),
    (_analysis(variables=[{"variable": "AGE", "tpye": "continuous"}]),
     "variables[1]: unknown key 'tpye' (allowed: "),
    (_analysis(where={"AGE": {"gte": 3}}), "where: AGE: unknown operator 'gte'"),
    (_analysis(family="tte", landmark=[6]), "unknown key 'landmark' (allowed: "),
])
def test_an_analysis_spec_error_is_one_line(doc, message) -> None:
    with pytest.raises(SpecError) as caught:
        plan([doc])
    text = str(caught.value)
    assert message in text and "\n" not in text
    assert text.startswith("spec inline.yaml: ")


def test_an_undeclared_population_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "populations: {itt: {label: ITT, where: {ITTFL: 'Y'}}}\n"
        "analyses:\n  - {id: x, family: descriptive, population: saf, group: TRT01P,\n"
        "     variables: [{variable: AGE}]}\n")
    with pytest.raises(SpecError, match="population 'saf' is not declared \\(declared: itt\\)"):
        load_analyses(tmp_path)


def _study_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "study"
    folder.mkdir()
    shutil.copytree(SPECS / "tlf", folder / "tlf")
    text = (SPECS / "study.yaml").read_text(encoding="utf-8")
    text = text.replace("inputs: {layer: raw}", "inputs: {layer: adam, sources: "
                        f"[{{path: {tmp_path / 'nowhere'}}}]}}")
    text = text.replace("  simulation: simulation.yaml\n", "").replace(
        "  targets: targets.yaml\n", "")
    (folder / "study.yaml").write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize("file,old,new,message", [
    ("analyses/efficacy.yaml", "    landmarks: [6, 12]", "    landmark: [6, 12]",
     "analysis pfs_itt: unknown key 'landmark'"),
    ("t_14_2_1_pfs_itt.yaml", "  time_label:", "  time_lable:",
     "parameters of layout tte_summary: unknown key 'time_lable'"),
    ("t_14_2_1_pfs_itt.yaml", "  analysis: pfs_itt", "  analysis: pfs_it",
     "parameters.analysis: no analysis 'pfs_it'"),
])
def test_a_broken_spec_stops_the_command_with_one_line(tmp_path: Path, capsys, file, old,
                                                       new, message) -> None:
    folder = _study_copy(tmp_path)
    path = folder / "tlf" / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    (tmp_path / "adam").mkdir()
    code = main(["tlf", "--study", str(folder), "--adam", str(tmp_path / "adam"),
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    line = next(x for x in err.splitlines() if message in x)
    assert str(path) in line
    assert not (tmp_path / "out" / "ard.csv").exists()


# --- no study knowledge in the code ---------------------------------------------------

#: The bundled example's study name, arm codes, parameter codes, strata, population
#: flags and variables (case-sensitive words) and its terms (in any case): none may
#: appear in tlf/ (they belong in its specs).
CODES = re.compile(
    r"\b(PRECIOUS|PTC|TC|PFS|OS|DOR|TTDBTOI|BOR|CBOR|RSP|OVR|STRAT[1-4]R?|TDM1LFL|MEASFL|"
    r"QOLFL|LVEFDFL|CQ0[1-7]NAM|CHEMOA|CYCLES|PPERDURC|PPERLINE)\b")
TERMS = re.compile(r"precious|pertuzumab|trastuzumab|t-dm1|her2|fact-b|b-toi|tdm1|pfs_|"
                   r"os_itt|ttd_bt", re.IGNORECASE)


def study_words(line: str) -> list[str]:
    """The bundled study's identifiers in a line of code."""
    return [m.group(0) for m in (*CODES.finditer(line), *TERMS.finditer(line))]


def test_no_identifier_of_the_bundled_study_in_tlf_code() -> None:
    found = {}
    for path in sorted((REPO / "tlf").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            words = study_words(line)
            if words:
                found.setdefault(str(path.relative_to(REPO)), []).append(
                    f"{number}: {', '.join(words)}")
    assert found == {}


def test_the_identifier_scan_catches_a_study_name() -> None:
    assert study_words('ARMS = ("PTC", "TC")') == ["PTC", "TC"]
    assert study_words("paramcd = 'TTDBTOI'") == ["TTDBTOI"]
    assert study_words("strata = [STRAT1R]") == ["STRAT1R"]
    assert study_words("analysis = 'pfs_itt'") == ["pfs_"]
    assert study_words("import os.path  # a TCP socket") == []


def test_the_json_schemas_check_analyses_and_layout_parameters() -> None:
    import jsonschema

    from trialflow.cli.schema import schema_of

    analyses = jsonschema.Draft202012Validator(schema_of("analyses"))
    good = {"analyses": [{"id": "x", "family": "tte", "population": "itt",
                          "dataset": "ADTTE", "parameter": "EFS", "group": "TRT01P",
                          "landmarks": [6]}]}
    assert analyses.is_valid(good)
    bad = {"analyses": [{**good["analyses"][0], "landmark": [6]}]}
    assert not analyses.is_valid(bad)
    outputs = jsonschema.Draft202012Validator(schema_of("output"))
    doc = {"name": "t_1_x", "kind": "table", "number": "1", "title": "T", "population": "P",
           "source": "ADTTE", "layout": "tte_summary", "parameters": {"analysis": "x"}}
    assert outputs.is_valid(doc)
    assert not outputs.is_valid({**doc, "parameters": {"analysis": "x", "time_lable": "T"}})
