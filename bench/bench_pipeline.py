"""Benchmark: the whole pipeline at 1, 10 and 100 times the study, against its I/O floor.

Run from the repository root (``make bench`` does)::

    .venv/bin/python bench/bench_pipeline.py [--sizes 219,2190,21900] [--large]
                                             [--out build/bench] [--work DIR]

For each size the study is simulated (fixed seed), then every stage runs in a fresh
process (``trialflow check-raw``, ``sdtm``, ``adam``, ``validate``, ``define``, ``tlf``:
the stages of ``trialflow run``) so that its wall time and peak resident memory
(``wait4`` rusage) are its own; the study is the bundled one without the TLF book's PDF
(made by LibreOffice: :func:`study_without_book_pdf`). In the same run the I/O floor is
timed: reading every raw CSV with pandas, and writing the SDTM and ADaM datasets the
pipeline produced again with trialflow's XPT writer. The pipeline's overhead is its time
over that floor. Two more rows say what I/O the floor leaves out: reading those XPT
files once (``read_xpt``) and writing their Dataset-JSON (``write_json``). The growth
exponent between consecutive sizes is ``log(t2 / t1) / log(n2 / n1)`` (1.0: linear).

Writes ``<out>/bench.csv`` (one row per size and stage), ``<out>/datasets.csv`` (rows per
dataset) and ``<out>/summary.md`` (the figures against the targets), atomically.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from trialflow.datasetjson import write_dataset_json
from trialflow.io import write_atomic, write_csv_atomic
from trialflow.spec import SPECS, load_dataset_specs
from trialflow.xpt import prepare, read_xpt, write_prepared

DEFAULT_SIZES = (219, 2_190, 21_900)
LARGE_SIZE = 43_800
STAGES = ("check-raw", "sdtm", "adam", "validate", "define", "tlf")
COLUMNS = ["subjects", "stage", "seconds", "peak_mib", "exit_code", "rows",
           "growth_exponent"]
#: The targets, for the summary (issue 18's: 60 s and 2 GiB at 100 times the study).
TARGET_SUBJECTS = 21_900
TARGET_SECONDS = 60.0
TARGET_MIB = 2 * 1024
TARGET_EXPONENT = 1.1
TARGET_FLOOR_RATIO = 3.0
TARGET_DOCX_SECONDS = 60.0
DOCX_ROWS = 100_000


@dataclass
class Measure:
    """One row of bench.csv."""

    subjects: int
    stage: str
    seconds: float
    peak_mib: float = float("nan")
    exit_code: int = 0
    rows: int = 0
    growth_exponent: float = float("nan")


def growth_exponent(n1: float, t1: float, n2: float, t2: float) -> float:
    """The exponent k of t ~ n^k between two sizes: log(t2/t1) / log(n2/n1).

    NaN when a time or size is not positive or the sizes are equal.

    >>> round(growth_exponent(100, 2.0, 1000, 20.0), 3)
    1.0
    """
    if min(n1, n2, t1, t2) <= 0 or n1 == n2 or any(map(math.isnan, (t1, t2))):
        return float("nan")
    return math.log(t2 / t1) / math.log(n2 / n1)


def add_exponents(rows: list[Measure]) -> list[Measure]:
    """Fill ``growth_exponent`` of each stage against the same stage at the previous size."""
    sizes = sorted({r.subjects for r in rows})
    by_key = {(r.subjects, r.stage): r for r in rows}
    for small, large in zip(sizes, sizes[1:], strict=False):
        for r in rows:
            if r.subjects == large and (small, r.stage) in by_key:
                r.growth_exponent = growth_exponent(small, by_key[small, r.stage].seconds,
                                                    large, r.seconds)
    return rows


# Runs the stage and reports its own wall time, peak RSS (KiB) and exit code. A small
# fresh interpreter forks the stage, not this process: Linux carries the parent's resident
# size at fork into the child's ru_maxrss, and this process holds the floor's data.
_STAGE_RUNNER = """
import os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(time.perf_counter() - start, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def run_stage(args: Sequence[str]) -> tuple[float, float, int]:
    """Run ``trialflow <args>`` in a fresh process: wall seconds, peak RSS (MiB), exit."""
    cmd = [sys.executable, "-c", "import sys; from trialflow.cli import main; "
           "sys.exit(main(sys.argv[1:]))", *args]
    # stderr to a file, not a pipe: a chatty stage must not block on a full pipe.
    with tempfile.TemporaryFile() as err:
        done = subprocess.run([sys.executable, "-c", _STAGE_RUNNER, *cmd], stdout=subprocess.PIPE,
                              stderr=err, check=True, text=True)
        seconds, kib, code = done.stdout.split()
        if int(code) not in (0, 1):
            err.seek(0)
            last = err.read().decode("utf-8", "replace").strip().splitlines()[-1:]
            print(f"  trialflow {args[0]} exited {code}: {' '.join(last)}", file=sys.stderr)
    return float(seconds), int(kib) / 1024, int(code)


def dataset_rows(directory: Path) -> dict[str, int]:
    """Records of each dataset, from the ``records`` field at the head of its Dataset-JSON
    (a few kilobytes read, not the data)."""
    counts = {}
    for path in sorted(Path(directory).glob("*.json")):
        with open(path, encoding="utf-8") as fh:
            head = fh.read(1 << 16)
        found = re.search(r'"records":(\d+)', head)
        if found:
            counts[path.stem.upper()] = int(found.group(1))
    return counts


def io_floor(raw: Path, out: Path, scratch: Path) -> dict[str, float]:
    """Seconds of the I/O floor and of the I/O the stages cannot avoid, by part.

    ``read_raw``: reading every raw CSV; ``write_xpt``: writing the produced SDTM and ADaM
    again as XPT (issue 7's floor is these two). Also, for the summary: ``read_xpt``,
    reading each of those XPT files once, and ``write_json``, writing each one's
    Dataset-JSON twin; the pipeline does both (every stage reads its inputs from disk)
    but the floor does not count them. ``rows`` is the raw rows read.
    """
    start = time.perf_counter()
    raw_rows = sum(len(pd.read_csv(p, dtype=str, keep_default_na=False))
                   for p in sorted(Path(raw).glob("*.csv")))
    seconds = {"read_raw": time.perf_counter() - start, "write_xpt": 0.0, "read_xpt": 0.0,
               "write_json": 0.0, "rows": raw_rows}
    for part in ("sdtm", "adam"):
        specs = load_dataset_specs(SPECS / part)
        for path in sorted((out / part).glob("*.xpt")):
            start = time.perf_counter()
            ds = read_xpt(path)
            seconds["read_xpt"] += time.perf_counter() - start
            spec = specs.get(ds.name)
            if spec is None:
                continue
            frame, _ = prepare(ds.data, spec)  # already in order: a copy, no re-sort
            del ds
            start = time.perf_counter()
            write_prepared(frame, spec, scratch / path.name)
            seconds["write_xpt"] += time.perf_counter() - start
            start = time.perf_counter()
            write_dataset_json(frame, spec, scratch / f"{path.stem}.json", study="BENCH")
            seconds["write_json"] += time.perf_counter() - start
            for written in scratch.iterdir():
                written.unlink()
            del frame
    return seconds


def study_without_book_pdf(work: Path) -> Path:
    """A copy of the bundled study whose study.yaml says ``output: {book_pdf: false}``.

    The stages are timed without the PDF of the TLF book: LibreOffice lays out a listing
    of thousands of pages (the 21,900-subject study's) for many minutes, which would
    measure LibreOffice, not trialflow. The waits (:func:`bench_waits`) run the study as
    it is, PDF included.
    """
    study = work / "study-no-pdf"
    shutil.rmtree(study, ignore_errors=True)
    shutil.copytree(SPECS, study)
    card = study / "study.yaml"
    text = card.read_text(encoding="utf-8")
    card.write_text(text.replace("study:\n", "study:\n  output: {book_pdf: false}\n", 1),
                    encoding="utf-8")
    return study


def bench_size(n: int, seed: int | None, work: Path) -> tuple[list[Measure], dict[str, int]]:
    """Simulate ``n`` subjects, run every stage, time the floor; the rows of bench.csv."""
    raw, out = work / f"n{n}" / "raw", work / f"n{n}" / "out"
    shutil.rmtree(work / f"n{n}", ignore_errors=True)
    study = ["--study", str(study_without_book_pdf(work))]
    reports = out / "reports"
    rows: list[Measure] = []
    seed_args = ["--seed", str(seed)] if seed is not None else []
    seconds, peak, code = run_stage(["simulate", *study, "--subjects", str(n), *seed_args,
                                     "--out", str(raw)])
    rows.append(Measure(n, "simulate", seconds, peak, code))
    args = {
        "check-raw": ["--raw", str(raw), "--reports", str(reports)],
        "sdtm": ["--raw", str(raw), "--out", str(out / "sdtm"), "--reports", str(reports)],
        "adam": ["--sdtm", str(out / "sdtm"), "--out", str(out / "adam"),
                 "--reports", str(reports)],
        "validate": ["--data", str(out / "sdtm"), "--data", str(out / "adam"),
                     "--reports", str(reports)],
        "define": ["--sdtm", str(out / "sdtm"), "--adam", str(out / "adam"),
                   "--out", str(out / "define")],
        "tlf": ["--adam", str(out / "adam"), "--out", str(out / "tlf")],
    }
    for stage in STAGES:
        print(f"  {n} subjects: {stage} ...", file=sys.stderr, flush=True)
        seconds, peak, code = run_stage([stage, *study, *args[stage]])
        rows.append(Measure(n, stage, seconds, peak, code))
    datasets = {**dataset_rows(out / "sdtm"), **dataset_rows(out / "adam")}
    sdtm_rows = sum(dataset_rows(out / "sdtm").values())
    adam_rows = sum(dataset_rows(out / "adam").values())
    for r in rows:
        r.rows = {"sdtm": sdtm_rows, "adam": adam_rows,
                  "validate": sdtm_rows + adam_rows}.get(r.stage, 0)
    staged = [r for r in rows if r.stage in STAGES]
    rows.append(Measure(n, "total", sum(r.seconds for r in staged),
                        max(r.peak_mib for r in staged),
                        max(r.exit_code for r in staged), sdtm_rows + adam_rows))
    print(f"  {n} subjects: I/O floor ...", file=sys.stderr, flush=True)
    scratch = work / f"n{n}" / "floor"
    scratch.mkdir(parents=True, exist_ok=True)
    io = io_floor(raw, out, scratch)
    raw_rows = int(io["rows"])
    next(r for r in rows if r.stage == "check-raw").rows = raw_rows
    rows += [Measure(n, "floor_read_raw", io["read_raw"], rows=raw_rows),
             Measure(n, "floor_write_xpt", io["write_xpt"], rows=sdtm_rows + adam_rows),
             Measure(n, "floor", io["read_raw"] + io["write_xpt"]),
             Measure(n, "read_xpt", io["read_xpt"], rows=sdtm_rows + adam_rows),
             Measure(n, "write_json", io["write_json"], rows=sdtm_rows + adam_rows)]
    return rows, datasets


#: Where a user waits, with their targets (seconds): ``trialflow run`` of the bundled
#: study into a clean build folder (the venv present), again with nothing changed, and
#: again after an edit to one TLF spec.
WAITS = {"clean build": 30.0, "nothing changed": 5.0, "one TLF spec edited": 10.0}


def bench_waits(work: Path) -> list[Measure]:
    """Time the three waits of :data:`WAITS` on a copy of the bundled study (a copy, so
    that the TLF spec edit does not touch the repository)."""
    study, out = work / "waits" / "study", work / "waits" / "package"
    shutil.rmtree(work / "waits", ignore_errors=True)
    shutil.copytree(SPECS, study)
    run = ["run", "--study", str(study), "--out", str(out)]
    rows = []
    for name in WAITS:
        if name == "one TLF spec edited":
            spec = sorted((study / "tlf").glob("t_*.yaml"))[0]
            text = spec.read_text(encoding="utf-8")
            spec.write_text(text.replace("title: ", "title: (edited) ", 1), encoding="utf-8")
        print(f"  waits: {name} ...", file=sys.stderr, flush=True)
        seconds, peak, code = run_stage(run)
        rows.append(Measure(219, f"wait: {name}", seconds, peak, code))
    return rows


def docx_seconds(rows: int = DOCX_ROWS) -> float:
    """bench/bench_docx.py's measurement: seconds to render an ``rows``-row listing."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_docx import make_listing  # noqa: PLC0415 (a sibling script, not a package)

    from tlf.render_docx import write_docx

    listing = make_listing(rows)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        write_docx(listing, Path(tmp) / "listing.docx")
        return time.perf_counter() - start


def _fmt(x: float, digits: int = 1) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def waits_markdown(table: pd.DataFrame) -> list[str]:
    """The waits of :data:`WAITS` against their targets."""
    lines = ["", "Where a user waits (`trialflow run` of the bundled study, each in a fresh "
             "process):", "", "| run | seconds | target | met |", "|---|---:|---:|:---:|"]
    for name, target in WAITS.items():
        hit = table[table["stage"] == f"wait: {name}"]
        if len(hit):
            seconds = float(hit["seconds"].iloc[0])
            lines.append(f"| {name} | {_fmt(seconds)} | {target:.0f} | "
                         f"{'yes' if seconds <= target else 'no'} |")
    return lines if len(lines) > 5 else []


def summary_markdown(table: pd.DataFrame, docx: float | None) -> str:
    """The short report: per size, per stage, growth, floor ratio, and the targets."""
    def get(n: int, stage: str, col: str) -> float:
        hit = table[(table["subjects"] == n) & (table["stage"] == stage)]
        return float(hit[col].iloc[0]) if len(hit) else float("nan")

    sizes = sorted(table["subjects"].unique())
    lines = ["# trialflow benchmark", "",
             f"Machine: {os.cpu_count()} CPUs visible. Times are wall seconds; memory is "
             "the peak resident set of the stage's process (MiB). Every stage runs in its "
             "own process.", "",
             "| subjects | " + " | ".join(STAGES) + " | total s | peak MiB | floor s | "
             "total / floor |",
             "|---:|" + "---:|" * (len(STAGES) + 4)]
    for n in sizes:
        total, floor = get(n, "total", "seconds"), get(n, "floor", "seconds")
        lines.append(f"| {n:,} | " + " | ".join(_fmt(get(n, s, "seconds")) for s in STAGES)
                     + f" | {_fmt(total)} | {_fmt(get(n, 'total', 'peak_mib'), 0)} | "
                     f"{_fmt(floor)} | {_fmt(total / floor if floor else float('nan'))} |")
    lines += ["", "Peak memory per stage (MiB):", "",
              "| subjects | " + " | ".join(STAGES) + " |", "|---:|" + "---:|" * len(STAGES)]
    for n in sizes:
        lines.append(f"| {n:,} | " + " | ".join(_fmt(get(n, s, "peak_mib"), 0)
                                                for s in STAGES) + " |")
    if len(sizes) > 1:
        lines += ["", "Growth exponent (t ~ n^k) against the previous size:", "",
                  "| subjects | " + " | ".join(STAGES) + " | total | floor |",
                  "|---:|" + "---:|" * (len(STAGES) + 2)]
        for n in sizes[1:]:
            lines.append(f"| {n:,} | " + " | ".join(
                _fmt(get(n, s, "growth_exponent"), 2) for s in (*STAGES, "total", "floor"))
                + " |")
    big = [n for n in sizes if n >= TARGET_SUBJECTS]
    lines += ["", "Targets:", "", "| target | measured | met |", "|---|---:|:---:|"]
    if big:
        n = big[0]
        total, peak = get(n, "total", "seconds"), get(n, "total", "peak_mib")
        floor = get(n, "floor", "seconds")
        exps = [get(m, "total", "growth_exponent") for m in sizes[1:] if m <= n]
        worst = max((e for e in exps if not math.isnan(e)), default=float("nan"))
        ratio = total / floor if floor else float("nan")
        lines += [
            f"| {n:,} subjects in <= {TARGET_SECONDS:.0f} s (every stage after simulate) | "
            f"{_fmt(total)} s | {'yes' if total <= TARGET_SECONDS else 'no'} |",
            f"| {n:,} subjects in <= {TARGET_MIB / 1024:.0f} GiB | {_fmt(peak, 0)} MiB | "
            f"{'yes' if peak <= TARGET_MIB else 'no'} |",
            f"| growth <= n^{TARGET_EXPONENT} (total) | {_fmt(worst, 2)} | "
            f"{'yes' if worst <= TARGET_EXPONENT else 'no'} |",
            f"| pipeline <= {TARGET_FLOOR_RATIO:.0f}x I/O floor | {_fmt(ratio)}x | "
            f"{'yes' if ratio <= TARGET_FLOOR_RATIO else 'no'} |"]
    else:
        lines.append(f"| {TARGET_SUBJECTS:,}-subject targets | not measured in this run | – |")
    if docx is not None:
        lines.append(f"| DOCX {DOCX_ROWS:,}-row listing < {TARGET_DOCX_SECONDS:.0f} s | "
                     f"{_fmt(docx, 2)} s | {'yes' if docx < TARGET_DOCX_SECONDS else 'no'} |")
    lines += waits_markdown(table)
    n = sizes[-1]
    lines += ["", f"I/O beyond the floor at {n:,} subjects: reading every SDTM and ADaM XPT "
              f"once takes {_fmt(get(n, 'read_xpt', 'seconds'))} s and writing their "
              f"Dataset-JSON {_fmt(get(n, 'write_json', 'seconds'))} s. The pipeline writes "
              "the JSON once and reads the datasets several times (adam, validate, define "
              "and tlf each read their inputs from disk); the floor counts neither."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                        help="comma-separated subject counts (default: %(default)s)")
    parser.add_argument("--large", action="store_true",
                        help=f"also run {LARGE_SIZE:,} subjects (needs ~2x the memory)")
    parser.add_argument("--seed", type=int, default=None,
                        help="simulation seed (default: the study's, specs/study.yaml)")
    parser.add_argument("--out", type=Path, default=Path("build/bench"),
                        help="where bench.csv and summary.md go (default: %(default)s)")
    parser.add_argument("--work", type=Path, default=None,
                        help="scratch directory for the simulated runs (default: temporary)")
    parser.add_argument("--no-docx", action="store_true",
                        help="skip the 100,000-row DOCX listing measurement")
    parser.add_argument("--no-waits", action="store_true",
                        help="skip the clean / unchanged / one-spec-edited runs")
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()}
                   | ({LARGE_SIZE} if args.large else set()))
    with tempfile.TemporaryDirectory(prefix="trialflow-bench-") as tmp:
        work = args.work or Path(tmp)
        measures: list[Measure] = []
        datasets = []
        for n in sizes:
            rows, counts = bench_size(n, args.seed, work)
            measures += rows
            datasets += [{"subjects": n, "dataset": k, "rows": v} for k, v in counts.items()]
            if args.work is None:
                shutil.rmtree(work / f"n{n}", ignore_errors=True)
        if not args.no_waits:
            measures += bench_waits(work)
    table = pd.DataFrame([asdict(m) for m in add_exponents(measures)], columns=COLUMNS)
    docx = None if args.no_docx else docx_seconds()
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv_atomic(table.round(3), args.out / "bench.csv")
    write_csv_atomic(pd.DataFrame(datasets, columns=["subjects", "dataset", "rows"]),
                     args.out / "datasets.csv")
    text = summary_markdown(table, docx)
    write_atomic(args.out / "summary.md", lambda tmp: tmp.write_text(text, encoding="utf-8"))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
