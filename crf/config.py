"""The simulation configuration (specs/simulation.yaml) as typed, frozen dataclasses.

:func:`load_config` reads the file and builds :class:`SimulationConfig`; a key that is
missing, unknown or of the wrong kind is a one-line :class:`~trialflow.errors.SpecError`
naming the file and the key's dotted path (``spec specs/simulation.yaml: pfs.events:
missing``). Numbers keep the type the file gives them (an integer median stays an
integer), so the simulator computes exactly what it computed from the raw mapping.

Per-arm values are pairs in the order of ``arms``; mappings keep the file's order (the
simulator draws in that order).
"""

from __future__ import annotations

import dataclasses
import datetime
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from trialflow import SPECS
from trialflow.errors import SpecError
from trialflow.spec import read_yaml

Pair = tuple[int, int]              # a count per arm
Real = Union[int, float]            # noqa: UP007 (a runtime type, read by the loader)
RealPair = tuple[Real, Real]        # a parameter per arm
Target = tuple[Real, int]           # published value and its printed decimals
Limits = tuple[Union[Real, None], ...]  # noqa: UP007 (median, lower, upper; None: not published)


@dataclass(frozen=True)
class Populations:
    """Analysis populations per arm (counts)."""

    randomised: Pair
    not_itt_withdrew_data_consent: Pair
    eligibility_violation: Pair
    untreated: Pair
    crossover_to_pertuzumab: Pair
    hrqol: Pair
    measurable: Pair


@dataclass(frozen=True)
class Age:
    """Age at randomisation per arm."""

    median: RealPair
    min: RealPair
    max: RealPair
    sd: RealPair


@dataclass(frozen=True)
class ShortLong:
    """Patients with a short and a long pertuzumab exposure, per arm."""

    short: Pair
    long: Pair


@dataclass(frozen=True)
class Baseline:
    """Baseline characteristics: counts per arm and a few probabilities."""

    age: Age
    ecog: Mapping[str, Pair]
    er_positive: Pair
    pgr_positive_given_er: Real
    visceral: Pair
    met_lung: Pair
    met_liver: Pair
    met_bone: Pair
    met_brain: Pair
    met_lymph_node_p: Real
    prior_regimens: Mapping[str, Pair]
    pertuzumab_first_line: ShortLong
    pertuzumab_second_line: ShortLong
    pertuzumab_perioperative_only: Pair
    tdm1_any: Pair
    tdm1_latest: Pair
    lapatinib: Pair
    other_anti_her2: Pair
    her2_ihc3_p: Real
    chemotherapy: Mapping[str, Pair]


@dataclass(frozen=True)
class Enrolment:
    """Accrual periods (start, end, share) and the days between the first visits."""

    periods: tuple[tuple[datetime.date, datetime.date, Real], ...]
    consent_to_randomisation_days: Pair
    randomisation_to_first_dose_days: Pair


@dataclass(frozen=True)
class Minimisation:
    """Pocock-Simon minimisation."""

    p_preferred: Real


@dataclass(frozen=True)
class Schedule:
    """The protocol's visit schedule."""

    tumour_weeks_first: tuple[int, ...]
    tumour_interval_weeks_after: int
    window_days: int
    sd_minimum_days: int
    cycle_days: int
    lvef_every_cycles: int


@dataclass(frozen=True)
class Pfs:
    """Progression-free survival generator."""

    events: Pair
    clinical_progression: Pair
    death_without_progression: Pair
    median_months: RealPair
    hr_prior: Real


