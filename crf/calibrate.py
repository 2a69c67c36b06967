"""The calibration step: small moves of generated event times towards published results.

The generator draws every patient from visit-aware processes; the calibration then runs
a deterministic local search (seeded) that proposes small moves — an event a few days
earlier or later within its visit window, a progression found one visit earlier or
later, two patients of one arm exchanging outcomes — and keeps a move when the summed
distance to all targets of the end-point does not grow (or, while the search is still
"hot", grows by little: simulated annealing). A target is met when the statistic,
rounded half up to the printed precision, equals the published value; its distance is
zero then, and otherwise grows with how far the value is from the target. Every
proposal respects the per-patient constraints (visit grid, order of events, follow-up
available before the data cut-off), so the search can only reach consistent patients.

Speed comes from evaluating only what a move can change. The loss is a sum over
*components* (one arm's Kaplan-Meier targets, one Cox model, ...), each cached; a move
names the components it makes dirty, they are recomputed cheapest first, and the
evaluation stops as soon as the loss is certain to be rejected. Moves are made in place
and undone when rejected, so no state is copied per step.

The end-points' problems are compiled (:class:`CompiledProblem`): the same search, step
for step and bit for bit, with the moves, the components and the loop compiled by numba
(:mod:`crf.kernels` says how the floats are kept identical). :class:`Problem` and
:func:`search` remain the plain-Python definition of both.

The search never looks at a clock: it stops after a number of steps, so the same seed
gives the same data on any machine.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crf import kernels

MONTH = 30.4375
# A target only counts as met this far (in last-digit units) inside its rounding window,
# so that the fast statistics and the library (equal to ~1e-15) round the same way.
_EDGE = 1e-7
STEP = 0.5


def rounded(x: float, decimals: int) -> float:
    """Round half up (SAS ROUND) for a scalar, as ``round_half_up`` does; NaN stays NaN.

    Parameters
    ----------
    x : float
        Value to round.
    decimals : int
        Decimals to keep (>= 0).

    Returns
    -------
    float

    Examples
    --------
    >>> rounded(0.9665, 3), rounded(2.675, 2), rounded(-0.125, 2)
    (0.967, 2.68, -0.13)
    """
    if x is None or not math.isfinite(x):
        return math.nan
    scale = 10.0 ** decimals
    scaled = abs(x) * scale
    whole = math.floor(scaled)
    # the same tolerance as trialflow.stats.descriptive.round_half_up, so a decimal
    # stored a few ulps below its half rounds up in both
    tol = min(scaled * 1e-14, 1e-6)
    up = 1.0 if scaled - whole >= 0.5 - tol else 0.0
    return math.copysign((whole + up) / scale, x) + 0.0


def distance(x: float, target: float | None, decimals: int, widen: float = 1.0) -> float:
    """0 when ``x`` rounds to ``target``; otherwise grows with the gap in last-digit units.

    Parameters
    ----------
    x : float
        The statistic.
    target : float or None
        The published value; None means no target, NaN means "not estimable" is the
        published value.
    decimals : int
        Printed decimals of the target.
    widen : float
        Rounding window widened this many times (the search's coarse stages); 1 is
        the printed precision.

    Returns
    -------
    float
        0 inside the rounding window (kept a hair away from its edges), at least 0.5
        outside; on a log scale, so far-off targets still pull without one of them
        swamping the rest.
    """
    if target is None:
        return 0.0
    if isinstance(target, float) and math.isnan(target):
        return 0.0 if not math.isfinite(x) else 3.0
    if x is None or not math.isfinite(x):
        return 8.0
    gap = abs(x - target) * 10.0 ** decimals / widen
    if gap <= 0.5 - _EDGE and (widen != 1.0 or rounded(x, decimals) == rounded(target,
                                                                               decimals)):
        return 0.0
    return STEP + math.log1p(max(gap - 0.5, 0.0))


def se_window(hr: tuple[float, int], limit: tuple[float, int], z: float,
              widen: float = 1.0) -> tuple[float, float]:
    """Standard errors of log HR compatible with a printed HR and one printed limit.

    Parameters
    ----------
    hr, limit : tuple of (value, decimals)
        Printed hazard ratio and one of its confidence limits (upper when above the HR).
    z : float
        Normal quantile of the limit.
    widen : float
        Widening of the rounding windows (see :func:`distance`).

    Returns
    -------
    tuple of float
        Every (HR, limit) pair inside both rounding windows has its se in this range, so
        steering the se into it first never excludes a solution.
    """
    h = 0.5 * 10.0 ** -hr[1] * widen
    m = 0.5 * 10.0 ** -limit[1] * widen
    lo_hr, hi_hr = math.log(max(hr[0] - h, 1e-9)), math.log(hr[0] + h)
    lo_m, hi_m = math.log(max(limit[0] - m, 1e-9)), math.log(limit[0] + m)
    if limit[0] > hr[0]:
        return (max(lo_m - hi_hr, 0.0) / z, (hi_m - lo_hr) / z)
    return (max(lo_hr - hi_m, 0.0) / z, (hi_hr - lo_m) / z)


def se_guide(se: float, window: tuple[float, float]) -> float:
    """Penalty for a standard error outside ``window``: 0 inside, then log-growing."""
    lo, hi = window
    if lo <= se <= hi:
        return 0.0
    if not math.isfinite(se):
        return 8.0
    half = max((hi - lo) / 2.0, 1e-12)
    return STEP + math.log1p((lo - se if se < lo else se - hi) / half)


@dataclass
class Targets:
    """Named statistic -> (published value, decimals)."""

    items: dict[str, tuple[float | None, int]] = field(default_factory=dict)

    def loss(self, values: dict[str, float]) -> float:
        """Summed distance of ``values`` to the targets."""
        return sum(distance(values[k], t, d) for k, (t, d) in self.items.items())

    def misses(self, values: dict[str, float]) -> dict[str, tuple[float, float]]:
        """Targets not met: name -> (value, target)."""
        return {k: (values[k], t) for k, (t, d) in self.items.items()
                if distance(values[k], t, d) > 0}


def median_targets(prefix: str, spec: dict, arms: list[str]) -> dict[str, tuple]:
    """Targets for KM median and limits, in months at one decimal, from a spec block."""
    out = {}
    for arm in arms:
        med, lcl, ucl = spec[arm]
        out[f"{prefix}.{arm}.median"] = (med, 1)
        out[f"{prefix}.{arm}.lcl"] = (lcl, 1)
        out[f"{prefix}.{arm}.ucl"] = (ucl, 1)
    return out


# ------------------------------------------------------------------------- the search


def accept(new: float, cur: float, temp: float, u: float) -> bool:
    """The acceptance rule: never worse, or worse with probability exp(-increase / temp).

    Parameters
    ----------
    new, cur : float
        Loss of the proposal and of the current state.
    temp : float
        Temperature; 0 gives a pure descent that still drifts across plateaus.
    u : float
        A uniform random number in (0, 1).

    Returns
    -------
    bool

    Examples
    --------
    >>> accept(1.0, 1.0, 0.0, 0.99), accept(1.1, 1.0, 0.0, 0.0), accept(1.1, 1.0, 1.0, 0.5)
    (True, False, True)
    """
    return new <= cur + slack(temp, u)


def slack(temp: float, u: float) -> float:
    """How much worse a proposal may be and still be kept, for temperature and uniform."""
    if temp <= 0.0 or u >= 1.0:
        return 0.0
    if u <= 0.0:
        return math.inf
    return -temp * math.log(u)


Component = Callable[[], dict[str, float]]
PENALTY = "_penalty"


class Problem:
    """A calibration problem searched by :func:`search`, evaluated incrementally.

    Subclasses hold the per-patient state in ``self.arrays`` (name -> numpy array,
    changed only through :meth:`put`), register components with :meth:`add` and
    implement :meth:`move`, which changes the state in place and returns the names of
    the components the change can affect (or None when no valid move was found).
    """

    def __init__(self, targets: Targets) -> None:
        self.targets = targets
        self.arrays: dict[str, np.ndarray] = {}
        self.components: dict[str, tuple[Component, list[tuple[str, float | None, int]]]] = {}
        self.order: list[str] = []
        self.active: set[str] = set()
        self.comp_loss: dict[str, float] = {}
        self.comp_values: dict[str, dict[str, float]] = {}
        self._undo: list[tuple[np.ndarray, Any, Any]] = []
        self._pending: dict[str, tuple[float, dict[str, float]]] = {}
        self._dirty: list[str] = []
        self.loss = math.inf
        self.widen = 1.0
        # extra widening of some targets (hazard ratios and their limits while the search
        # first steers the standard errors, see ``se_window``)
        self.loose: dict[str, float] = {}

    # -- set-up --------------------------------------------------------------------
    def add(self, name: str, fn: Component, keys: list[str]) -> None:
        """Register a component: ``fn`` returns the values of the target ``keys``.

        Components are evaluated in the order they are added, so add cheap ones first.
        """
        items = [(k, *self.targets.items[k]) for k in keys]
        self.components[name] = (fn, items)
        self.order.append(name)

    def _compute(self, name: str) -> tuple[float, dict[str, float]]:
        fn, items = self.components[name]
        v = fn()
        # a component may add a penalty of its own (a rule rather than a printed number)
        lo = self.loose
        return sum(distance(v[k], t, d, lo.get(k, 1.0)) for k, t, d in items
                   ) + v.get(PENALTY, 0.0), v

    def set_active(self, names: set[str] | None = None) -> float:
        """Choose the components the loss sums (all when None) and recompute them."""
        self.active = set(self.order) if names is None else set(names)
        self.refresh()
        return self.loss

    def set_widen(self, widen: float, loose: dict[str, float] | None = None) -> float:
        """Widen the rounding windows of some targets (1 = printed precision).

        ``loose`` maps target name -> widening factor; ``widen`` is the precision level
        the standard-error guidance works at.
        """
        self.widen = widen
        self.loose = dict(loose or {})
        self.refresh()
        return self.loss

    def refresh(self) -> None:
        """Recompute every active component from the current state."""
        for name in self.order:
            if name in self.active:
                self.comp_loss[name], self.comp_values[name] = self._compute(name)
        self.loss = sum(self.comp_loss[n] for n in self.active)

    # -- moves ---------------------------------------------------------------------
    def put(self, array: str, index: Any, value: Any) -> None:
        """Change ``self.arrays[array][index]``, remembering the old value for undo."""
        a = self.arrays[array]
        old = a[index]
        self._undo.append((a, index, old.copy() if isinstance(old, np.ndarray) else old))
        a[index] = value

    def move(self, rng: np.random.Generator) -> set[str] | None:
        """Change the state in place; return the affected components or None."""
        raise NotImplementedError

    def propose(self, rng: np.random.Generator) -> bool:
        """Make a move; False (and nothing changed) when no valid move was found."""
        dirty = self.move(rng)
        if dirty is None:
            self.rollback()
            return False
        self._dirty = [n for n in self.order if n in dirty and n in self.active]
        return True

    def evaluate(self, bound: float = math.inf) -> float:
        """Loss after the move; ``inf`` as soon as it is certain to exceed ``bound``."""
        self._pending = {}
        total = sum(self.comp_loss[n] for n in self.active if n not in self._dirty)
        if total > bound:
            return math.inf
        for name in self._dirty:
            loss, v = self._compute(name)
            self._pending[name] = (loss, v)
            total += loss
            if total > bound:
                return math.inf
        return total

    def commit(self, loss: float) -> None:
        """Keep the move."""
        for name, (lo, v) in self._pending.items():
            self.comp_loss[name] = lo
            self.comp_values[name] = v
        self.loss = loss
        self._undo.clear()
        self._pending = {}

    def rollback(self) -> None:
        """Undo the move."""
        for a, index, old in reversed(self._undo):
            a[index] = old
        self._undo.clear()
        self._pending = {}

    def snapshot(self) -> dict[str, np.ndarray]:
        """A copy of the state."""
        return {k: v.copy() for k, v in self.arrays.items()}

    def restore(self, snap: dict[str, np.ndarray]) -> None:
        """Return to a snapshot and recompute the active components."""
        for k, v in snap.items():
            self.arrays[k][...] = v
        self.refresh()

    def values(self) -> dict[str, float]:
        """Every target's statistic in the current state (all components recomputed)."""
        out: dict[str, float] = {}
        for name in self.order:
            out.update(self._compute(name)[1])
        return out

    def run(self, rng: np.random.Generator, max_steps: int, t_start: float, t_end: float,
            patience: int | None, keep_best: bool) -> tuple[int, int]:
        """The loop of :func:`search`; returns (steps, accepted)."""
        cur = self.loss
        best, best_snap = cur, self.snapshot()
        ratio = (t_end / t_start) ** (1.0 / max(max_steps, 1)) if t_start > 0 else 1.0
        temp = t_start
        steps = accepted = 0
        last_best = 0
        for steps in range(1, max_steps + 1):
            if (keep_best and best == 0.0) or (patience is not None
                                               and steps - last_best > patience):
                steps -= 1
                break
            temp *= ratio
            if not self.propose(rng):
                continue
            u = float(rng.random()) if temp > 0 else 1.0
            bound = cur + slack(temp, u)
            new = self.evaluate(bound)
            if new <= bound:
                self.commit(new)
                cur = new
                accepted += 1
                if cur < best:
                    best, last_best = cur, steps
                    if keep_best:
                        best_snap = self.snapshot()
            else:
                self.rollback()
        if keep_best and cur != best:
            self.restore(best_snap)
        return steps, accepted

    def active_misses(self) -> dict[str, tuple[float, float]]:
        """Targets (and penalties) of the active components not met, with their values."""
        out = {}
        for name in self.order:
            if name not in self.active or self.comp_loss.get(name, 0.0) == 0.0:
                continue
            v = self.comp_values[name]
            for k, t, d in self.components[name][1]:
                if distance(v[k], t, d) > 0:
                    out[k] = (float(v[k]), t)
            if v.get(PENALTY, 0.0) > 0:
                out[f"{name}.penalty"] = (float(v[PENALTY]), 0.0)
        return out


@dataclass
class StageReport:
    """What one search stage did."""

    name: str
    loss: float
    steps: int
    accepted: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.name, "loss": self.loss, "steps": self.steps,
                "accepted": self.accepted, "seconds": round(self.seconds, 3)}


