"""Raw CRF reader: one test per rule, on tiny CSV files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from trialflow.errors import InputError, SpecError
from trialflow.findings import Finding, findings_frame
from trialflow.rawdata import parse_edc_date, read_form, read_forms
from trialflow.spec import Codelist, RawColumn, RawForm, Term

FORM = RawForm(
    name="demo", label="Demo", file="demo.csv", keys=("SUBJID",), repeating=False,
    columns=(
        RawColumn("SUBJID", "Subject number", "text", required=True, max_length=8),
        RawColumn("AGE", "Age", "integer", required=True, min=18, max=100),
        RawColumn("WEIGHT", "Weight (kg)", "float", min=25, max=200),
        RawColumn("SEX", "Sex", "text", codelist="SEX"),
        RawColumn("ARM", "Arm", "text", allowed=("A", "B")),
        RawColumn("VISDT", "Visit date", "date", required=True),
        RawColumn("BRTHDT", "Birth date", "date", partial=True),
        RawColumn("COMMENT", "Comment", "text"),
    ))
CODELISTS = {"SEX": Codelist("SEX", "Sex", None, False, "text",
                             (Term("F", "Female", synonyms=("woman",)), Term("M", "Male")))}
HEADER = "SUBJID,AGE,WEIGHT,SEX,ARM,VISDT,BRTHDT,COMMENT"
GOOD = "001,45,70.5,F,A,05-JUN-2016,UN-JUN-1970,"


def _csv(tmp_path: Path, *rows: str, header: str = HEADER, end: str = "\n") -> Path:
    path = tmp_path / "demo.csv"
    path.write_text("\n".join([header, *rows]) + end, encoding="utf-8")
    return path


def _findings(tmp_path: Path, *rows: str) -> list[Finding]:
    return read_form(_csv(tmp_path, *rows), FORM, CODELISTS)[1]


def _only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


def _input_error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        read_form(path, FORM, CODELISTS)
    assert str(path) in str(info.value)
    return info.value


# --------------------------------------------------------------------------- clean input


def test_clean_file_reads_as_text_without_findings(tmp_path: Path) -> None:
    frame, findings = read_form(_csv(tmp_path, GOOD, "002,60,,m,B,01-JAN-2017,,ok"),
                                FORM, CODELISTS)
    assert findings == []
    assert list(frame.columns) == list(FORM.column_names)
    assert frame.loc[0, "AGE"] == "45" and frame.loc[0, "COMMENT"] == ""
    assert frame.loc[1, "WEIGHT"] == ""  # blank stays '', not NaN
    assert all(pd.api.types.is_object_dtype(t) for t in frame.dtypes)


def test_header_only_gives_empty_frame_when_the_form_may_be_empty(tmp_path: Path) -> None:
    frame, findings = read_form(_csv(tmp_path), replace(FORM, may_be_empty=True), CODELISTS)
    assert frame.empty and list(frame.columns) == list(FORM.column_names) and findings == []


def test_header_only_is_an_error_for_a_form_that_must_have_records(tmp_path: Path) -> None:
    error = _input_error(_csv(tmp_path))
    assert "has a header but no records, and form 'demo' must have some" in str(error)


def test_quoted_comma_and_newline_in_a_value(tmp_path: Path) -> None:
    row = '003,50,80,F,A,05-JUN-2016,,"pain, left\nside ""severe"""'
    frame, findings = read_form(_csv(tmp_path, row, GOOD.replace("001", "004")), FORM,
                                CODELISTS)
    # The value is kept whole; its line break is worth a look (one-line SDTM values).
    assert [(f.row, f.variable, f.rule, f.severity) for f in findings] == [
        (1, "COMMENT", "line_break", "warning")]
    assert frame.loc[0, "COMMENT"] == 'pain, left\nside "severe"'
    assert len(frame) == 2


def test_byte_order_mark_and_crlf_accepted(tmp_path: Path) -> None:
    path = tmp_path / "demo.csv"
    path.write_bytes(("\ufeff" + HEADER + "\r\n" + GOOD + "\r\n").encode("utf-8"))
    frame, findings = read_form(path, FORM, CODELISTS)
    assert findings == [] and frame.loc[0, "SUBJID"] == "001"


def test_columns_in_another_order_are_put_in_spec_order(tmp_path: Path) -> None:
    cols, vals = HEADER.split(","), GOOD.split(",")
    path = _csv(tmp_path, ",".join(reversed(vals)), header=",".join(reversed(cols)))
    frame, findings = read_form(path, FORM, CODELISTS)
    assert findings == [] and list(frame.columns) == cols and frame.loc[0, "AGE"] == "45"


