"""What every analysis family shares: the ARD row shape, the analysis context (population,
groups, comparisons, records) and subject counts.

An analysis family is a module of :mod:`tlf.analyses` with ``FAMILY`` (its name in a
spec), ``SCHEMA`` (the cerberus schema of the spec keys it adds to the common ones) and
``run(ctx) -> list[Row]``. It reads the ADaM only through an :class:`AnalysisContext`,
which the ARD build makes from the analysis spec and the study:

* the **population**: the ADSL subjects meeting the population's condition
  (:mod:`trialflow.conditions`), one record each, with the group level in ``_GROUP``;
* the **groups**: every arm of the study's ``study.yaml`` in display order (``number``),
  whether or not it has subjects, and ``Total`` when the spec asks for it. A subject
  whose treatment value is no arm's code or name (a screen failure, a blank actual arm)
  belongs to no group;
* the **comparisons**: each arm against the study's control arm (``control: true``), or
  all pairs, as the spec says;
* the **records**: the analysis dataset's records of the population's subjects that meet
  the spec's ``where`` (and ``parameter``), with ``_GROUP``: the subject's from ADSL when
  the treatment variable is an ADSL variable (TRT01P, TRT01A, whatever copy the dataset
  holds), else the record's own (a BDS TRTP or TRTA; the population's N then counts
  each subject of the population with records under its first record's treatment).

Every number is one ARD row (:func:`AnalysisContext.rows`): ``analysis_id``,
``population``, ``group1`` (the treatment variable), ``group1_level`` (an arm, ``Total``
or a comparison ``"A vs B"``), ``group2``/``group2_level`` (a subgroup or the parent term
of a hierarchy), ``variable``/``variable_level``, ``stat_name``, ``stat_label``, ``stat``
(full precision; NaN: not estimable) and ``method``; ``output_id`` is filled in when the
outputs that print the row are built.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trialflow.conditions import ConditionError, select
from trialflow.errors import SpecError
from trialflow.spec import Arm, Study

__all__ = ["ARD_COLUMNS", "COMPARISON_MODES", "KEY", "TIME_UNITS", "TOTAL", "AnalysisContext",
           "AnalysisSpec", "Comparison", "Grouping", "Population", "Row", "is_yes",
           "stat_label", "text_values"]

#: The ARD's columns, in order.
ARD_COLUMNS: tuple[str, ...] = (
    "analysis_id", "output_id", "population", "group1", "group1_level", "group2",
    "group2_level", "variable", "variable_level", "stat_name", "stat_label", "stat",
    "method",
)
#: The columns that identify one ARD row (unique within an ARD).
KEY: tuple[str, ...] = ("analysis_id", "group1_level", "group2", "group2_level", "variable",
                        "variable_level", "stat_name")
#: The group level of all subjects together.
TOTAL = "Total"
#: How an analysis compares its arms.
COMPARISON_MODES: tuple[str, ...] = ("each_vs_control", "all_pairs", "none")
#: Days per unit of time; ``months`` is the study's month length (study.yaml).
TIME_UNITS: tuple[str, ...] = ("days", "weeks", "months", "years")
_UNIT_DAYS = {"days": 1.0, "weeks": 7.0, "years": 365.25}

Row = dict[str, object]

#: Labels of the statistics the families compute (``stat_label``); a name not listed
#: here is labelled by its pattern (see :func:`stat_label`).
STAT_LABELS: dict[str, str] = {
    "n": "n", "N": "N", "pct": "%", "mean": "Mean", "sd": "SD", "se": "SE",
    "median": "Median", "q1": "Q1", "q3": "Q3", "min": "Min", "max": "Max",
    "events": "Events", "pct_events": "% of events", "censored": "Censored",
    "censored_pct": "% censored", "median_lcl": "Median lower CL",
    "median_ucl": "Median upper CL", "q1_lcl": "Q1 lower CL", "q1_ucl": "Q1 upper CL",
    "q3_lcl": "Q3 lower CL", "q3_ucl": "Q3 upper CL", "rate": "Event-free rate (%)",
    "rate_lcl": "Event-free rate lower CL", "rate_ucl": "Event-free rate upper CL",
    "hr": "Hazard ratio", "hr_lcl": "Hazard ratio lower CL",
    "hr_ucl": "Hazard ratio upper CL", "hr_upper_1s": "Hazard ratio one-sided upper CL",
    "p_1s": "p-value (one-sided)", "p_2s": "p-value (two-sided)",
    "or": "Odds ratio", "or_lcl": "Odds ratio lower CL", "or_ucl": "Odds ratio upper CL",
    "or_upper_1s": "Odds ratio one-sided upper CL", "lcl": "Lower CL", "ucl": "Upper CL",
    "upper_1s": "One-sided upper CL", "diff": "Difference", "diff_lcl": "Difference lower CL",
    "diff_ucl": "Difference upper CL", "diff_se": "Difference SE", "lsmean": "LS mean",
    "lsmean_se": "LS mean SE", "lsmean_lcl": "LS mean lower CL",
    "lsmean_ucl": "LS mean upper CL", "at_risk": "Number at risk",
    "curve_time": "Curve step time", "curve_surv": "Curve step survival",
    "censor_time": "Censoring time", "censor_surv": "Survival at censoring",
    "df": "Degrees of freedom", "t": "t value", "chisq": "Chi-square",
}


def stat_label(name: str) -> str:
    """The ``stat_label`` of a statistic name.

    Examples
    --------
    >>> stat_label("hr"), stat_label("n_g3"), stat_label("pct_MILD")
    ('Hazard ratio', 'n, level 3', '%, level MILD')
    """
    if name in STAT_LABELS:
        return STAT_LABELS[name]
    for prefix in ("n", "pct"):
        if name.startswith(prefix + "_g"):
            return f"{STAT_LABELS[prefix]}, level {name[len(prefix) + 2:]}"
        if name.startswith(prefix + "_"):
            return f"{STAT_LABELS[prefix]}, level {name[len(prefix) + 1:]}"
    return name


def is_yes(frame: pd.DataFrame, flag: str) -> pd.Series:
    """Boolean mask of ``flag == 'Y'`` (stripped); a flag the frame lacks is never Y.

    Examples
    --------
    >>> is_yes(pd.DataFrame({"F": ["Y", " Y", "N", None]}), "F").tolist()
    [True, True, False, False]
    """
    if flag not in frame:
        return pd.Series(False, index=frame.index)
    codes, values = pd.factorize(frame[flag])
    yes = np.array([str(v).strip() == "Y" for v in values] + [False])
    return pd.Series(yes[codes], index=frame.index, name=flag)


def text_values(column: pd.Series) -> pd.Series:
    """A column as stripped text, missing as ``""``; whole numbers without ``.0``
    (a numeric level 1.0 is the level ``"1"``).

    Examples
    --------
    >>> text_values(pd.Series([1.0, 2.5, None, " a "])).tolist()
    ['1', '2.5', '', 'a']
    """
    codes, values = pd.factorize(column)

    def show(v: Any) -> str:
        if isinstance(v, float | np.floating) and float(v).is_integer():
            return str(int(v))
        return str(v).strip()

    shown = np.array([show(v) for v in values] + [""], dtype=object)
    return pd.Series(shown[codes], index=column.index, dtype=object)


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class Population:
    """A named analysis population: the ADSL subjects meeting ``where``."""

    id: str
    label: str
    where: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Grouping:
    """The treatment variable an analysis groups by, and whether it adds ``Total``."""

    variable: str
    total: bool = False


@dataclass(frozen=True)
class AnalysisSpec:
    """One analysis as its spec declares it (checked when loaded, :mod:`tlf.spec`).

    Attributes
    ----------
    id : str
        Unique analysis id, the ARD's ``analysis_id``; outputs name it.
    family : str
        The method family (a module of :mod:`tlf.analyses`).
    population : str
        The id of a declared population.
    group : Grouping
    dataset : str
        The analysis dataset (``ADSL`` for subject-level analyses).
    where : mapping or None
        Condition on the analysis dataset's records.
    parameter : str or None
        PARAMCD of a BDS analysis (its records; the ARD ``variable``).
    comparisons : {"each_vs_control", "all_pairs", "none"}
    label : str
        What the analysis is, in words.
    reason, purpose : str or None
        Why the analysis is done and what it measures (CDISC ARS controlled terms, for
        the ARS export).
    options : dict
        The family's own keys, as its ``SCHEMA`` checked them.
    path : pathlib.Path or None
        The spec file.
    """

    id: str
    family: str
    population: str
    group: Grouping
    dataset: str = "ADSL"
    where: Mapping[str, Any] | None = None
    parameter: str | None = None
    comparisons: str = "each_vs_control"
    label: str = ""
    reason: str | None = None
    purpose: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def option(self, key: str, default: Any = None) -> Any:
        """A family option (the schema has filled in its defaults)."""
        value = self.options.get(key)
        return default if value is None else value

    def error(self, problem: str) -> SpecError:
        """A :class:`SpecError` naming this analysis's file and id."""
        return SpecError(str(self.path or "analyses"), f"analysis {self.id}: {problem}")


