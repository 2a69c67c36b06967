"""The one dataset writer (XPT v5): spec order, sort, lengths, labels, atomic, readable by
readers that do not share ReadStat."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialflow.errors import InputError
from trialflow.xpt import XptError, prepare, read_xpt, write_xpt

from .helpers import spec, var

EXTERNAL = Path(__file__).resolve().parents[3] / "shared" / "external"
PILOT_SDTM = EXTERNAL / "cdiscpilot01" / "sdtm"

# Records longer than 80 bytes, as every real SDTM record is: pandas' reader counts any
# 8 blanks in the last 80-byte card as padding when a record is shorter than that.
SPEC = spec(var("USUBJID", length=12), var("AETERM", length=70),
            var("AESEQ", type_="Num", length=8), var("AETOXGR", length=1),
            name="AE", label="Adverse Events", keys=("USUBJID", "AESEQ"),
            sort=("USUBJID", "AESEQ"))
DATA = pd.DataFrame({"AETERM": ["Nausea", "", "Rash"], "AESEQ": [2.0, 1.0, 0.0],
                     "USUBJID": ["S-002", "S-001", "S-001"], "AETOXGR": ["3", "1", ""],
                     "_FORM": "ae", "_ROW": [1, 2, 3]})


def _pandas_read(path: Path) -> tuple[pd.DataFrame, dict[str, int]]:
    """pandas' pure-Python reader (no ReadStat): values and stored widths."""
    with pd.read_sas(path, format="xport", iterator=True, encoding="utf-8") as reader:
        widths = {f["name"].decode().strip(): f["field_length"] for f in reader.fields}
        data = reader.read()
    for col in data.columns:
        if data[col].dtype == object:
            data[col] = data[col].fillna("")
        else:
            # pandas decodes the IBM zero that ReadStat writes as 5.4e-79.
            data[col] = data[col].where(~(data[col].abs() < 1e-70), 0.0)
    return data, widths


def test_writes_sas_transport_version_5(tmp_path: Path) -> None:
    path = tmp_path / "ae.xpt"
    write_xpt(DATA, SPEC, path)
    head = path.read_bytes()[:80]
    assert head.startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!")
    assert b"LIBV8" not in path.read_bytes()[:400]


def test_variables_in_spec_order_sorted_by_keys_provenance_dropped(tmp_path: Path) -> None:
    path = tmp_path / "ae.xpt"
    write_xpt(DATA, SPEC, path)
    ds = read_xpt(path)
    assert list(ds.data.columns) == ["USUBJID", "AETERM", "AESEQ", "AETOXGR"]
    assert ds.data[["USUBJID", "AESEQ"]].values.tolist() == [["S-001", 0.0], ["S-001", 1.0],
                                                             ["S-002", 2.0]]
    assert ds.name == "AE" and ds.label == "Adverse Events"
    assert ds.labels["AETERM"] == "AETERM label"


def test_pandas_reader_reads_same_names_values_and_lengths(tmp_path: Path) -> None:
    path = tmp_path / "ae.xpt"
    write_xpt(DATA, SPEC, path)
    data, widths = _pandas_read(path)
    ours = read_xpt(path)
    assert list(data.columns) == list(ours.data.columns)
    pd.testing.assert_frame_equal(data, ours.data, check_dtype=False)
    assert widths == {"USUBJID": 5, "AETERM": 6, "AESEQ": 8, "AETOXGR": 1}
    assert widths == ours.widths


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_r_foreign_reader_reads_same_names_values_and_lengths(tmp_path: Path) -> None:
    path = tmp_path / "ae.xpt"
    write_xpt(DATA, SPEC, path)
    script = (f'suppressMessages(library(foreign)); x <- lookup.xport("{path}")$AE; '
              f'd <- read.xport("{path}"); '
              'cat(paste(x$name, x$width, sep=":"), sep="\\n"); '
              'write.csv(d, stdout(), row.names=FALSE)')
    run = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True,
                         check=False)
    if run.returncode != 0 and "foreign" in run.stderr:
        pytest.skip("R package foreign is not installed")
    lines = run.stdout.splitlines()
    assert lines[:4] == ["USUBJID:12", "AETERM:70", "AESEQ:8", "AETOXGR:1"]
    assert lines[5:] == ['"S-001","Rash",0,""', '"S-001","",1,"1"', '"S-002","Nausea",2,"3"']


