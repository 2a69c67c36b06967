"""bench/bench_pipeline.py: the exponent arithmetic on known numbers, and one tiny run's
files. Nothing here asserts a time: timings are measured by `make bench`, not tested."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_pipeline.py"


def _load():
    spec = importlib.util.spec_from_file_location("bench_pipeline", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_pipeline"] = module
    spec.loader.exec_module(module)
    return module


bench = _load()


def test_growth_exponent_on_known_numbers() -> None:
    assert bench.growth_exponent(219, 10.0, 2190, 100.0) == pytest.approx(1.0)
    assert bench.growth_exponent(100, 1.0, 1000, 100.0) == pytest.approx(2.0)
    assert bench.growth_exponent(2190, 30.0, 21900, 30.0) == pytest.approx(0.0)
    assert bench.growth_exponent(10, 4.0, 20, 8.0 * 2 ** 0.1) == pytest.approx(1.1)
    for bad in [(10, 0.0, 20, 1.0), (10, 1.0, 10, 2.0), (10, float("nan"), 20, 1.0)]:
        assert math.isnan(bench.growth_exponent(*bad))


def test_exponents_are_filled_against_the_previous_size_per_stage() -> None:
    rows = [bench.Measure(100, "sdtm", 2.0), bench.Measure(1000, "sdtm", 20.0),
            bench.Measure(10000, "sdtm", 400.0), bench.Measure(1000, "only_here", 1.0)]
    bench.add_exponents(rows)
    assert math.isnan(rows[0].growth_exponent)
    assert rows[1].growth_exponent == pytest.approx(1.0)
    assert rows[2].growth_exponent == pytest.approx(math.log10(20))
    assert math.isnan(rows[3].growth_exponent)


def test_a_tiny_run_writes_one_row_per_stage_and_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    assert bench.main(["--sizes", "40", "--out", str(out), "--work", str(tmp_path / "w"),
                       "--no-docx", "--no-waits"]) == 0
    table = pd.read_csv(out / "bench.csv")
    assert list(table.columns) == bench.COLUMNS
    expected = ["simulate", *bench.STAGES, "total", "floor_read_raw", "floor_write_xpt",
                "floor", "read_xpt", "write_json"]
    assert table["stage"].tolist() == expected
    assert "define" in bench.STAGES  # every stage of `trialflow run` but simulate is timed
    assert (table["subjects"] == 40).all()
    assert table["exit_code"].isin([0, 1]).all()
    assert (table["seconds"] > 0).all()
    staged = table[table["stage"].isin(bench.STAGES)]
    assert table.loc[table["stage"] == "total", "seconds"].iloc[0] == pytest.approx(
        staged["seconds"].sum(), abs=0.01)
    assert (staged["peak_mib"] > 0).all()
    assert table["growth_exponent"].isna().all()  # one size: nothing to compare with
    rows = table.set_index("stage")["rows"]
    assert rows["sdtm"] > 0 and rows["adam"] > 0 and rows["check-raw"] > 0
    datasets = pd.read_csv(out / "datasets.csv")
    assert {"DM", "ADSL"} <= set(datasets["dataset"])
    assert datasets.loc[datasets["dataset"] == "DM", "rows"].iloc[0] == 40
    assert rows["sdtm"] + rows["adam"] == datasets["rows"].sum()
    summary = (out / "summary.md").read_text()
    assert "| 40 |" in summary and "not measured in this run" in summary
    assert "reading every SDTM and ADaM XPT once takes" in summary
    floor = table.set_index("stage")["seconds"]
    assert floor["floor"] == pytest.approx(floor["floor_read_raw"] + floor["floor_write_xpt"],
                                           abs=0.002)


def test_the_waits_are_reported_against_their_targets() -> None:
    table = pd.DataFrame([{"subjects": 219, "stage": "wait: clean build", "seconds": 31.0},
                          {"subjects": 219, "stage": "wait: nothing changed", "seconds": 2.5},
                          {"subjects": 219, "stage": "wait: one TLF spec edited",
                           "seconds": 9.9}])
    lines = bench.waits_markdown(table)
    assert "| clean build | 31.0 | 30 | no |" in lines
    assert "| nothing changed | 2.5 | 5 | yes |" in lines
    assert "| one TLF spec edited | 9.9 | 10 | yes |" in lines
