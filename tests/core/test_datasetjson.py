"""Dataset-JSON v1.1: valid against the CDISC schema, same records as the XPT."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

from trialflow.datasetjson import dataset_json_with_rows, iter_rows_json, write_dataset_json
from trialflow.xpt import prepare

from .helpers import spec, var

SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "external" / "schemas" / \
    "dataset.schema.json"
SPEC = spec(var("USUBJID", length=12), var("AESEQ", type_="Num", length=8, format="8."),
            var("AEDOSE", type_="Num", length=8), var("AETERM", length=20),
            name="AE", label="Adverse Events", keys=("USUBJID", "AESEQ"),
            sort=("USUBJID", "AESEQ"))
DATA = pd.DataFrame({"USUBJID": ["S-2", "S-1"], "AESEQ": [1.0, 1.0],
                     "AEDOSE": [0.5, np.nan], "AETERM": ["Naüsea", ""]})


@pytest.mark.skipif(not SCHEMA.is_file(), reason="Dataset-JSON schema not available")
def test_file_is_valid_against_the_dataset_json_schema(tmp_path: Path) -> None:
    frame, _ = prepare(DATA, SPEC)
    path = write_dataset_json(frame, SPEC, tmp_path / "ae.json", "STUDY1")
    doc = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(doc, json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert doc["datasetJSONVersion"] == "1.1.0" and doc["records"] == 2


def test_same_records_in_the_same_order_as_the_xpt() -> None:
    frame, _ = prepare(DATA, SPEC)
    doc = dataset_json_with_rows(frame, SPEC, "STUDY1")
    assert [c["name"] for c in doc["columns"]] == ["USUBJID", "AESEQ", "AEDOSE", "AETERM"]
    assert [c["dataType"] for c in doc["columns"]] == ["string", "integer", "double",
                                                       "string"]
    assert [c.get("keySequence") for c in doc["columns"]] == [1, 2, None, None]
    assert doc["rows"] == [["S-1", 1, None, None], ["S-2", 1, 0.5, "Naüsea"]]


def test_creation_time_is_fixed_for_reproducible_files(tmp_path: Path, monkeypatch) -> None:
    frame, _ = prepare(DATA, SPEC)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1564531200")
    doc = dataset_json_with_rows(frame, SPEC, "STUDY1")
    assert doc["datasetJSONCreationDateTime"] == "2019-07-31T00:00:00"


def test_numbers_are_the_shortest_text_that_reads_back_exactly() -> None:
    data = DATA.assign(AEDOSE=[1 / 3, 0.1 + 0.2])
    frame, _ = prepare(data, SPEC)
    text = b"".join(iter_rows_json(frame, SPEC))
    # Not pandas' 15 digits (0.333333333333333): the double the XPT holds, exactly.
    assert b"0.3333333333333333," in text and b"0.30000000000000004," in text
    assert [row[2] for row in json.loads(text)] == [0.1 + 0.2, 1 / 3]  # sorted: S-1 first


def test_text_is_escaped_as_before_and_blocks_join_seamlessly() -> None:
    data = pd.DataFrame({"USUBJID": [f"S-{i:02d}" for i in range(7)],
                         "AESEQ": [1.0, 2.0, np.nan, 4.4, 5.0, 6.0, 7.0],
                         "AEDOSE": [0.5, np.nan, 2.0, 3.0, 1e-7, 5.0, 6.0],
                         "AETERM": ["mg/dL", "Naüsea", "", 'say "hi"', "a\\b", "x", "🙂"]})
    frame, _ = prepare(data, SPEC)
    whole = b"".join(iter_rows_json(frame, SPEC))
    assert b"".join(iter_rows_json(frame, SPEC, block_bytes=1)) == whole
    assert rb'"mg\/dL"' in whole and rb'"Na\u00fcsea"' in whole and whole.isascii()
    assert json.loads(whole) == [
        ["S-00", 1, 0.5, "mg/dL"], ["S-01", 2, None, "Naüsea"], ["S-02", None, 2.0, None],
        ["S-03", 4, 3.0, 'say "hi"'], ["S-04", 5, 1e-7, "a\\b"], ["S-05", 6, 5.0, "x"],
        ["S-06", 7, 6.0, "🙂"]]


def test_no_records_is_an_empty_rows_array() -> None:
    frame, _ = prepare(DATA.iloc[:0], SPEC)
    assert b"".join(iter_rows_json(frame, SPEC)) == b"[]"


def test_text_values_encoded_together_are_each_pandas_own_encoding() -> None:
    from pandas.io.json import ujson_dumps

    from trialflow.datasetjson import _strings

    tricky = ['","', 'a\\', '\\",', '"', ",", "", "x/y", "Naüsea", "\t\n", "🙂", "[]", "a"]
    texts = _strings(np.array([*tricky, np.nan, None, 7], dtype=object))
    assert texts == [b"null" if v == "" else ujson_dumps(v).encode() for v in tricky] + [
        b"null", b"null", b"7"]