def test_stored_width_is_the_longest_value(tmp_path: Path) -> None:
    path = tmp_path / "ae.xpt"
    write_xpt(DATA, SPEC, path)
    # "Nausea", not the declared 70: the shortest length that fits (FDA).
    assert read_xpt(path).widths["AETERM"] == 6
    write_xpt(DATA.assign(AETERM=""), SPEC, path)
    assert read_xpt(path).widths["AETERM"] == 1


def test_value_longer_than_declared_length_is_reported(tmp_path: Path) -> None:
    long = DATA.assign(AETERM=["x" * 71, "", ""])
    found = write_xpt(long, SPEC, tmp_path / "ae.xpt")
    assert [(f.variable, f.rule) for f in found] == [("AETERM", "length")]
    assert read_xpt(tmp_path / "ae.xpt").data["AETERM"].str.len().max() == 71


def test_value_over_200_bytes_is_cut_and_reported(tmp_path: Path) -> None:
    s = spec(var("USUBJID", length=12), var("AETERM", length=200), name="AE",
             label="Adverse Events")
    frame = pd.DataFrame({"USUBJID": ["S-001"], "AETERM": ["é" * 150]})  # 300 bytes
    found = write_xpt(frame, s, tmp_path / "ae.xpt")
    assert {f.rule for f in found} >= {"value_bytes", "length"}
    value = read_xpt(tmp_path / "ae.xpt").data["AETERM"].iloc[0]
    assert len(value.encode("utf-8")) == 200


def test_non_ascii_text_is_a_warning(tmp_path: Path) -> None:
    found = write_xpt(DATA.assign(AETERM=["Naüsea", "", ""]), SPEC, tmp_path / "ae.xpt")
    assert [(f.rule, f.severity) for f in found] == [("ascii", "warning")]


def test_name_longer_than_8_is_refused_and_nothing_written(tmp_path: Path) -> None:
    s = spec(var("USUBJID", length=12), name="AE")
    s = s.__class__(**{**s.__dict__, "variables": (var("USUBJIDXX", length=12),),
                       "keys": ("USUBJIDXX",), "sort": ("USUBJIDXX",)})
    with pytest.raises(XptError, match="name"):
        write_xpt(pd.DataFrame({"USUBJIDXX": ["a"]}), s, tmp_path / "ae.xpt")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("label", ["x" * 41, "Température"])
def test_label_longer_than_40_or_not_ascii_is_refused(tmp_path: Path, label: str) -> None:
    s = spec(var("USUBJID", length=12, label=label), name="AE")
    with pytest.raises(XptError, match="label"):
        write_xpt(pd.DataFrame({"USUBJID": ["a"]}), s, tmp_path / "ae.xpt")


def test_unspecified_variable_is_reported_and_not_written(tmp_path: Path) -> None:
    found = write_xpt(DATA.assign(EXTRA="x"), SPEC, tmp_path / "ae.xpt")
    assert [(f.variable, f.rule) for f in found] == [("EXTRA", "unspecified")]
    assert "EXTRA" not in read_xpt(tmp_path / "ae.xpt").data.columns


def test_text_in_a_numeric_variable_is_a_type_finding() -> None:
    _, found = prepare(DATA.assign(AESEQ=["1", "two", ""]), SPEC)
    assert [(f.variable, f.value, f.rule) for f in found] == [("AESEQ", "two", "type")]