def search(problem: Problem, rng: np.random.Generator, max_steps: int, t_start: float = 0.0,
           t_end: float = 0.01, patience: int | None = None, name: str = "search",
           keep_best: bool = True) -> StageReport:
    """Stochastic local search (simulated annealing when ``t_start`` > 0).

    A proposal that does not raise the loss is always kept, which lets the search drift
    across the plateaus that rounded targets make; a worse one is kept with probability
    exp(-increase / temperature) (see :func:`accept`), the temperature falling
    geometrically from ``t_start`` to ``t_end``. Stops at loss 0, after ``max_steps``,
    or after ``patience`` steps without a new best; leaves the problem in the best
    state seen (in the last one with ``keep_best`` False: a random walk that shakes a
    stuck search loose).
    """
    t0 = time.perf_counter()
    steps, accepted = problem.run(rng, max_steps, t_start, t_end, patience, keep_best)
    return StageReport(name, problem.loss, steps, accepted, time.perf_counter() - t0)


# ------------------------------------------------------------------------- compiled


@dataclass(frozen=True)
class Kernels:
    """A compiled problem's cached wrappers around the loops of :mod:`crf.kernels`."""

    search: Callable[..., tuple[int, int, float]]
    refresh: Callable[..., float]
    propose: Callable[..., int]
    evaluate: Callable[..., float]