@dataclass(frozen=True)
class Response:
    """Best overall response counts in measurable disease, duration of response."""

    PR: Pair
    CR: Pair
    SD: Pair
    PD: Pair
    NE: Pair
    MISSING: Pair
    responders_censored: Pair
    dor_median_months: RealPair
    dor_weibull_shape: Real

    def counts(self) -> dict[str, Pair]:
        """Best response -> count per arm, in the file's order."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name in ("CR", "PR", "SD", "PD", "NE", "MISSING")}


@dataclass(frozen=True)
class Os:
    """Overall survival generator."""

    deaths: Pair
    deaths_from_ae: Pair
    median_months: RealPair
    lost_to_follow_up: Pair
    post_progression_median_months: RealPair


@dataclass(frozen=True)
class Ttd:
    """Time to deterioration generator."""

    events: Pair
    median_months: RealPair


@dataclass(frozen=True)
class Cycles:
    """Treatment cycles per arm."""

    median: Pair
    min: Pair
    max: Pair


@dataclass(frozen=True)
class Exposure:
    """Exposure and discontinuation."""

    cycles: Cycles
    ae_discontinuation: Pair
    withdrawal_before_progression: Pair


@dataclass(frozen=True)
class Safety:
    """Safety counts per arm (safety population)."""

    grade3_plus: Pair
    serious: Pair
    fatal: Pair
    fatal_terms: tuple[str, ...]
    dose_reduction_grade3: Pair
    lvef_decline: Pair
    special_interest: Mapping[str, Mapping[str, Pair]]


@dataclass(frozen=True)
class PfsIttTargets:
    """Published PFS results (ITT)."""

    median: Mapping[str, Limits]
    hr_stratified: Target
    hr_upper_1s: Target
    p_stratified_1s: Target


@dataclass(frozen=True)
class PfsTdm1Targets:
    """Published PFS results in the T-DM1-latest subgroup."""

    median: Mapping[str, Limits]
    hr: Target
    hr_upper_1s: Target
    p_1s: Target


@dataclass(frozen=True)
class DorTargets:
    """Published duration-of-response results."""

    median: Mapping[str, Limits]
    hr: Target
    hr_upper_1s: Target
    hr_stratified: Target
    hr_stratified_upper_1s: Target


@dataclass(frozen=True)
class OsTargets:
    """Published overall survival results."""

    median: Mapping[str, Limits]
    hr: Target
    hr_upper_1s: Target
    p_1s: Target


@dataclass(frozen=True)
class FollowUpTargets:
    """Published follow-up (median, quartiles in months) overall and per arm, and p."""

    overall: Limits
    p: Target
    arms: Mapping[str, Limits]   # the file's other keys: one per arm


@dataclass(frozen=True)
class TtdTargets:
    """Published time-to-deterioration results."""

    median: Mapping[str, Limits]
    hr_stratified: Target
    hr_lcl: Target
    hr_ucl: Target
    p_stratified_2s: Target


@dataclass(frozen=True)
class Calibration:
    """The published results the calibration search steers towards."""

    pfs_itt: PfsIttTargets
    pfs_tdm1: PfsTdm1Targets
    dor: DorTargets
    os: OsTargets
    follow_up: FollowUpTargets
    ttd: TtdTargets


@dataclass(frozen=True)
class Criterion:
    """An eligibility criterion written for the patients found outside the FAS."""

    id: str
    category: str
    text: str


@dataclass(frozen=True)
class SimulationConfig:
    """specs/simulation.yaml."""

    arms: tuple[str, str]
    populations: Populations
    baseline: Baseline
    enrolment: Enrolment
    minimisation: Minimisation
    schedule: Schedule
    pfs: Pfs
    response: Response
    os: Os
    ttd: Ttd
    exposure: Exposure
    safety: Safety
    calibration: Calibration
    eligibility_criteria: tuple[Criterion, ...]


# dataclasses whose unknown keys are gathered in one mapping field (keys are data)
_EXTRA = {FollowUpTargets: "arms"}


def load_config(path: Path | None = None) -> SimulationConfig:
    """Read and check the simulation configuration.

    Parameters
    ----------
    path : Path, optional
        The YAML file; ``specs/simulation.yaml`` by default.

    Returns
    -------
    SimulationConfig

    Raises
    ------
    trialflow.errors.SpecError
        One line naming the file and the dotted key: missing, unknown or of the wrong
        kind.
    """
    path = Path(path) if path is not None else SPECS / "simulation.yaml"
    try:
        shown = str(path.relative_to(SPECS.parent))
    except ValueError:
        shown = str(path)
    cfg = build(SimulationConfig, read_yaml(path), shown)
    for block, where in ((cfg.calibration.follow_up.arms, "calibration.follow_up"),
                         *((t.median, f"calibration.{k}.median") for k, t in (
                             ("pfs_itt", cfg.calibration.pfs_itt),
                             ("pfs_tdm1", cfg.calibration.pfs_tdm1),
                             ("dor", cfg.calibration.dor), ("os", cfg.calibration.os),
                             ("ttd", cfg.calibration.ttd)))):
        if set(block) != set(cfg.arms):
            raise SpecError(shown, f"{where}: expected one entry per arm {list(cfg.arms)}, "
                                   f"found {list(block)}")
    return cfg


def build(cls: type, data: Any, file: str, where: str = "") -> Any:
    """``data`` (parsed YAML) as an instance of the dataclass ``cls``, checked."""
    return _value(cls, data, file, where)


def _fail(file: str, where: str, problem: str) -> SpecError:
    return SpecError(file, f"{where or 'top level'}: {problem}")


def _value(tp: Any, data: Any, file: str, where: str) -> Any:
    if dataclasses.is_dataclass(tp):
        return _dataclass(tp, data, file, where)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        real = [a for a in args if a is not type(None)]
        if set(real) == {int, float}:
            if isinstance(data, bool) or not isinstance(data, (int, float)):
                raise _fail(file, where, f"expected a number, found {data!r}")
            return data
        return _value(real[0], data, file, where)
    if origin is tuple:
        if not isinstance(data, list):
            raise _fail(file, where, f"expected a list, found {data!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_value(args[0], v, file, f"{where}[{i}]") for i, v in enumerate(data))
        if len(data) != len(args):
            raise _fail(file, where, f"expected {len(args)} values, found {len(data)}")
        return tuple(_value(a, v, file, f"{where}[{i}]")
                     for i, (a, v) in enumerate(zip(args, data, strict=True)))
    if origin in (Mapping, dict):
        if not isinstance(data, dict):
            raise _fail(file, where, f"expected a mapping, found {data!r}")
        return types.MappingProxyType({str(k): _value(args[1], v, file, f"{where}.{k}")
                                       for k, v in data.items()})
    if tp is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise _fail(file, where, f"expected an integer, found {data!r}")
        return data
    if tp is str:
        if not isinstance(data, str):
            raise _fail(file, where, f"expected text, found {data!r}")
        return data
    if tp is datetime.date:
        if not isinstance(data, datetime.date):
            raise _fail(file, where, f"expected a date (YYYY-MM-DD), found {data!r}")
        return data
    raise TypeError(f"no loader for {tp!r}")  # a programming error, not a spec error


def _dataclass(cls: type, data: Any, file: str, where: str) -> Any:
    if not isinstance(data, dict):
        raise _fail(file, where, f"expected a mapping, found {data!r}")
    hints = typing.get_type_hints(cls)
    extra = _EXTRA.get(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.name != extra]
    prefix = f"{where}." if where else ""
    unknown = [k for k in data if k not in names]
    if unknown and extra is None:
        raise _fail(file, f"{prefix}{unknown[0]}", f"unknown key (expected one of {names})")
    missing = [k for k in names if k not in data]
    if missing:
        raise _fail(file, f"{prefix}{missing[0]}", "missing")
    values = {k: _value(hints[k], data[k], file, f"{prefix}{k}") for k in names}
    if extra is not None:
        values[extra] = _value(hints[extra], {k: data[k] for k in unknown}, file, where)
    return cls(**values)
