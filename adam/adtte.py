"""ADTTE: time-to-event parameters (ADaMIG 1.3 ADTTE), from ADSL, ADRS and ADQS.

Every parameter — PFS, OS, DOR, TTDBTOI — is declared in ``specs/adam/adtte.yaml`` as a
start date, event sources and censoring sources (dataset, condition, date, description,
censoring value), in priority order, and run by the one engine of :mod:`adam.tte`: the
earliest event wins; without one, the latest censoring date; on the same date the source
declared first; ADT never before STARTDT; AVAL = ADT - STARTDT + 1 days. The ADSL
variables the analyses need (treatment, strata, population flags, subgroups) are carried
over.

Example
-------
>>> spec = resolve(load_dataset_spec(SPECS / "adam" / "adtte.yaml"), load_study())
... # doctest: +SKIP
>>> adtte = build({"ADSL": adsl, "ADRS": adrs, "ADQS": adqs}, spec)
... # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from adam.conditions import check_condition
from adam.derive import derive_vars_merged, keep_spec_vars
from adam.tte import TTEParameter, derive_param_tte
from trialflow.errors import SpecError
from trialflow.spec import DatasetSpec

KEY = ["USUBJID"]


REQUIRED = ("paramcd", "param", "paramn", "start", "events", "censors")


def check_parameters(spec: DatasetSpec, available: Sequence[str]) -> None:
    """Raise a SpecError naming the parameter and source when a declared parameter is
    incomplete, names a dataset that is not an input, or has a malformed condition."""
    def fail(problem: str) -> None:
        raise SpecError(spec.file, problem, spec.name)

    for i, p in enumerate(spec.parameters, start=1):
        name = p.get("paramcd", f"#{i}") if isinstance(p, dict) else f"#{i}"
        if not isinstance(p, dict) or any(k not in p for k in REQUIRED):
            fail(f"parameter {name}: needs {', '.join(REQUIRED)}")
        check_condition(p.get("population"), spec.file, spec.name,
                        f"parameter {name}, population")
        sources = [("start", 1, p["start"])]
        sources += [("event", j, s) for j, s in enumerate(p["events"], start=1)]
        sources += [("censoring source", j, s) for j, s in enumerate(p["censors"], start=1)]
        for kind, j, s in sources:
            where = f"parameter {name}, {kind} {j}"
            if not isinstance(s, dict) or "date" not in s or (
                    kind != "start" and "description" not in s):
                fail(f"{where}: needs a date" + ("" if kind == "start" else
                                                 " and a description"))
            if s.get("dataset", "ADSL") not in available:
                fail(f"{where}: dataset {s.get('dataset')!r} is not one of the inputs "
                     f"({', '.join(available)})")
            check_condition(s.get("condition"), spec.file, spec.name, where)


def parameters(spec: DatasetSpec) -> list[TTEParameter]:
    """The spec's parameters as engine parameters, in declared order."""
    return [TTEParameter.from_spec(p) for p in spec.parameters]


def build(inputs: Mapping[str, pd.DataFrame], spec: DatasetSpec) -> pd.DataFrame:
    """ADTTE from ADSL, ADRS and ADQS (``inputs``) as ``spec`` declares it."""
    d = spec.derivation
    adsl = inputs["ADSL"]
    datasets = {name: inputs[name] for name in ("ADSL", "ADRS", "ADQS") if name in inputs}
    check_parameters(spec, list(datasets))
    parts = [derive_param_tte(adsl, datasets, p) for p in parameters(spec)]
    tte = pd.concat(parts, ignore_index=True)
    paramn = {p["paramcd"]: float(p["paramn"]) for p in spec.parameters}
    tte["PARAMN"] = tte["PARAMCD"].map(paramn)
    tte["AVALU"] = d["avalu"]
    tte = derive_vars_merged(tte, adsl, KEY, new_vars=list(d["adsl_vars"]))
    for c in ("SRCDOM", "SRCVAR", "EVNTDESC", "CNSDTDSC"):
        tte[c] = tte[c].fillna("")
    tte["CNSR"] = tte["CNSR"].astype("float64")
    tte["SRCSEQ"] = pd.to_numeric(tte["SRCSEQ"], errors="coerce")
    return keep_spec_vars(tte, spec)
