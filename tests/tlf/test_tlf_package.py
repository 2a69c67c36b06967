"""Every output of ``specs/tlf`` as the study build renders it: one DOCX each (and XLSX
for tables and listings) that opens, with the title block, "Page x of y", repeated
header rows, the page orientation of its spec, and a source line naming its program."""

from __future__ import annotations

import math
from pathlib import Path

import docx
import openpyxl
import pandas as pd
import pytest
from docx.enum.section import WD_ORIENT

from tlf.outputs import ArdView, At, layouts
from tlf.spec import TLF_SPECS, load_output_spec, load_output_specs
from trialflow import SPECS as SPECS_DIR
from trialflow.cli import main
from trialflow.errors import SpecError
from trialflow.spec import load_dataset_specs
from trialflow.xpt import read_xpt, write_xpt

SPECS = load_output_specs()
LABEL = {"table": "Table", "listing": "Listing", "figure": "Figure"}


@pytest.fixture(scope="module")
def tlf_dir(study_build) -> Path:
    return study_build.out / "tlf"


def test_every_spec_names_a_registered_layout() -> None:
    missing = {s.name: s.layout for s in SPECS if s.layout not in layouts()}
    assert not missing


def test_the_package_has_the_papers_outputs_and_the_catalog() -> None:
    papers = {s.paper for s in SPECS if s.paper}
    for wanted in ("Table 1", "Table 2", "Table 3", "Figure 1", "Figure 2A", "Figure 2B",
                   "Figure 2C", "Figure 3", "Figure 4"):
        assert any(wanted == p or p.startswith(wanted + " ") for p in papers), wanted
    kinds = pd.Series([s.kind for s in SPECS]).value_counts()
    assert kinds["figure"] == 6 and kinds["listing"] == 4 and kinds["table"] >= 20


def test_index_lists_every_output_with_its_files(tlf_dir: Path) -> None:
    index = pd.read_csv(tlf_dir / "index.csv", dtype=str, keep_default_na=False)
    assert list(index["number"]) == [s.number for s in SPECS]
    for files in index["files"]:
        for name in files.split():
            assert (tlf_dir / name).is_file(), name


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_rendered_docx_has_title_page_numbers_headers_and_source(spec, tlf_dir: Path) -> None:
    document = docx.Document(str(tlf_dir / f"{spec.name}.docx"))
    section = document.sections[0]
    header = "\n".join(p.text for p in section.first_page_header.paragraphs)
    assert f"{LABEL[spec.kind]} {spec.number}" in header
    assert spec.title in header and spec.population in header
    later = "\n".join(p.text for p in section.header.paragraphs)
    assert f"{LABEL[spec.kind]} {spec.number} (continued)" in later
    assert "Protocol: JBCRG-M05" in header and "Data cut-off: 2019-07-31" in header
    assert "FINAL" in header
    header_xml = section.first_page_header._element.xml
    assert "PAGE" in header_xml and "NUMPAGES" in header_xml
    landscape = section.orientation == WD_ORIENT.LANDSCAPE
    assert landscape == spec.landscape
    # Footnotes, source and the study's footer line are at the foot of every page.
    text = "\n".join(p.text for p in section.footer.paragraphs)
    assert f"Output: {spec.name}" in text
    layout = layouts()[spec.layout]
    assert f"Program: {layout.__module__.replace('.', '/')}.py" in text
    for note in spec.footnotes:
        assert note in text
    if spec.kind == "figure":
        assert len(document.inline_shapes) == 1
    else:
        table = document.tables[0]
        assert "<w:tblHeader/>" in table.rows[0]._tr.xml  # repeated on every page
        assert len(table.rows) > 1


@pytest.mark.parametrize("spec", [s for s in SPECS if s.kind != "figure"],
                         ids=[s.name for s in SPECS if s.kind != "figure"])
def test_rendered_xlsx_has_title_page_numbers_and_print_titles(spec, tlf_dir: Path) -> None:
    sheet = openpyxl.load_workbook(tlf_dir / f"{spec.name}.xlsx").worksheets[0]
    assert sheet["A1"].value == f"{LABEL[spec.kind]} {spec.number}"
    assert sheet["A2"].value == spec.title
    assert sheet.print_title_rows  # header rows repeat on every printed page
    assert sheet.oddFooter.right.text == "Page &P of &N"
    assert (sheet.page_setup.orientation == "landscape") == spec.landscape