UNDO_CAPACITY = 4096


class CompiledProblem(Problem):
    """A problem whose moves and statistics run compiled (:mod:`crf.kernels`).

    The same interface and the same search as :class:`Problem`, step for step and bit
    for bit; the state is the int64 matrices ``S`` (one row per field, also reachable by
    name in ``arrays``) and ``J``, the constants the tuple ``C``, the mode parameters the
    float array ``M``. Subclasses register components with :meth:`add_compiled` (their
    index is their bit in the masks the compiled ``move`` returns), then call
    :meth:`build`.
    """

    kernels: Kernels

    def __init__(self, targets: Targets, fields: tuple[str, ...], S: np.ndarray,
                 J: np.ndarray | None = None) -> None:
        super().__init__(targets)
        # copies: the search changes them in place
        self.S = np.array(S, dtype=np.int64, order="C")
        self.J = (np.zeros((1, 1), dtype=np.int64) if J is None
                  else np.array(J, dtype=np.int64, order="C"))
        self.fields = fields
        self.arrays = {f: self.S[k] for k, f in enumerate(fields)}
        self.C: tuple = ()
        self.M = np.zeros(4)
        self.slots: dict[str, list[str]] = {}
        self._mask = -1

    def add_compiled(self, name: str, keys: list[str], slots: list[str]) -> None:
        """Register component ``name``: its values, in order, are named ``slots`` (column
        0 of its row is its penalty); ``keys`` are the targets among them."""
        self.add(name, _no_python, keys)
        self.slots[name] = [PENALTY, *slots]

    def build(self) -> None:
        """The component table and work arrays (after every :meth:`add_compiled`)."""
        n_comp = len(self.order)
        width = max(len(v) for v in self.slots.values())
        lo, hi, slot, kind, target, dec = [], [], [], [], [], []
        for name in self.order:
            lo.append(len(slot))
            for k, t, d in self.components[name][1]:
                slot.append(self.slots[name].index(k))
                if t is None:
                    kind.append(kernels.T_NONE)
                elif isinstance(t, float) and math.isnan(t):
                    kind.append(kernels.T_NAN)
                else:
                    kind.append(kernels.T_VALUE)
                target.append(0.0 if t is None else float(t))
                dec.append(int(d))
            hi.append(len(slot))
        self.item_keys = [k for name in self.order for k, _, _ in self.components[name][1]]
        self.T = (np.zeros(n_comp, dtype=np.bool_), np.array(lo, dtype=np.int64),
                  np.array(hi, dtype=np.int64), np.array(slot, dtype=np.int64),
                  np.array(kind, dtype=np.int64), np.array(target, dtype=np.float64),
                  np.array(dec, dtype=np.int64), np.ones(len(slot)))
        # the compiled code does not check bounds: the undo log must hold the most a move
        # writes (a PFS swap: every field and assessment of two patients, then a re-timing)
        if 2 * (self.S.shape[0] + self.J.shape[1]) + 16 > UNDO_CAPACITY:
            raise ValueError(f"the undo log ({UNDO_CAPACITY}) is too short for "
                             f"{self.S.shape[0]} fields and {self.J.shape[1]} columns")
        self.W = kernels.work_arrays(n_comp, width, self.S.shape[1], UNDO_CAPACITY)

    # -- the Problem interface -----------------------------------------------------
    def refresh(self) -> None:
        T = self.T
        T[0][:] = [n in self.active for n in self.order]
        T[7][:] = [self.loose.get(k, 1.0) for k in self.item_keys]
        self.loss = float(self.kernels.refresh(self.S, self.J, self.C, T, self.W))

    def propose(self, rng: np.random.Generator) -> bool:
        self._mask = int(self.kernels.propose(self.S, self.J, self.C, self.M, self.T,
                                              self.W, rng))
        return self._mask >= 0

    def evaluate(self, bound: float = math.inf) -> float:
        return float(self.kernels.evaluate(self.S, self.J, self.C, self.T, self.W,
                                           self._mask, bound))

    def commit(self, loss: float) -> None:
        kernels.commit(self.W)
        self.loss = loss

    def rollback(self) -> None:
        kernels.rollback(self.S, self.J, self.W)

    def restore(self, snap: dict[str, np.ndarray]) -> None:
        for k, v in snap.items():
            self.arrays[k][...] = v
        self.refresh()

    def run(self, rng: np.random.Generator, max_steps: int, t_start: float, t_end: float,
            patience: int | None, keep_best: bool) -> tuple[int, int]:
        ratio = (t_end / t_start) ** (1.0 / max(max_steps, 1)) if t_start > 0 else 1.0
        steps, accepted, loss = self.kernels.search(
            self.S, self.J, self.C, self.M, self.T, self.W, rng, self.loss, max_steps,
            t_start, ratio, -1 if patience is None else patience, keep_best)
        self.loss = float(loss)
        return int(steps), int(accepted)

    @property
    def comp_loss(self) -> dict[str, float]:  # type: ignore[override]
        return {n: float(v) for n, v in zip(self.order, self.W[1], strict=True)}

    @comp_loss.setter
    def comp_loss(self, value: dict[str, float]) -> None:
        pass  # set up by Problem.__init__; the work arrays hold the losses

    @property
    def comp_values(self) -> dict[str, dict[str, float]]:  # type: ignore[override]
        return {n: self._named(n, row) for n, row in zip(self.order, self.W[0], strict=True)}

    @comp_values.setter
    def comp_values(self, value: dict[str, dict[str, float]]) -> None:
        pass

    def _named(self, name: str, row: np.ndarray) -> dict[str, float]:
        return {k: float(row[i]) for i, k in enumerate(self.slots[name])}

    def values(self) -> dict[str, float]:
        # every component recomputed, as Problem.values does, on copies of the work
        # arrays except the warm starts (which move on, as there)
        T = (np.ones_like(self.T[0]), *self.T[1:7], np.ones_like(self.T[7]))
        W = tuple(w if k == 2 else w.copy() for k, w in enumerate(self.W))
        self.kernels.refresh(self.S, self.J, self.C, T, W)
        values: dict[str, float] = {}
        for name, row in zip(self.order, W[0], strict=True):
            values.update(self._named(name, row))
        return values


def _no_python() -> dict[str, float]:
    raise RuntimeError("a compiled component is computed by its problem's kernels")
