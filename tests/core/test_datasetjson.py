"""Dataset-JSON v1.1: valid against the CDISC schema, same records as the XPT."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

from trialflow.datasetjson import dataset_json_with_rows, write_dataset_json
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
