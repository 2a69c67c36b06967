"""Seeded random damage (issue #17): whatever bytes a raw extract or a dataset holds,
trialflow explains (exit 0, 1 or 2) and never answers with a traceback.

Each case damages a copy with a seeded generator (flipped, inserted or deleted bytes,
control characters, quotes, absurd dates and numbers, formula text, a cut), so a
failure is reproducible from its seed. Where SDTM ran, the reconciliation balances.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from broken_raw import assert_balanced, check_and_map, copy_extract, run_cli

_INSERTS = [b"\x00", b"\x1b[2J", b"\r", b'"', b",,", b"\xe2\x80\xae", b"1e999", b"-1e999",
            b"nan", b"inf", b"31-DEC-9999", b"01-JAN-0001", b"UN-UN-0000", b"99-XYZ-2016",
            b"=cmd|'/C calc'!A0", b"\xef\xbb\xbf", b"\xff", b"\n", b"  "]


def _damage(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    kind = rng.choice(["flip", "insert", "delete", "cut"])
    if kind == "cut":
        return bytes(out[:rng.randrange(1, len(out))])
    for _ in range(rng.randint(1, 5)):
        i = rng.randrange(len(out))
        if kind == "flip":
            out[i] = rng.randrange(256)
        elif kind == "insert":
            out[i:i] = rng.choice(_INSERTS)
        else:
            del out[i:i + rng.randint(1, 30)]
    return bytes(out)


@pytest.mark.parametrize("seed", range(12))
def test_a_damaged_raw_extract_is_explained(
        raw_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        seed: int) -> None:
    rng = random.Random(seed)
    raw = copy_extract(raw_extract, tmp_path)
    path = raw / rng.choice(sorted(p.name for p in raw.glob("*.csv")))
    path.write_bytes(_damage(path.read_bytes(), rng))
    checked, mapped, reports = check_and_map(capsys, raw)  # no traceback (run_cli)
    assert checked.code in (0, 1, 2)
    # The same file stops both stages, or neither.
    assert (checked.code == 2) == (mapped.code == 2)
    if checked.code == 2:
        assert str(path) in checked.failure()
    else:
        assert_balanced(raw, reports)


@pytest.mark.parametrize("seed", range(12))
def test_a_damaged_dataset_is_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        seed: int) -> None:
    import numpy as np
    import pandas as pd

    from tests.core.helpers import spec, var
    from trialflow.xpt import write_xpt

    rng = random.Random(seed)
    ae = spec(var("STUDYID", length=8), var("USUBJID", length=20),
              var("AETERM", length=40), var("AESEQ", type_="Num", length=8), name="AE",
              keys=("USUBJID", "AESEQ"), sort=("USUBJID", "AESEQ"))
    data = tmp_path / "data"
    data.mkdir()
    frame = pd.DataFrame({"STUDYID": "STUDY1", "USUBJID": [f"S-{i // 3}" for i in range(60)],
                          "AETERM": "Nausea", "AESEQ": np.arange(60) % 3 + 1.0})
    write_xpt(frame, ae, data / "ae.xpt")
    path = data / "ae.xpt"
    path.write_bytes(_damage(path.read_bytes(), rng))
    out = run_cli(capsys, "validate", "--data", data, "--reports", tmp_path / "rep")
    assert out.code in (0, 1, 2)
    if out.code == 2:
        assert str(path) in out.failure()
    shutil.rmtree(data)