# --------------------------------------------------------------------------- file errors


def test_missing_file(tmp_path: Path) -> None:
    err = _input_error(tmp_path / "demo.csv")
    assert "file not found" in str(err) and "trialflow simulate" in str(err)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "demo.csv"
    path.write_text("", encoding="utf-8")
    assert "empty" in str(_input_error(path))


@pytest.mark.parametrize(("sep", "word"), [(";", "semicolons"), ("\t", "tabs")])
def test_wrong_delimiter(tmp_path: Path, sep: str, word: str) -> None:
    path = _csv(tmp_path, GOOD.replace(",", sep), header=HEADER.replace(",", sep))
    err = _input_error(path)
    assert "wrong delimiter" in str(err) and word in str(err) and "comma-separated" in str(err)


def test_missing_column(tmp_path: Path) -> None:
    path = _csv(tmp_path, GOOD.rsplit(",", 1)[0], header=HEADER.rsplit(",", 1)[0])
    err = _input_error(path)
    assert err.variable == "COMMENT" and "lacks column" in str(err)


def test_extra_column(tmp_path: Path) -> None:
    path = _csv(tmp_path, GOOD + ",x", header=HEADER + ",SITE")
    err = _input_error(path)
    assert err.variable == "SITE" and "does not define" in str(err)


def test_duplicate_column(tmp_path: Path) -> None:
    path = _csv(tmp_path, GOOD + ",1", header=HEADER + ",AGE")
    assert _input_error(path).variable == "AGE"


def test_truncated_last_line(tmp_path: Path) -> None:
    path = _csv(tmp_path, GOOD, "002,60,70,F,A,05-JU", end="")
    err = _input_error(path)
    assert err.row == 2 and "truncated" in str(err) and "row 2" in str(err)


def test_row_with_too_many_fields(tmp_path: Path) -> None:
    err = _input_error(_csv(tmp_path, GOOD + ",extra", GOOD.replace("001", "002")))
    assert err.row == 1 and "9 fields" in str(err)


def test_unbalanced_quote(tmp_path: Path) -> None:
    err = _input_error(_csv(tmp_path, GOOD, '002,60,70,F,A,05-JUN-2016,,"open'))
    assert err.row == 2 and "quote" in str(err)


def test_bad_encoding(tmp_path: Path) -> None:
    path = tmp_path / "demo.csv"
    path.write_bytes(f"{HEADER}\n{GOOD}\n".encode() + "002,60,70,F,A,05-JUN-2016,,Müller\n"
                     .encode("latin-1"))
    err = _input_error(path)
    assert (err.row, err.variable) == (2, "COMMENT")
    assert "not UTF-8" in str(err) and "re-export" in str(err)


def test_undefined_codelist_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="codelist 'SEX' is not defined") as info:
        read_form(_csv(tmp_path, GOOD), FORM, {})
    assert info.value.variable == "SEX"


# --------------------------------------------------------------------------- record findings


def test_required_value_blank(tmp_path: Path) -> None:
    f = _only(_findings(tmp_path, GOOD.replace("05-JUN-2016", " ")))
    assert (f.row, f.variable, f.rule, f.severity) == (1, "VISDT", "required", "error")


def test_integer_not_numeric(tmp_path: Path) -> None:
    f = _only(_findings(tmp_path, GOOD, GOOD.replace("001,45", "002,4O")))
    assert (f.row, f.variable, f.value, f.rule) == (2, "AGE", "4O", "integer")


def test_float_not_numeric(tmp_path: Path) -> None:
    f = _only(_findings(tmp_path, GOOD.replace("70.5", '"70,5"')))
    assert (f.variable, f.value, f.rule) == ("WEIGHT", "70,5", "float")


def test_value_out_of_range(tmp_path: Path) -> None:
    f = _only(_findings(tmp_path, GOOD.replace(",45,", ",17,")))
    assert (f.variable, f.rule) == ("AGE", "range") and "18 to 100" in f.message


def test_value_not_allowed(tmp_path: Path) -> None:
    f = _only(_findings(tmp_path, GOOD.replace(",A,", ",C,")))
    assert (f.variable, f.value, f.rule) == ("ARM", "C", "allowed")


def test_text_longer_than_max_length(tmp_path: Path) -> None:
    f = _only(_findings(tmp_path, GOOD.replace("001", "123456789")))
    assert (f.variable, f.rule) == ("SUBJID", "max_length")