def test_a_spec_whose_name_is_not_its_file_is_refused(tmp_path: Path) -> None:
    text = (TLF_SPECS / "t_14_1_1_populations.yaml").read_text()
    bad = tmp_path / "t_9_9_other.yaml"
    bad.write_text(text)
    with pytest.raises(SpecError, match="must equal the file stem"):
        load_output_spec(bad)


def test_a_spec_without_a_title_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "t_9_9_other.yaml"
    bad.write_text("name: t_9_9_other\nkind: table\nnumber: '9.9'\npopulation: ITT\n"
                   "layout: summary\nsource: ADSL\n")
    with pytest.raises(SpecError, match="title"):
        load_output_spec(bad)


def test_two_specs_with_one_number_are_refused(tmp_path: Path) -> None:
    text = (TLF_SPECS / "t_14_1_1_populations.yaml").read_text()
    (tmp_path / "t_14_1_1_populations.yaml").write_text(text)
    (tmp_path / "t_14_1_1_copy.yaml").write_text(
        text.replace("name: t_14_1_1_populations", "name: t_14_1_1_copy"))
    with pytest.raises(SpecError, match="14.1.1 is also"):
        load_output_specs(tmp_path)


def test_the_study_prints_no_ne_for_want_of_an_ard_row(study_build) -> None:
    log = (study_build.out / "reports" / "run.log").read_text()
    tlf = log.split("[stage tlf]")[1]
    assert "findings: 0 errors, 0 warnings" in tlf


def test_a_row_not_computed_prints_ne_and_is_recorded() -> None:
    ard = pd.DataFrame([{"analysis_id": "pfs_itt", "output_id": "", "population": "itt",
                         "group1": "TRT01P", "group1_level": "PTC", "group2": "",
                         "group2_level": "", "variable": "PFS", "variable_level": "",
                         "stat_name": "median", "stat_label": "Median", "stat": 5.25,
                         "method": "KM"}])
    view = ArdView(ard)
    assert view.value(At("pfs_itt", "PTC", "PFS"), "median") == 5.25
    assert not view.missing
    assert math.isnan(view.value(At("pfs_itt", "PTC vs TC", "PFS", "stratified"), "hr"))
    text = view.text(At("populations", "TC", "itt"), "n", 0)
    assert text == "NE" and text.refs[0].row is None
    assert view.missing == [
        {"analysis_id": "pfs_itt", "group1_level": "PTC vs TC", "group2": "",
         "group2_level": "", "variable": "PFS", "variable_level": "stratified",
         "stat_name": "hr"},
        {"analysis_id": "populations", "group1_level": "TC", "group2": "",
         "group2_level": "", "variable": "itt", "variable_level": "", "stat_name": "n"}]


def test_a_small_study_builds_every_output_with_ne_and_warnings(
        study_build, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Four subjects: no comparison is estimable in the strata, subgroups are empty.
    adam = {p.stem.upper(): read_xpt(p).data for p in (study_build.out / "adam").glob("*.xpt")}
    keep = set(adam["ADSL"]["USUBJID"].iloc[:4])
    small = tmp_path / "adam"
    small.mkdir()
    specs = load_dataset_specs(SPECS_DIR / "adam")
    for name, frame in adam.items():
        write_xpt(frame[frame["USUBJID"].isin(keep)], specs[name], small / f"{name.lower()}.xpt")
    assert main(["tlf", "--adam", str(small), "--out", str(tmp_path / "tlf")]) == 0
    err = capsys.readouterr().err
    assert "prints NE: the ARD has no" in err
    # One DOCX and one RTF per output, and the book.
    assert len(list((tmp_path / "tlf").glob("*.docx"))) == len(SPECS) + 1
    assert len(list((tmp_path / "tlf").glob("*.rtf"))) == len(SPECS)
    assert (tmp_path / "tlf" / "book.docx").is_file()