@dataclass(frozen=True)
class Comparison:
    """Arm ``test`` against arm ``ref``; ``label`` is the ARD ``group1_level``."""

    test: str
    ref: str

    @property
    def label(self) -> str:
        return f"{self.test} vs {self.ref}"


# ------------------------------------------------------------------------- context


def _arm_levels(arms: Sequence[Arm], values: pd.Series) -> dict[str, Arm]:
    """Which text stands for each arm in the data: the codes when the data hold any code,
    else the names when they hold any name, else the codes."""
    present = set(values.unique())
    if present & {a.code for a in arms} or not present & {a.name for a in arms}:
        return {a.code: a for a in arms}
    return {a.name: a for a in arms}


class AnalysisContext:
    """An analysis spec bound to the study and the ADaM (see the module docstring).

    Parameters
    ----------
    spec : AnalysisSpec
    population : Population
    study : Study
        Arms (display order by ``number``), the control arm and the month length.
    adam : mapping of str to pandas.DataFrame
        The ADaM datasets by upper-case name; ADSL is required.

    Raises
    ------
    SpecError
        A dataset or variable the spec names is missing, or comparisons are asked for
        in a study without a control arm.
    """

    def __init__(self, spec: AnalysisSpec, population: Population, study: Study,
                 adam: Mapping[str, pd.DataFrame],
                 populations: Mapping[str, Population] | None = None) -> None:
        self.spec, self.study, self.adam = spec, study, adam
        self.population = population
        self.populations = dict(populations or {population.id: population})
        adsl = self.dataset("ADSL")
        variable = spec.group.variable
        self.arms = tuple(sorted(study.arms, key=lambda a: a.number))
        keep = self._where(adsl, population.where, f"population {population.id}")
        #: Whether the group is the subject's (an ADSL variable such as TRT01P) or the
        #: record's (a BDS variable such as TRTP, not in ADSL).
        self.subject_level = variable in adsl
        if self.subject_level:
            value = text_values(adsl[variable])
            source = adsl.loc[keep, ["USUBJID"]].assign(_GROUP=value[keep])
        else:
            records = self.dataset(spec.dataset)
            if variable not in records:
                raise spec.error(f"group variable {variable} is in neither ADSL nor "
                                 f"{spec.dataset}")
            # A record-level treatment: each subject's group is that of its first record
            # of the analysis (where and parameter), for the population's N.
            records = records[records["USUBJID"].isin(adsl.loc[keep, "USUBJID"])
                              & self._where(records, spec.where, f"where of {spec.dataset}")]
            if spec.parameter is not None and "PARAMCD" in records:
                records = records[text_values(records["PARAMCD"]).eq(spec.parameter)]
            source = pd.DataFrame({"USUBJID": records["USUBJID"].to_numpy(),
                                   "_GROUP": text_values(records[variable]).to_numpy()})
            value = source["_GROUP"]
        levels = _arm_levels(self.arms, value)
        self.groups: tuple[str, ...] = tuple(levels)  # arm order
        self._arm_of = levels
        subjects = source[source["_GROUP"].isin(self.groups)]
        self.subjects = subjects.drop_duplicates("USUBJID").reset_index(drop=True)
        self.comparisons = self._comparisons()

    # ------------------------------------------------------------------ structure

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def total(self) -> bool:
        """Whether the analysis has a ``Total`` group."""
        return self.spec.group.total

    @property
    def columns(self) -> tuple[str, ...]:
        """The group levels with ``Total`` last when the analysis has it."""
        return (*self.groups, TOTAL) if self.total else self.groups

    def arm(self, level: str) -> Arm:
        """The study arm a group level stands for."""
        return self._arm_of[level]

    def _comparisons(self) -> list[Comparison]:
        mode = self.spec.comparisons
        if mode == "none" or len(self.groups) < 2:
            return []
        control = next((lvl for lvl in self.groups if self._arm_of[lvl].control), None)
        if control is None:
            raise self.spec.error(f"comparisons {mode} need a control arm: mark one arm "
                                  "'control: true' in study.yaml, or say comparisons: none")
        pairs = [Comparison(lvl, control) for lvl in self.groups if lvl != control]
        if mode == "all_pairs":
            others = [lvl for lvl in self.groups if lvl != control]
            # Later arm against earlier arm in display order (higher dose vs lower).
            pairs += [Comparison(b, a) for i, a in enumerate(others) for b in others[i + 1:]]
        return pairs

    def for_population(self, population: str) -> AnalysisContext:
        """The same analysis on another declared population (an item's own
        denominator, e.g. reasons for discontinuation among the treated)."""
        if population == self.population.id:
            return self
        if population not in self.populations:
            raise self.spec.error(f"population {population!r} is not declared; declared: "
                                  f"{', '.join(sorted(self.populations))}")
        return AnalysisContext(self.spec, self.populations[population], self.study,
                               self.adam, self.populations)

    # ------------------------------------------------------------------ data

    def dataset(self, name: str) -> pd.DataFrame:
        """An ADaM dataset by name (case-insensitive)."""
        frame = self.adam.get(name.upper())
        if frame is None:
            raise self.spec.error(f"needs the ADaM dataset {name.upper()}, which the ADaM "
                                  "folder does not have")
        return frame

    def _where(self, frame: pd.DataFrame, condition: Mapping[str, Any] | None,
               what: str) -> pd.Series:
        try:
            return select(frame, dict(condition) if condition else None)
        except ConditionError as exc:
            raise self.spec.error(f"{what}: {exc}") from None

    def records(self, dataset: str | None = None, where: Mapping[str, Any] | None = None,
                *, parameter: bool = True) -> pd.DataFrame:
        """The analysis dataset's records of the population's subjects, with ``_GROUP``.

        Parameters
        ----------
        dataset : str, optional
            Default the spec's dataset.
        where : mapping, optional
            Default the spec's ``where``.
        parameter : bool, default True
            Keep only the spec's ``parameter`` (PARAMCD), when it declares one.
        """
        name = (dataset or self.spec.dataset).upper()
        frame = self.dataset(name)
        keep = frame["USUBJID"].isin(self.subjects["USUBJID"])
        condition = self.spec.where if where is None else where
        keep &= self._where(frame, condition, f"where of {name}")
        if parameter and self.spec.parameter is not None:
            if "PARAMCD" not in frame:
                raise self.spec.error(f"parameter {self.spec.parameter}: {name} has no "
                                      "PARAMCD")
            keep &= text_values(frame["PARAMCD"]).eq(self.spec.parameter)
        chosen = frame[keep]
        variable = self.spec.group.variable
        if not self.subject_level and variable in chosen:
            group = text_values(chosen[variable])
            chosen = chosen.assign(_GROUP=group.to_numpy())
            return chosen[chosen["_GROUP"].isin(self.groups)]
        # A subject-level group comes from ADSL, whatever copy the dataset holds.
        group = self.subjects.set_index("USUBJID")["_GROUP"]
        return chosen.assign(_GROUP=chosen["USUBJID"].map(group).to_numpy())

    def subject_frame(self, columns: Iterable[str] = ()) -> pd.DataFrame:
        """The population's subjects (USUBJID, _GROUP) with ADSL ``columns``."""
        columns = [c for c in dict.fromkeys(columns) if c not in ("USUBJID", "_GROUP")]
        adsl = self.dataset("ADSL")
        missing = [c for c in columns if c not in adsl]
        if missing:
            raise self.spec.error(f"ADSL has no {', '.join(missing)}")
        extra = adsl[["USUBJID", *columns]].drop_duplicates("USUBJID")
        return self.subjects.merge(extra, on="USUBJID", how="left")

    def big_n(self) -> pd.Series:
        """Subjects per group of :attr:`columns`."""
        n = self.subjects["_GROUP"].value_counts().reindex(list(self.groups), fill_value=0)
        if self.total:
            n[TOTAL] = int(n.sum())
        return n.astype(int)

    def time_factor(self, unit: str, aval_unit: str = "days") -> float:
        """What AVAL in ``aval_unit`` is divided by to give ``unit``."""
        days = {**_UNIT_DAYS, "months": float(self.study.month_length)}
        return days[unit] / days[aval_unit]

    # ------------------------------------------------------------------ rows

    def rows(self, group: str, variable: str, level: str, stats: Mapping[str, float],
             method: str, group2: str = "", group2_level: str = "") -> list[Row]:
        """One ARD row per statistic of ``stats`` (NaN: not estimable).

        Examples
        --------
        >>> ctx.rows("Placebo", "AGE", "", {"median": 57.0}, "PCTLDEF=5")  # doctest: +SKIP
        """
        base = {"analysis_id": self.id, "output_id": "", "population": self.population.id,
                "group1": self.spec.group.variable, "group1_level": group,
                "group2": group2, "group2_level": group2_level, "variable": variable,
                "variable_level": level, "method": method}
        return [{**base, "stat_name": name, "stat_label": stat_label(name),
                 "stat": float(value)} for name, value in stats.items()]

    def frame_rows(self, frame: pd.DataFrame, stats: Sequence[str], method: str
                   ) -> list[Row]:
        """ARD rows of a frame with ``group1_level`` (and optionally ``group2``,
        ``group2_level``), ``variable``, ``variable_level`` and one column per statistic
        of ``stats``: one row per frame row and statistic, frame rows first (vectorised,
        for tables of many terms)."""
        if frame.empty:
            return []
        wide = frame.reset_index(drop=True)
        for column in ("group2", "group2_level"):
            if column not in wide:
                wide[column] = ""
        long = wide.melt(id_vars=["group1_level", "group2", "group2_level", "variable",
                                  "variable_level"], value_vars=list(stats),
                         var_name="stat_name", value_name="stat", ignore_index=False)
        long["_order"] = long["stat_name"].map({s: i for i, s in enumerate(stats)})
        long = long.reset_index().sort_values(["index", "_order"], kind="stable")
        labels = {s: stat_label(s) for s in stats}
        long = long.assign(analysis_id=self.id, output_id="", population=self.population.id,
                           group1=self.spec.group.variable, method=method,
                           stat_label=long["stat_name"].map(labels),
                           stat=long["stat"].astype(float))
        return long[list(ARD_COLUMNS)].to_dict("records")

    def n_rows(self) -> list[Row]:
        """Subjects of the population per group: the ``N`` a column header prints
        (``variable`` USUBJID)."""
        out: list[Row] = []
        for group, n in self.big_n().items():
            out += self.rows(str(group), "USUBJID", "", {"N": n},
                             "Count of subjects in the population")
        return out

    def count_rows(self, subjects: pd.DataFrame, hit: pd.Series, variable: str,
                   level: str = "", *, test: str | None = None,
                   method: str = "Count (% of N)", group2: str = "",
                   group2_level: str = "") -> list[Row]:
        """Subjects with ``hit`` per group: ``n``, ``N`` and ``pct`` (0-100).

        Parameters
        ----------
        subjects : pandas.DataFrame
            One record per subject counted in the denominator, with ``_GROUP``.
        hit : pandas.Series of bool
            Aligned with ``subjects``: whether the subject is counted.
        variable, level : str
            The rows' ``variable`` and ``variable_level``.
        test : {"fisher"}, optional
            Add the two-sided Fisher exact p-value of each comparison (both arms need
            subjects).
        """
        from trialflow.stats import fisher_exact_2s

        counts = (hit.astype(bool).groupby(subjects["_GROUP"]).agg(["sum", "size"])
                  .reindex(list(self.groups), fill_value=0))
        if self.total:
            counts.loc[TOTAL] = [int(hit.sum()), len(subjects)]
        out: list[Row] = []
        for group, (n, big_n) in counts.iterrows():
            pct = 100.0 * n / big_n if big_n else float("nan")
            out += self.rows(str(group), variable, level, {"n": n, "N": big_n, "pct": pct},
                             method, group2, group2_level)
        if test == "fisher":
            for cmp in self.comparisons:
                (x1, n1), (x2, n2) = counts.loc[cmp.test], counts.loc[cmp.ref]
                if n1 and n2:
                    out += self.rows(cmp.label, variable, level,
                                     {"p_2s": fisher_exact_2s(int(x1), int(n1), int(x2),
                                                              int(n2))},
                                     "Fisher exact two-sided", group2, group2_level)
        return out
