"""Input datasets in any of the formats a study brings: XPT, Dataset-JSON, sas7bdat, CSV.

A study that starts from SDTM or ADaM names its sources in ``study.yaml`` (folders or
files, see :mod:`trialflow.study`). :func:`dataset_files` turns them into one
:class:`DatasetFile` per dataset, by upper-case name, and each is read when asked for,
as an :class:`~trialflow.xpt.XptDataset` (text ``''`` when blank, numbers as float, SAS
dates as day numbers) whatever the format:

* ``.xpt`` — SAS transport v5/v8, trialflow's reader (cp1252 fallback for files written
  by SAS sessions in Windows Latin-1, as the CDISC pilot's TS);
* ``.json`` — Dataset-JSON v1.1 (its ``dataType`` gives Num or Char; ``date`` values
  become SAS dates);
* ``.sas7bdat`` — through pyreadstat;
* ``.csv`` — text, unless a ``<stem>.labels.json`` beside it gives each variable's R
  class (``numeric``/``integer`` → Num, ``Date`` → SAS date) and label, as pharmaverse's
  exports do. Without one, every column is text: a CSV does not say which columns are
  numbers, and guessing would turn an identifier such as ``0001`` into 1.

Example
-------
>>> files = dataset_files([InputSource(Path("../shared/external/cdiscpilot01/sdtm"))])
...     # doctest: +SKIP
>>> files["DM"].read(columns={"USUBJID", "AGE"}).data.shape  # doctest: +SKIP
(306, 2)
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from trialflow.errors import InputError
from trialflow.spec import InputSource
from trialflow.xpt import XptDataset, read_xpt

__all__ = ["SUFFIXES", "DatasetFile", "dataset_files"]

#: The file types a dataset can come in, by suffix (lower case).
SUFFIXES: tuple[str, ...] = (".xpt", ".json", ".sas7bdat", ".csv")
_SAS_EPOCH = np.datetime64("1960-01-01", "D")


@dataclass(frozen=True)
class DatasetFile:
    """One input dataset: its name and the file it is read from."""

    name: str
    path: Path
    encoding: str | None = None

    def read(self, columns: Collection[str] | None = None,
             categorical: bool = False) -> XptDataset:
        """The dataset (only ``columns`` it has, when given).

        Raises
        ------
        InputError
            The file cannot be read as its type.
        """
        suffix = self.path.suffix.lower()
        if suffix == ".xpt":
            return read_xpt(self.path, columns=columns, categorical=categorical)
        if suffix == ".sas7bdat":
            ds = _read_sas7bdat(self.path, self.encoding)
        elif suffix == ".json":
            ds = _read_dataset_json(self.path)
        else:
            ds = _read_csv(self.path, self.encoding)
        ds.name = self.name
        if columns is not None:
            keep = [c for c in ds.data.columns if c in set(columns)]
            ds = XptDataset(name=ds.name, label=ds.label, data=ds.data[keep],
                            labels={c: ds.labels[c] for c in keep},
                            types={c: ds.types[c] for c in keep},
                            widths={c: ds.widths[c] for c in keep}, encoding=ds.encoding,
                            formats={c: f for c, f in ds.formats.items() if c in keep})
        if categorical:
            for c, kind in ds.types.items():
                if kind == "Char" and c in ds.data.columns:
                    ds.data[c] = ds.data[c].astype("category")
        return ds


def dataset_files(sources: Iterable[InputSource]) -> dict[str, DatasetFile]:
    """Every dataset of the sources by upper-case name, in name order.

    A folder source gives each file of a known type in it, named by its stem (an XPT
    file by its member name); a file source gives that file, named by ``dataset`` or
    its stem.

    Raises
    ------
    InputError
        A source does not exist, a folder holds no dataset file, a file is of an
        unknown type, or two sources give the same dataset.
    """
    found: dict[str, DatasetFile] = {}
    for source in sources:
        path = Path(source.path)
        if path.is_dir():
            files = sorted(p for p in path.iterdir()
                           if p.is_file() and p.suffix.lower() in SUFFIXES
                           and not p.name.endswith(".labels.json"))
            if not files:
                raise InputError(str(path), "input folder holds no dataset file (.xpt, "
                                 ".json, .sas7bdat or .csv)",
                                 fix="point inputs.sources in study.yaml at the datasets")
            items = [(_name_of(p), p) for p in files]
        elif path.is_file():
            if path.suffix.lower() not in SUFFIXES:
                raise InputError(str(path), f"unknown dataset type {path.suffix!r}",
                                 fix="give a .xpt, .json, .sas7bdat or .csv file")
            items = [(source.dataset or _name_of(path), path)]
        else:
            raise InputError(str(path), "input not found",
                             fix="check inputs.sources in study.yaml (paths are relative "
                                 "to the study folder)")
        # One folder may hold a dataset in two formats (trialflow writes .xpt and
        # .json): the first type of SUFFIXES is the dataset.
        local: dict[str, Path] = {}
        for name, p in items:
            name = name.upper()
            if name not in local or _rank(p) < _rank(local[name]):
                local[name] = p
        for name, p in local.items():
            if name in found:
                raise InputError(str(p), f"dataset {name} is given twice (also by "
                                 f"{found[name].path})",
                                 fix="name one of them with `dataset:` in study.yaml")
            found[name] = DatasetFile(name, p, source.encoding)
    return dict(sorted(found.items()))


def _rank(path: Path) -> int:
    return SUFFIXES.index(path.suffix.lower())


def _name_of(path: Path) -> str:
    if path.suffix.lower() == ".xpt":
        return read_xpt(path, columns=()).name
    return path.stem.upper()


# --------------------------------------------------------------------------- readers


def _read_sas7bdat(path: Path, encoding: str | None) -> XptDataset:
    import pyreadstat

    try:
        data, meta = pyreadstat.read_sas7bdat(str(path), encoding=encoding)
    except Exception as exc:  # pyreadstat raises its own types for unreadable files
        raise InputError(str(path), f"not a readable sas7bdat file ({exc})") from None
    types = {c: "Num" if pd.api.types.is_numeric_dtype(data[c]) else "Char"
             for c in data.columns}
    for c, kind in types.items():
        data[c] = data[c].fillna("").astype(str).str.rstrip() if kind == "Char" \
            else data[c].astype("float64")
    labels = {c: meta.column_names_to_labels.get(c) or "" for c in data.columns}
    return XptDataset(name=(meta.table_name or path.stem).upper(),
                      label=meta.file_label or "", data=data, labels=labels, types=types,
                      widths=_widths(data, types),
                      formats={c: f for c, f in meta.original_variable_types.items()
                               if f and f.upper().startswith(("DATE", "YYMMDD", "E8601DA"))})


def _read_dataset_json(path: Path) -> XptDataset:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        columns = doc["columns"]
        names = [c["name"] for c in columns]
        rows = doc.get("rows", [])
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(str(path), f"not a readable Dataset-JSON file ({exc})") from None
    frame = pd.DataFrame(rows, columns=names) if rows else pd.DataFrame(columns=names)
    data = pd.DataFrame(index=frame.index)
    types: dict[str, str] = {}
    formats: dict[str, str] = {}
    for col in columns:
        c, kind = col["name"], col.get("dataType", "string")
        if kind == "date":
            data[c] = _days(frame[c])
            types[c], formats[c] = "Num", "DATE9"
        elif kind in ("integer", "double", "float", "decimal", "datetime", "time"):
            data[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
            types[c] = "Num"
        else:
            data[c] = frame[c].fillna("").astype(str).str.rstrip()
            types[c] = "Char"
    return XptDataset(name=str(doc.get("name") or path.stem).upper(),
                      label=str(doc.get("label") or ""), data=data,
                      labels={c["name"]: c.get("label") or "" for c in columns},
                      types=types, widths=_widths(data, types), formats=formats)


def _read_csv(path: Path, encoding: str | None) -> XptDataset:
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False,
                          encoding=encoding or "utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(str(path), f"not a readable CSV file ({exc})") from None
    meta_path = path.with_name(f"{path.stem}.labels.json")
    meta: dict = {}
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(str(meta_path), f"not readable JSON ({exc})") from None
    described = {v["name"]: v for v in meta.get("variables", []) if isinstance(v, dict)}
    data = pd.DataFrame(index=raw.index)
    types: dict[str, str] = {}
    formats: dict[str, str] = {}
    for c in raw.columns:
        r_class = str(described.get(c, {}).get("r_class", "character"))
        if r_class in ("numeric", "integer", "double"):
            text = raw[c].str.strip()
            number = pd.to_numeric(text.where(text.ne("")), errors="coerce")
            bad = number.isna() & raw[c].str.strip().ne("")
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
                raise InputError(str(path), "not a number in a numeric column", row=row,
                                 variable=c, value=raw[c].iloc[row - 2])
            data[c], types[c] = number.astype("float64"), "Num"
        elif r_class == "Date":
            data[c], types[c], formats[c] = _days(raw[c]), "Num", "DATE9"
        else:
            data[c], types[c] = raw[c].str.rstrip(), "Char"
    labels = {c: str(described.get(c, {}).get("label") or "") for c in raw.columns}
    return XptDataset(name=path.stem.upper(), label=str(meta.get("label") or ""),
                      data=data, labels=labels, types=types, widths=_widths(data, types),
                      formats=formats)


def _days(values: pd.Series) -> pd.Series:
    """ISO dates (``YYYY-MM-DD``; blank or other text: missing) as SAS day numbers."""
    text = values.fillna("").astype(str).str.slice(0, 10)
    parsed = pd.to_datetime(text.where(text.str.fullmatch(r"\d{4}-\d{2}-\d{2}")),
                            format="%Y-%m-%d", errors="coerce")
    days = (parsed.to_numpy(dtype="datetime64[D]") - _SAS_EPOCH).astype("float64")
    days[parsed.isna().to_numpy()] = np.nan
    return pd.Series(days, index=values.index)


def _widths(data: pd.DataFrame, types: dict[str, str]) -> dict[str, int]:
    """Stored widths: the longest value in bytes (at least 1) for text, 8 for numbers."""
    out = {}
    for c, kind in types.items():
        if kind == "Char":
            lengths = data[c].str.encode("utf-8").str.len()
            out[c] = max(1, int(lengths.max())) if len(lengths) else 1
        else:
            out[c] = 8
    return out
