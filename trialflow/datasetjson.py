"""CDISC Dataset-JSON v1.1: the JSON twin of each XPT file.

Written from the same prepared frame as the XPT (:func:`trialflow.xpt.prepare`), so
both hold the same records in the same order. Character variables are ``string``;
numeric variables are ``double`` (or ``integer`` when the spec's ``format`` says so);
a numeric SAS date (a date ``format`` such as ``DATE9.``, as ADaM's --DT variables) is
``date`` with ``targetDataType`` ``integer`` and its ``displayFormat``, its values ISO
8601 dates (``2016-06-05``), as Dataset-JSON v1.1 specifies; missing values are
``null``. ``datasetJSONCreationDateTime`` is fixed
(``SOURCE_DATE_EPOCH`` if set, else 1970-01-01T00:00:00) so that the same data give
the same bytes.

Example
-------
>>> write_dataset_json(ae, spec, Path("build/sdtm/ae.json"), study="PRECIOUS")
... # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trialflow import __version__
from trialflow.io import source_date_epoch, write_atomic
from trialflow.spec import DatasetSpec
from trialflow.xpt import is_date_format, sas_date_text

DATASET_JSON_VERSION = "1.1.0"
CHUNK_ROWS = 100_000


def _created() -> str:
    return dt.datetime.fromtimestamp(source_date_epoch(), tz=dt.UTC).strftime(
        "%Y-%m-%dT%H:%M:%S")


def dataset_json(frame: pd.DataFrame, spec: DatasetSpec, study: str,
                 standard_oid: str = "SDTMIG.3.4") -> dict[str, Any]:
    """The Dataset-JSON document of a prepared frame (spec order, sorted, typed).

    Parameters
    ----------
    frame : DataFrame
        As returned by :func:`trialflow.xpt.prepare`.
    spec : DatasetSpec
    study : str
        Study identifier, for ``studyOID``.
    standard_oid : str
        Part of ``metaDataVersionOID`` (ties the file to define.xml).
    """
    keys = {k: i for i, k in enumerate(spec.keys, start=1)}
    columns = []
    for var in spec.variables:
        integer = var.type == "Num" and (var.format or "").rstrip(".").isdigit()
        col: dict[str, Any] = {
            "itemOID": f"IT.{spec.name}.{var.name}",
            "name": var.name,
            "label": var.label,
            "dataType": "string" if var.type == "Char" else ("integer" if integer
                                                             else "double"),
            "length": var.length,
        }
        if var.type == "Num" and is_date_format(var.format):
            col["dataType"] = "date"
            col["targetDataType"] = "integer"
            col["displayFormat"] = var.format.upper()
        if var.name in keys:
            col["keySequence"] = keys[var.name]
        columns.append(col)
    return {
        "datasetJSONCreationDateTime": _created(),
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "fileOID": f"trialflow.{study}.{spec.name}",
        "originator": "trialflow",
        "sourceSystem": {"name": "trialflow", "version": __version__},
        "studyOID": study,
        "metaDataVersionOID": f"MDV.{study}.{standard_oid}",
        "itemGroupOID": f"IG.{spec.name}",
        "records": len(frame),
        "name": spec.name,
        "label": spec.label,
        "columns": columns,
    }


def _json_ready(frame: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    """Blank text to null; integer-format numbers as nullable integers."""
    out = pd.DataFrame(index=frame.index)
    for var in spec.variables:
        col = frame[var.name]
        if var.type == "Char":
            if isinstance(col.dtype, pd.CategoricalDtype):
                # A chunk of a categorical column, as the text the encoder writes.
                col = pd.Series(np.asarray(col, dtype=object), index=col.index)
            out[var.name] = col.where(col.ne(""), None)
        elif is_date_format(var.format):
            out[var.name] = pd.Series(sas_date_text(col.to_numpy(dtype=np.float64)),
                                      index=col.index)
        elif (var.format or "").rstrip(".").isdigit():
            out[var.name] = col.round().astype("Int64")
        else:
            out[var.name] = col.astype("float64")
    return out


def iter_rows_json(frame: pd.DataFrame, spec: DatasetSpec,
                   chunk: int = CHUNK_ROWS) -> Iterator[str]:
    """The ``rows`` array as JSON text pieces, encoded by pandas in chunks.

    Encoding chunk by chunk keeps memory flat: a 10-million-record dataset is never held
    as Python lists, nor as a second (JSON-ready) copy of the frame: each chunk is made
    ready (blanks to null, integers) on its own.
    """
    yield "["
    for start in range(0, len(frame), chunk):
        ready = _json_ready(frame.iloc[start:start + chunk], spec)
        part = ready.to_json(orient="values", double_precision=15)
        yield ("," if start else "") + part[1:-1]
    yield "]"


def dataset_json_with_rows(frame: pd.DataFrame, spec: DatasetSpec, study: str,
                           standard_oid: str = "SDTMIG.3.4") -> dict[str, Any]:
    """The whole document as a dict (for tests and small datasets)."""
    doc = dataset_json(frame, spec, study, standard_oid)
    doc["rows"] = json.loads("".join(iter_rows_json(frame, spec)))
    return doc


def write_dataset_json(frame: pd.DataFrame, spec: DatasetSpec, path: Path, study: str,
                       standard_oid: str = "SDTMIG.3.4") -> Path:
    """Write the Dataset-JSON file of a prepared frame, atomically (UTF-8)."""
    head = json.dumps(dataset_json(frame, spec, study, standard_oid), ensure_ascii=False,
                      separators=(",", ":"), allow_nan=False)

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(head[:-1] + ',"rows":')
            for piece in iter_rows_json(frame, spec):
                fh.write(piece)
            fh.write("}\n")

    return write_atomic(path, write)