def test_write_is_atomic_a_failed_write_keeps_the_old_file(tmp_path: Path,
                                                            monkeypatch) -> None:
    path = tmp_path / "ae.xpt"
    write_xpt(DATA, SPEC, path)
    before = path.read_bytes()
    import trialflow.xpt as xpt

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(xpt, "_write_records", boom)
    with pytest.raises(OSError):
        write_xpt(DATA.assign(AETERM="changed"), SPEC, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ae.xpt"]


def test_same_data_give_the_same_bytes(tmp_path: Path) -> None:
    write_xpt(DATA, SPEC, tmp_path / "a.xpt")
    write_xpt(DATA, SPEC, tmp_path / "b.xpt")
    assert (tmp_path / "a.xpt").read_bytes() == (tmp_path / "b.xpt").read_bytes()
    assert b"01JAN70:00:00:00" in (tmp_path / "a.xpt").read_bytes()[:500]


def test_reading_a_file_that_is_not_xpt_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "ae.xpt"
    path.write_text("not a transport file\n")
    with pytest.raises(InputError, match="not a readable SAS transport file"):
        read_xpt(path)
    with pytest.raises(InputError, match="not found"):
        read_xpt(tmp_path / "none.xpt")


@pytest.mark.skipif(not PILOT_SDTM.is_dir(), reason="CDISC pilot data not available")
def test_reads_the_cdisc_pilot_sdtm_made_by_sas() -> None:
    for path in sorted(PILOT_SDTM.glob("*.xpt")):
        ds = read_xpt(path)
        assert ds.name == path.stem.upper() and len(ds.data) > 0
        assert set(ds.types.values()) <= {"Char", "Num"}
    dm = read_xpt(PILOT_SDTM / "dm.xpt")
    assert len(dm.data) == 306 and dm.labels["USUBJID"] == "Unique Subject Identifier"
    assert dm.widths["USUBJID"] == 11 and np.isnan(dm.data["AGE"]).sum() == 0
    ts = read_xpt(PILOT_SDTM / "ts.xpt")  # has a Windows-1252 apostrophe
    assert ts.encoding == "cp1252" and [f.rule for f in ts.findings] == ["encoding"]
    assert any("Alzheimer\u2019s" in v for v in ts.data["TSVAL"])


def _both_writers(frame: pd.DataFrame, s, tmp_path: Path) -> tuple[bytes, bytes]:
    """The bytes of the numpy writer and of pyreadstat's for the same prepared frame."""
    from trialflow.xpt import write_prepared, write_prepared_readstat

    prepared, _ = prepare(frame, s)
    write_prepared(prepared, s, tmp_path / "numpy.xpt")
    write_prepared_readstat(prepared, s, tmp_path / "readstat.xpt")
    return (tmp_path / "numpy.xpt").read_bytes(), (tmp_path / "readstat.xpt").read_bytes()


def test_numpy_writer_gives_pyreadstats_bytes(tmp_path: Path) -> None:
    ours, theirs = _both_writers(DATA, SPEC, tmp_path)
    assert ours == theirs


@pytest.mark.parametrize("block_bytes, chunk_rows", [(None, None), (1_000, 100)])
def test_numpy_writer_gives_pyreadstats_bytes_for_dates_numbers_and_text(
        tmp_path: Path, monkeypatch, block_bytes: int | None, chunk_rows: int | None) -> None:
    import trialflow.xpt as xpt

    if block_bytes:  # blocks of 27 records, numbers converted 100 records at a time
        monkeypatch.setattr(xpt, "BLOCK_BYTES", block_bytes)
        monkeypatch.setattr(xpt, "CHUNK_ROWS", chunk_rows)
    rng = np.random.default_rng(7)
    n = 2_345  # several 80-byte cards, and a last one partly padded
    s = spec(var("USUBJID", length=12), var("TERM", length=5), var("X", type_="Num"),
             var("ADT", type_="Num", format="DATE9."), var("BLANK", length=3),
             name="ADX", label="Mixed types", keys=("USUBJID",), sort=("USUBJID",))
    x = rng.normal(size=n) * 10.0 ** rng.integers(-70, 70, n)
    x[::7], x[1::11], x[2::13] = np.nan, 0.0, -3.25
    frame = pd.DataFrame({
        "USUBJID": [f"S-{i:05d}" for i in range(n)],
        "TERM": rng.choice(["Naüsea", "Rash", "", "A much longer term"], n),
        "X": x,
        "ADT": pd.to_datetime("2016-06-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
        "BLANK": ""})
    ours, theirs = _both_writers(frame, s, tmp_path)
    assert ours == theirs


def test_ibm_conversion_of_edge_values_matches_readstat(tmp_path: Path) -> None:
    from trialflow.xpt import ieee_to_ibm

    values = np.array([0.0, -0.0, 1.0, -2.5, 0.1, 1 / 3, 1e-300, -1e-300, 2.0 ** -260,
                       1e300, -1e300, np.inf, -np.inf, np.nan])
    s = spec(var("X", type_="Num"), var("C", length=90), name="P", label="P", sort=("C",))
    _, theirs = _both_writers(pd.DataFrame({"X": values, "C": "c" * 90}), s, tmp_path)
    start = theirs.index(b"HEADER RECORD*******OBS     HEADER RECORD") + 80
    cards = np.frombuffer(theirs[start:start + 98 * len(values)], dtype=np.uint8)
    assert (ieee_to_ibm(values) == cards.reshape(-1, 98)[:, :8]).all()


def test_text_of_numbers_dates_and_missing_values_in_text_variables() -> None:
    s = spec(var("F", length=8), var("D", length=19), var("O", length=2), name="T",
             label="T")
    frame, _ = prepare(pd.DataFrame({
        "F": [1.0, np.nan, 2.5],
        "D": pd.to_datetime(["2020-01-01", None, "2020-01-02 10:00"], format="ISO8601"),
        "O": ["a ", None, np.nan]}), s)
    # Sorted by F: the record missing everything first.
    assert frame["F"].tolist() == ["", "1", "2.5"]
    assert frame["D"].tolist() == ["", "2020-01-01 00:00:00", "2020-01-02 10:00:00"]
    assert frame["O"].tolist() == ["", "a", ""]


def test_categorical_text_is_the_same_text_in_first_seen_order(tmp_path: Path) -> None:
    from trialflow.xpt import _read_v5_numpy

    path = tmp_path / "ae.xpt"
    # One long term: records of 80 bytes or more, which the numpy reader reads itself.
    terms = ["Rash", "", "Nausea", "Rash", "Fièvre", "", "Nausea", "Headache " + "x" * 70]
    write_xpt(pd.DataFrame({"USUBJID": [f"S-{i:03d}" for i in range(len(terms))],
                            "AETERM": terms, "AESEQ": 1.0, "AETOXGR": "1"}), SPEC, path)
    text = read_xpt(path).data
    # Chunks of three records: values first met in a later chunk get the next codes.
    data, _ = _read_v5_numpy(path, chunk=3, categorical=True)
    for name in ("USUBJID", "AETERM", "AETOXGR"):
        assert text[name].dtype == object
        codes, uniques = pd.factorize(text[name])
        assert data[name].cat.categories.tolist() == uniques.tolist()
        assert data[name].cat.codes.tolist() == codes.tolist()
    assert data["AESEQ"].tolist() == text["AESEQ"].tolist()
    assert read_xpt(path, columns=["AETERM"], categorical=True).data["AETERM"].tolist() \
        == text["AETERM"].tolist()


@pytest.mark.skipif(not PILOT_SDTM.is_dir(), reason="CDISC pilot data not available")
def test_categorical_text_read_by_pyreadstat() -> None:
    ts = read_xpt(PILOT_SDTM / "ts.xpt")  # not UTF-8: read by pyreadstat
    cat = read_xpt(PILOT_SDTM / "ts.xpt", categorical=True)
    assert cat.data["TSVAL"].dtype == "category"
    assert cat.data["TSVAL"].astype(object).tolist() == ts.data["TSVAL"].tolist()


def test_distinct_rows_hashed_in_first_seen_order_collisions_told_apart(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from trialflow import xpt

    text = [b"AAAAAAAAzz", b"BBBBBBBBzz", b"AAAAAAAAzz", b"AAAAAAAAyy", b"BBBBBBBBzz"]
    cells = np.frombuffer(b"".join(text), dtype=np.uint8).reshape(len(text), 10)
    expected = ([0, 1, 0, 2, 1], [0, 1, 3])
    codes, first = xpt._distinct_rows(cells)
    assert (codes.tolist(), first.tolist()) == expected
    # A multiplier of 0 keys a row by its last word alone: rows 0 and 1 then collide.
    monkeypatch.setattr(xpt, "_MIX", np.uint64(0))
    codes, first = xpt._distinct_rows(cells)
    assert (codes.tolist(), first.tolist()) == expected


@pytest.mark.parametrize("cell", [b"AB\0", b"A\0B"])
def test_text_with_a_nul_byte_is_left_to_readstat(cell: bytes) -> None:
    from trialflow.xpt import _decode_column

    cells = np.frombuffer(b"ABC" + cell + b"ABC", dtype=np.uint8).reshape(3, 3)
    assert _decode_column(cells, 3, {}, []) is None
    assert _decode_column(cells[[0, 2]], 3, {}, []).tolist() == [0, 0]