def test_value_longer_than_200_bytes(tmp_path: Path) -> None:
    comment = "é" * 101  # 101 characters, 202 bytes: bytes are what XPT counts
    f = _only(_findings(tmp_path, GOOD + comment))
    assert (f.variable, f.rule) == ("COMMENT", "value_bytes")


def test_unknown_codelist_value(tmp_path: Path) -> None:
    f = _only(_findings(tmp_path, GOOD.replace(",F,", ",X,")))
    assert (f.variable, f.value, f.rule, f.severity) == ("SEX", "X", "codelist", "error")


def test_codelist_value_matched_by_decode_or_synonym_folded(tmp_path: Path) -> None:
    rows = [GOOD.replace("001", f"00{i}").replace(",F,", f",{v},")
            for i, v in enumerate([" female ", "WOMAN", "male", "m"])]
    assert _findings(tmp_path, *rows) == []


def test_unparseable_date(tmp_path: Path) -> None:
    f = _only(_findings(tmp_path, GOOD.replace("05-JUN-2016", "2016-06-05")))
    assert (f.variable, f.value, f.rule) == ("VISDT", "2016-06-05", "date")
    assert "DD-MON-YYYY" in f.message


def test_impossible_date(tmp_path: Path) -> None:
    f = _only(_findings(tmp_path, GOOD.replace("05-JUN-2016", "31-FEB-2016")))
    assert (f.variable, f.rule) == ("VISDT", "impossible_date")


def test_partial_date_where_not_allowed(tmp_path: Path) -> None:
    f = _only(_findings(tmp_path, GOOD.replace("05-JUN-2016", "UN-JUN-2016")))
    assert (f.variable, f.rule) == ("VISDT", "partial_date")


def test_duplicate_key(tmp_path: Path) -> None:
    f = _only(_findings(tmp_path, GOOD, GOOD))
    assert (f.row, f.variable, f.value, f.rule) == (2, "SUBJID", "001", "duplicate_key")


def test_findings_ordered_by_row(tmp_path: Path) -> None:
    rows = [GOOD.replace(",45,", ",x,"), GOOD.replace("001", "002").replace(",F,", ",X,")]
    assert [(f.row, f.variable) for f in _findings(tmp_path, *rows)] == [(1, "AGE"),
                                                                         (2, "SEX")]


# --------------------------------------------------------------------------- many forms


def test_read_forms_reads_every_form(tmp_path: Path) -> None:
    other = RawForm("other", "Other", "other.csv", ("SUBJID",), False,
                    (RawColumn("SUBJID", "Subject", "text", required=True),))
    _csv(tmp_path, GOOD)
    (tmp_path / "other.csv").write_text("SUBJID\n001\n\n", encoding="utf-8")
    frames, findings = read_forms(tmp_path, {"demo": FORM, "other": other}, CODELISTS)
    assert sorted(frames) == ["demo", "other"] and len(frames["other"]) == 1
    assert findings == []


def test_read_forms_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="directory not found"):
        read_forms(tmp_path / "nope", [FORM], CODELISTS)


def test_findings_frame() -> None:
    frame = findings_frame([Finding("a.csv", None, None, None, "r", "m", "warning")])
    assert list(frame.columns) == ["source", "row", "variable", "value", "rule", "message",
                                   "severity"]
    assert str(frame["row"].dtype) == "Int64"
    assert findings_frame([]).empty


# --------------------------------------------------------------------------- dates


def test_parse_edc_date_partial_dates() -> None:
    got = parse_edc_date(pd.Series(["05-JUN-2016", "UN-JUN-2016", "UN-UN-2016", " 29-feb-2016 "],
                                   index=[10, 11, 12, 13]))
    assert got.index.tolist() == [10, 11, 12, 13]
    assert got["iso"].tolist() == ["2016-06-05", "2016-06", "2016", "2016-02-29"]
    assert got["partial"].tolist() == [False, True, True, False]
    assert got["valid"].all()
    assert got["year"].tolist() == [2016] * 4
    assert got["month"].tolist() == [6, 6, pd.NA, 2]
    assert got["day"].tolist() == [5, pd.NA, pd.NA, 29]


@pytest.mark.parametrize("text", ["31-FEB-2016", "29-FEB-2015", "05-UN-2016", "05-XYZ-2016",
                                  "2016-06-05", "", "UN-JUN-UNKN"])
def test_parse_edc_date_invalid(text: str) -> None:
    got = parse_edc_date(pd.Series([text])).iloc[0]
    assert not got["valid"] and not got["partial"] and got["iso"] == ""
    assert pd.isna(got["year"])
