"""CDISC Dataset-JSON v1.1: the JSON twin of each XPT file.

Written from the same prepared frame as the XPT (:func:`trialflow.xpt.prepare`), so
both hold the same records in the same order. Character variables are ``string``;
numeric variables are ``double`` (or ``integer`` when the spec's ``format`` says so);
a numeric SAS date (a date ``format`` such as ``DATE9.``, as ADaM's --DT variables) is
``date`` with ``targetDataType`` ``integer`` and its ``displayFormat``, its values ISO
8601 dates (``2016-06-05``), as Dataset-JSON v1.1 specifies; missing values are
``null``. A double is written as the shortest text that reads back as the same
number, so the JSON holds exactly the XPT's values. ``datasetJSONCreationDateTime`` is
fixed (``SOURCE_DATE_EPOCH`` if set, else 1970-01-01T00:00:00) so that the same data
give the same bytes.

Example
-------
>>> write_dataset_json(ae, spec, Path("build/sdtm/ae.json"), study="PRECIOUS")
... # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
from pandas.io.json import ujson_dumps

from trialflow import __version__
from trialflow.io import source_date_epoch, write_atomic
from trialflow.spec import DatasetSpec, Variable
from trialflow.xpt import (
    BLOCK_BYTES,
    char_width,
    compact_codes,
    is_date_format,
    put_cells,
    sas_date_text,
)

DATASET_JSON_VERSION = "1.1.0"
_NULL = b"null"


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
        col: dict[str, Any] = {
            "itemOID": f"IT.{spec.name}.{var.name}",
            "name": var.name,
            "label": var.label,
            "dataType": "string" if var.type == "Char" else ("integer" if _is_integer(var)
                                                             else "double"),
            "length": char_width(frame[var.name]) if var.type == "Char" else 8,
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


def _is_integer(var: Variable) -> bool:
    """A numeric variable whose spec format is a whole number (``8.``): JSON integers."""
    return var.type == "Num" and (var.format or "").rstrip(".").isdigit()


def _strings(values: Sequence[Any]) -> list[bytes]:
    """JSON text of each value as pandas' encoder writes it (``\\/``, ``\\uXXXX``), so
    that the text of the files stays what it was; blank or missing as ``null``.

    Printable ASCII text (nearly all of it) is escaped all at once: pandas' encoder
    escapes only ``\\``, ``"`` and ``/`` there, so the values are joined by a line
    break (never in such text), escaped and split again. Other text is encoded one
    value at a time.
    """
    texts = [_NULL] * len(values)
    plain = [i for i, v in enumerate(values) if isinstance(v, str) and v and v.isascii()
             and v.isprintable()]
    if plain:
        joined = "\n".join(values[i] for i in plain)
        escaped = joined.replace("\\", "\\\\").replace('"', '\\"').replace("/", "\\/")
        quoted = ('"' + escaped.replace("\n", '"\n"') + '"').encode("ascii").split(b"\n")
        for i, text in zip(plain, quoted, strict=True):
            texts[i] = text
    for i, v in enumerate(values):
        if texts[i] is _NULL and not (isinstance(v, str) and v == "") and not pd.isna(v):
            texts[i] = ujson_dumps(v, ensure_ascii=True).encode("ascii")
    return texts


def _numbers(values: np.ndarray) -> list[bytes]:
    """JSON text of each number: the shortest text that reads back as the same double
    (orjson), ``null`` for missing."""
    if not len(values):
        return []
    return orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].split(b",")


def _value_texts(col: pd.Series, var: Variable) -> tuple[np.ndarray, np.ndarray]:
    """Factor codes of a prepared column and the JSON text of each distinct value.

    Each distinct value is encoded once: a column repeats a handful of codes, terms and
    dates, and a categorical column is codes already.

    Returns
    -------
    codes : ndarray of int
        See :func:`trialflow.xpt.compact_codes`.
    table : ndarray of uint8, shape (distinct values, longest text)
        Row ``i`` is the text of value ``i``, padded with zero bytes (never in JSON text:
        the encoders escape a NUL character).
    """
    codes, uniques = compact_codes(col)
    if var.type == "Char":
        texts = _strings(uniques)
    elif is_date_format(var.format):
        texts = _strings(sas_date_text(np.asarray(uniques, dtype=np.float64)))
    elif _is_integer(var):
        # Rounded as whole numbers (a float cast to integer text); missing stays null.
        whole = pd.Series(uniques, dtype=np.float64).round().astype("Int64")
        texts = _numbers(whole.to_numpy(dtype=np.int64, na_value=0))
        for i in np.flatnonzero(whole.isna().to_numpy()):
            texts[i] = _NULL
    else:
        texts = _numbers(np.asarray(uniques, dtype=np.float64))
    table = np.array(texts, dtype=bytes)
    return codes, table.view(np.uint8).reshape(len(texts), table.itemsize)


def iter_rows_json(frame: pd.DataFrame, spec: DatasetSpec,
                   block_bytes: int = BLOCK_BYTES) -> Iterator[bytes]:
    """The ``rows`` array as pieces of UTF-8 JSON text, built with numpy a block at a time.

    Each distinct value of a column is encoded once (:func:`_value_texts`); a block of
    rows is then laid out as fixed-width records, as the XPT writer lays out its records:
    ``,[`` cell ``,`` cell ... ``]`` with each cell its value's text taken by code and
    padded with zero bytes, which are then deleted. No Python object is made per row or
    per cell, and memory stays flat: the block holds at most ``block_bytes`` (one row if
    a row is longer).
    """
    columns = [_value_texts(frame[var.name], var) for var in spec.variables]
    # Layout: the separator before each cell (",[" opens a row: its comma separates it
    # from the row before and is dropped from the very first), then "]" closing the row.
    seps = [b",["] + [b","] * (len(columns) - 1)
    positions, reclen = [], 0
    for sep, (_, table) in zip(seps, columns, strict=True):
        positions.append(reclen + len(sep))
        reclen += len(sep) + table.shape[1]
    n = len(frame)
    rows = max(1, min(n, block_bytes // (reclen + 1)))
    block = np.zeros((rows, reclen + 1), dtype=np.uint8)
    # The separators are the same in every block: written once.
    for sep, pos in zip(seps, positions, strict=True):
        block[:, pos - len(sep):pos] = np.frombuffer(sep, dtype=np.uint8)
    block[:, reclen] = ord("]")
    yield b"["
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        for pos, (codes, table) in zip(positions, columns, strict=True):
            put_cells(block, pos, table, codes[start:stop])
        piece = block[:stop - start].tobytes().translate(None, b"\0")
        yield piece[1:] if start == 0 else piece
    yield b"]"


def dataset_json_with_rows(frame: pd.DataFrame, spec: DatasetSpec, study: str,
                           standard_oid: str = "SDTMIG.3.4") -> dict[str, Any]:
    """The whole document as a dict (for tests and small datasets)."""
    doc = dataset_json(frame, spec, study, standard_oid)
    doc["rows"] = json.loads(b"".join(iter_rows_json(frame, spec)))
    return doc


def write_dataset_json(frame: pd.DataFrame, spec: DatasetSpec, path: Path, study: str,
                       standard_oid: str = "SDTMIG.3.4") -> Path:
    """Write the Dataset-JSON file of a prepared frame, atomically (UTF-8)."""
    head = json.dumps(dataset_json(frame, spec, study, standard_oid), ensure_ascii=False,
                      separators=(",", ":"), allow_nan=False)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write((head[:-1] + ',"rows":').encode("utf-8"))
            for piece in iter_rows_json(frame, spec):
                fh.write(piece)
            fh.write(b"}\n")

    return write_atomic(path, write)
