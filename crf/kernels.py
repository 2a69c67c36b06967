"""Compiled kernels of the calibration search: statistics, distances and the search loop.

Why numba, and why this way
---------------------------
The calibration search (:mod:`crf.calibrate`) makes ~276,000 proposals for the published
study, each a handful of scalar moves and a few statistics of ~200 patients. In Python
and numpy the arithmetic is nothing: the time is call overhead (dozens of small numpy
calls, dicts and random draws per proposal). A vectorised loss cannot remove that,
since the proposals are sequential; compiling the whole proposal-evaluation-acceptance
loop can. numba compiles it from Python source (no C toolchain on the machines, wheels
on PyPI for Python 3.11), draws from the *same* ``numpy.random.Generator`` (numba's
``Generator.random`` and ``Generator.integers`` consume the bit generator exactly as
numpy does, checked by the tests) and caches the machine code in ``__pycache__``.

The calibrated data must stay byte-identical, and the search follows a different path
as soon as one loss differs in its last bit, so every float is computed as numpy and
CPython compute it:

* no ``fastmath`` anywhere (it would allow reassociation and contraction);
  ``error_model="numpy"`` gives IEEE results (inf, NaN) where Python would too;
* sums are numpy's pairwise summation (:func:`psum`, the exact blocking of
  ``numpy.add.reduce``) where numpy sums contiguous values, and left to right where it
  does not (the subgroup scores: numpy's matrix there is Fortran-ordered, so its row
  sums are sequential); cumulative sums and products run left to right as numpy's do;
  the Cox information is ``numpy.dot`` (numba calls the same BLAS ``ddot``);
* orders are numpy's stable ``argsort`` (ties by position), which is unique, so any
  stable sort gives it: each component keeps its last order and re-sorts it by
  insertion (:func:`order_of`), which is linear after a move of a few patients;
* scalar ``exp``/``log``/``log1p``/``pow`` are the C library's, as in CPython's ``math``;
* the normal CDF is scipy's own compiled ``ndtr`` (bound by address, not reimplemented);
* numpy's ``log`` of an *array* uses its own SIMD code (AVX-512 here), which differs from
  the C library's ``log`` in the last bit for ~0.3 % of arguments. The Kaplan-Meier limits
  use it only to compare a z statistic with 1.96, so the kernel computes with the C
  library's ``log`` and, when any statistic lies within 1e-8 of the critical value (far
  more than a few ulps can move it), recomputes that curve with the numpy reference
  (:func:`crf.fastsurv.km_quantile`). The published study never needs it.

The tests compare every kernel with its numpy reference bit for bit, and the calibrated
study's files with a recorded hash.

Problems
--------
A compiled calibration problem is a set of arrays: the state ``S`` (one int64 row per
per-patient field, changed in place), ``J`` (a second int64 matrix: PFS's window
jitter), constants ``C`` (a tuple of arrays the problem's kernels read), mode
parameters ``M`` and the component table ``T`` and work arrays ``W`` (see
:func:`work_arrays`) built by :class:`crf.calibrate.CompiledProblem`. The problem's
module supplies two compiled functions, ``move(S, J, C, M, W, rng)`` (changes the state
through :func:`put`, returns the bit mask of the components it affects, or -1) and
``compute(c, S, J, C, out, W)`` (component ``c``'s values into ``out``, its penalty in
``out[0]``), and thin cached wrappers that hand them to the generic loops here (a
compiled function can only be cached when the functions it calls are fixed at compile
time, hence the wrappers). numba caches by source file and does not see that an
endpoint's cached loop depends on this file: :func:`_drop_stale_caches` does.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from pathlib import Path

import llvmlite.binding as llvm
import numpy as np
from numba import njit, objmode, typeof, types
from numba.extending import get_cython_function_address

from crf import fastsurv


def _drop_stale_caches() -> None:
    """Remove numba's cached machine code when any compiled source has changed.

    numba checks only the file a cached function is defined in, not the files of the
    functions it calls: an endpoint's search loop cached before an edit of this module
    would go on running the old statistics (or crash). A stamp of all the compiled
    sources sits beside the caches; a different stamp drops them. Best effort: a
    read-only installation keeps numba's own behaviour.
    """
    here = Path(__file__).parent
    sources = [Path(__file__), *sorted((here / "endpoints").glob("*.py"))]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()
    for folder in (here / "__pycache__", here / "endpoints" / "__pycache__"):
        stamp = folder / "numba-sources.sha256"
        try:
            if stamp.is_file() and stamp.read_text() == digest:
                continue
            for f in [*folder.glob("*.nbi"), *folder.glob("*.nbc")]:
                f.unlink(missing_ok=True)
            folder.mkdir(exist_ok=True)
            stamp.write_text(digest)
        except OSError:
            pass


_drop_stale_caches()

# every kernel: cached machine code, IEEE arithmetic (division by zero gives inf/NaN
# as numpy does, instead of raising)
JIT = {"cache": True, "error_model": "numpy"}

llvm.add_symbol("trialflow_scipy_ndtr",
                get_cython_function_address("scipy.special.cython_special",
                                            "__pyx_fuse_1ndtr"))
_ndtr = types.ExternalFunction("trialflow_scipy_ndtr", types.float64(types.float64))

Z95 = fastsurv.Z95
Z90 = fastsurv.Z90
MONTH = 30.4375
STEP = 0.5
EDGE = 1e-7
_TOL = 1e-12
_SPAN = 1.0e6
_G_HALF = math.log(-math.log(0.5))
# a KM z statistic this close to the critical value is recomputed with numpy's log
KM_GUARD = 1e-8

# target kinds of the component table
T_NONE, T_NAN, T_VALUE = 0, 1, 2


@njit(**JIT)
def ndtr(x: float) -> float:
    """scipy.special.ndtr (the same compiled function)."""
    return _ndtr(x)


# ------------------------------------------------------------------------- arithmetic


@njit(types.float64(types.float64[::1], types.int64, types.int64), **JIT)
def _block(a, lo, n):
    """numpy's pairwise sum of ``a[lo:lo + n]`` for ``n`` <= 128 (one unrolled block)."""
    if n < 8:
        res = -0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0 = a[lo]
    r1 = a[lo + 1]
    r2 = a[lo + 2]
    r3 = a[lo + 3]
    r4 = a[lo + 4]
    r5 = a[lo + 5]
    r6 = a[lo + 6]
    r7 = a[lo + 7]
    i = 8
    m = n - (n % 8)
    while i < m:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit(**JIT)
def psum(a: np.ndarray) -> float:
    """``float(a.sum())`` for a 1-D float64 array, bit for bit.

    numpy sums blocks of at most 128 values with eight accumulators and adds the blocks
    pairwise (halves rounded down to a multiple of 8). The halving is a recursion in
    numpy; here it is an explicit stack, since numba cannot cache recursive functions.
    """
    n = a.size
    if n <= 128:
        return 0.0 + _block(a, 0, n)
    seg_lo = np.empty(64, dtype=np.int64)
    seg_n = np.empty(64, dtype=np.int64)
    stage = np.zeros(64, dtype=np.int64)   # 0 new, 1 left pending, 2 right pending
    left = np.empty(64)
    seg_lo[0] = 0
    seg_n[0] = n
    top = 0
    result = 0.0
    while top >= 0:
        lo, m = seg_lo[top], seg_n[top]
        if stage[top] == 0 and m > 128:
            half = m // 2
            half -= half % 8
            stage[top] = 1
            top += 1
            seg_lo[top] = lo
            seg_n[top] = half
            stage[top] = 0
            continue
        r = _block(a, lo, m)
        top -= 1
        # hand the value up until a parent still needs its right half
        while top >= 0:
            if stage[top] == 1:
                left[top] = r
                stage[top] = 2
                half = seg_n[top] // 2
                half -= half % 8
                top += 1
                seg_lo[top] = seg_lo[top - 1] + half
                seg_n[top] = seg_n[top - 1] - half
                stage[top] = 0
                break
            r = left[top] + r
            top -= 1
        if top < 0:
            result = r
    return 0.0 + result


@njit(**JIT)
def rounded(x: float, decimals: int) -> float:
    """:func:`crf.calibrate.rounded` (round half up; NaN stays NaN)."""
    if not math.isfinite(x):
        return math.nan
    scale = 10.0 ** float(decimals)
    scaled = abs(x) * scale
    whole = math.floor(scaled)
    tol = scaled * 1e-14
    if 1e-6 < tol:
        tol = 1e-6
    up = 1.0 if scaled - whole >= 0.5 - tol else 0.0
    return math.copysign((whole + up) / scale, x) + 0.0


@njit(**JIT)
def distance(x: float, kind: int, target: float, decimals: int, widen: float) -> float:
    """:func:`crf.calibrate.distance`; ``kind`` says whether the target is None or NaN."""
    if kind == T_NONE:
        return 0.0
    if kind == T_NAN:
        return 0.0 if not math.isfinite(x) else 3.0
    if not math.isfinite(x):
        return 8.0
    gap = abs(x - target) * 10.0 ** float(decimals) / widen
    if gap <= 0.5 - EDGE and (widen != 1.0 or rounded(x, decimals) == rounded(target,
                                                                              decimals)):
        return 0.0
    g = gap - 0.5
    if 0.0 > g:
        g = 0.0
    return STEP + math.log1p(g)


@njit(**JIT)
def se_guide(se: float, lo: float, hi: float) -> float:
    """:func:`crf.calibrate.se_guide`."""
    if lo <= se <= hi:
        return 0.0
    if not math.isfinite(se):
        return 8.0
    half = (hi - lo) / 2.0
    if 1e-12 > half:
        half = 1e-12
    return STEP + math.log1p(((lo - se) if se < lo else (se - hi)) / half)


@njit(**JIT)
def slack(temp: float, u: float) -> float:
    """:func:`crf.calibrate.slack`."""
    if temp <= 0.0 or u >= 1.0:
        return 0.0
    if u <= 0.0:
        return math.inf
    return -temp * math.log(u)


# ------------------------------------------------------------------------- statistics


@njit(**JIT)
def _km_reference(time, event):
    with objmode(out="UniTuple(float64, 3)"):
        out = fastsurv.km_quantile(time, event.astype(bool), 0.5, Z95)
        out = (float(out[0]), float(out[1]), float(out[2]))
    return out


@njit(**JIT)
def stable_order(key: np.ndarray, perm: np.ndarray) -> None:
    """Sort ``perm``, a permutation of ``0..key.size - 1``, so that ``key[perm]`` ascends,
    ties in position order: ``np.argsort(key, kind="stable")``, in place.

    An insertion sort, linear when ``perm`` is nearly sorted already: the search keeps
    each component's order from its previous evaluation, and a move changes a few times.
    """
    for p in range(1, perm.size):
        v = perm[p]
        kv = key[v]
        q = p - 1
        while q >= 0 and (key[perm[q]] > kv or (key[perm[q]] == kv and perm[q] > v)):
            perm[q + 1] = perm[q]
            q -= 1
        perm[q + 1] = v


@njit(**JIT)
def order_of(W: tuple, slot: int, key: np.ndarray) -> np.ndarray:
    """The stable ascending order of ``key``, kept in the work arrays between calls."""
    m = key.size
    perms, sizes = W[8], W[9]
    perm = perms[slot, :m]
    if sizes[slot] != m:
        for i in range(m):
            perm[i] = i
        sizes[slot] = m
    stable_order(key, perm)
    return perm


@njit(**JIT)
def km_median(time: np.ndarray, event: np.ndarray, guard: float = KM_GUARD
              ) -> tuple[float, float, float]:
    """:func:`crf.fastsurv.km_quantile` for the median (estimate, lower, upper limit).

    ``time`` is float64, ``event`` 0/1 integers.
    """
    return km_median_sorted(time, event, np.argsort(time, kind="mergesort"), guard)


@njit(**JIT)
def km_median_sorted(time: np.ndarray, event: np.ndarray, order: np.ndarray,
                     guard: float = KM_GUARD) -> tuple[float, float, float]:
    """:func:`km_median` given an ascending order of ``time`` (any order of ties)."""
    n = time.size
    et = np.empty(n)
    d = np.empty(n)
    n_risk = np.empty(n)
    m = 0
    p = 0
    # distinct event times, their events, and how many times are at or after them
    while p < n:
        t = time[order[p]]
        q = p
        events = 0
        while q < n and time[order[q]] == t:
            if event[order[q]]:
                events += 1
            q += 1
        if events:
            et[m] = t
            d[m] = float(events)
            n_risk[m] = float(n - p)
            m += 1
        p = q
    if m == 0:
        return (math.nan, math.nan, math.nan)
    s = np.empty(m)
    acc = 1.0
    for j in range(m):
        f = 1.0 - d[j] / n_risk[j]
        acc = f if j == 0 else acc * f
        s[j] = acc
    target = 0.5
    est = math.nan
    for j in range(m):
        if s[j] <= target + _TOL:
            if abs(s[j] - target) <= _TOL:
                est = (et[j] + et[j + 1]) / 2.0 if j + 1 < m else math.nan
            else:
                est = et[j]
            break
    gw = 0.0
    first = -1
    last = -1
    for j in range(m):
        term = d[j] / (n_risk[j] * (n_risk[j] - d[j]))
        gw = term if j == 0 else gw + term
        log_s = math.log(s[j])
        stat = (math.log(-log_s) - _G_HALF) * abs(log_s) / math.sqrt(gw)
        a = abs(stat)
        if abs(a - Z95) < guard:
            return _km_reference(time, event)
        if a <= Z95:
            if first < 0:
                first = j
            last = j
    if first < 0:
        return (est, math.nan, math.nan)
    after = last + 1
    return (est, et[first], et[after] if after < m else math.nan)


@njit(**JIT)
def km_months(time: np.ndarray, event: np.ndarray, order: np.ndarray, out: np.ndarray,
              at: int) -> None:
    """Median and limits in months into ``out[at:at + 3]`` (``km_arm_stats``), given an
    ascending order of ``time``."""
    m, lo, hi = km_median_sorted(time, event, order)
    out[at] = m / MONTH
    out[at + 1] = lo / MONTH
    out[at + 2] = hi / MONTH


_F8 = types.float64[::1]
_I8 = types.int64[::1]


@njit(**JIT)
def sort_key(time: np.ndarray, strata: np.ndarray, stratified: bool) -> np.ndarray:
    """The event set's sort key: time, within stratum when ``stratified``."""
    if not stratified:
        return time
    key = np.empty(time.size)
    for i in range(time.size):
        key[i] = strata[i] * _SPAN + time[i]
    return key


@njit(**JIT)
def event_set_sorted(key: np.ndarray, event: np.ndarray, arm: np.ndarray, order: np.ndarray,
                     stratified: bool) -> tuple[np.ndarray, ...]:
    """:func:`event_set` given the stable ascending order of its ``key``.

    The same numbers from linear passes over the sorted keys: ties and stratum ends are
    runs (numpy finds them with binary searches).
    """
    size = key.size
    ks = key[order]
    c1 = np.zeros(size + 1)
    ce = np.zeros(size + 1)
    ne = 0
    for p in range(size):
        i = order[p]
        c1[p + 1] = c1[p] + (1.0 if arm[i] else 0.0)
        ce[p + 1] = ce[p] + (1.0 if event[i] else 0.0)
        if event[i]:
            ne += 1
    # first and one-past-last position of each position's tie run; end of its stratum
    first = np.empty(size, dtype=np.int64)
    last = np.empty(size, dtype=np.int64)
    end = np.empty(size, dtype=np.int64)
    for p in range(size):
        first[p] = p if p == 0 or ks[p] != ks[p - 1] else first[p - 1]
    for p in range(size - 1, -1, -1):
        last[p] = p + 1 if p == size - 1 or ks[p] != ks[p + 1] else last[p + 1]
    if stratified:
        q = 0
        for p in range(size):
            bound = (math.floor(ks[p] / _SPAN) + 1.0) * _SPAN
            while q < size and ks[q] < bound:
                q += 1
            end[p] = q
    else:
        end[:] = size
    n = np.empty(ne)
    n1 = np.empty(ne)
    d = np.empty(ne)
    x = np.empty(ne)
    e = 0
    for p in range(size):
        i = order[p]
        if not event[i]:
            continue
        n[e] = float(end[p] - first[p])
        n1[e] = c1[end[p]] - c1[first[p]]
        d[e] = ce[last[p]] - ce[first[p]]
        x[e] = 1.0 if arm[i] else 0.0
        e += 1
    return n, n1, d, x


@njit(types.UniTuple(_F8, 4)(_F8, _I8, _I8, _F8, types.boolean), **JIT)
def event_set(time: np.ndarray, event: np.ndarray, arm: np.ndarray, strata: np.ndarray,
              stratified: bool) -> tuple[np.ndarray, ...]:
    """:func:`crf.fastsurv.event_set`: (n, n1, d, x) per event, in sorted order."""
    key = sort_key(time, strata, stratified)
    return event_set_sorted(key, event, arm, np.argsort(key, kind="mergesort"), stratified)


@njit(**JIT)
def cox_fit(n: np.ndarray, n1: np.ndarray, x: np.ndarray, beta0: float
            ) -> tuple[float, float]:
    """:func:`crf.fastsurv.cox_fit` on an event set: (log HR, se), NaNs when none."""
    if x.size == 0:
        return (math.nan, math.nan)
    n0 = n - n1
    obs = psum(x)
    beta = beta0 if math.isfinite(beta0) else 0.0
    for _ in range(50):
        w = n1 * math.exp(beta)
        prob = w / (n0 + w)
        info = np.dot(prob, 1.0 - prob)
        if info <= 1e-300:
            return (math.nan, math.nan)
        step = (obs - psum(prob)) / info
        step = step if step < 2.0 else 2.0
        step = step if step > -2.0 else -2.0
        beta += step
        if abs(beta) > 30.0:
            return (math.nan, math.nan)
        if abs(step) < 1e-11:
            break
    w = n1 * math.exp(beta)
    prob = w / (n0 + w)
    info = np.dot(prob, 1.0 - prob)
    if info <= 1e-300:
        return (math.nan, math.nan)
    return (beta, 1.0 / math.sqrt(info))


@njit(**JIT)
def logrank_stat(n: np.ndarray, n1: np.ndarray, d: np.ndarray, x: np.ndarray) -> float:
    """:func:`crf.fastsurv.logrank_stat` on an event set."""
    e1 = psum(n1 / n)
    v = psum(n1 * (n - n1) * (n - d) / (n * n * np.maximum(n - 1.0, 1.0)))
    if v <= 0:
        return math.nan
    return (psum(x) - e1) / math.sqrt(v)


@njit(**JIT)
def cox_values(n: np.ndarray, n1: np.ndarray, x: np.ndarray, beta0: float,
               guide: np.ndarray, out: np.ndarray, at: int) -> float:
    """HR, upper one-sided 95 % limit, two-sided limits and se of a Cox fit into
    ``out[at:at + 5]``, the se guidance penalty into ``out[0]``; returns the new warm
    start (``_cox_values`` of the endpoint modules). ``guide`` is (windows, 2)."""
    b, se = cox_fit(n, n1, x, beta0)
    if not math.isfinite(b):
        for k in range(5):
            out[at + k] = math.nan
        out[0] = 8.0
        return beta0
    out[at] = math.exp(b)
    out[at + 1] = math.exp(b + Z90 * se)
    out[at + 2] = math.exp(b - Z95 * se)
    out[at + 3] = math.exp(b + Z95 * se)
    out[at + 4] = se
    pen = 0.0
    for w in range(guide.shape[0]):
        pen += se_guide(se, guide[w, 0], guide[w, 1])
    out[0] = pen
    return b


@njit(**JIT)
def group_scores(time: np.ndarray, event: np.ndarray, arm: np.ndarray, members: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`crf.fastsurv.group_scores`: Cox score and information at 0 per subgroup."""
    return group_scores_sorted(time, event, arm, members, np.argsort(time, kind="mergesort"))


@njit(**JIT)
def group_scores_sorted(time: np.ndarray, event: np.ndarray, arm: np.ndarray,
                        members: np.ndarray, order: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`group_scores` given the stable ascending order of ``time``."""
    size = time.size
    ts = time[order]
    ne = 0
    for p in range(size):
        if event[order[p]]:
            ne += 1
    first = np.empty(ne, dtype=np.int64)
    xe = np.empty(ne)
    epos = np.empty(ne, dtype=np.int64)
    e = 0
    run = 0
    for p in range(size):
        i = order[p]
        if p > 0 and ts[p] != ts[p - 1]:
            run = p
        if event[i]:
            first[e] = run
            xe[e] = 1.0 if arm[i] else 0.0
            epos[e] = p
            e += 1
    g_n = members.shape[0]
    score = np.empty(g_n)
    info = np.empty(g_n)
    at = np.empty(size)
    at1 = np.empty(size)
    for g in range(g_n):
        acc = 0.0
        acc1 = 0.0
        for p in range(size - 1, -1, -1):
            i = order[p]
            mv = 1.0 if members[g, i] else 0.0
            acc += mv
            acc1 += mv * (1.0 if arm[i] else 0.0)
            at[p] = acc
            at1[p] = acc1
        # numpy's event columns of the membership matrix come out in Fortran order, so
        # its row sums run left to right, not pairwise
        s = 0.0
        f = 0.0
        for k in range(ne):
            nn = at[first[k]]
            prob = at1[first[k]] / (nn if nn > 1.0 else 1.0)
            me = 1.0 if members[g, order[epos[k]]] else 0.0
            s += me * (xe[k] - prob)
            f += me * prob * (1.0 - prob)
        score[g] = s
        info[g] = f
    return score, info


@njit(**JIT)
def percentile5(s: np.ndarray, p: float) -> float:
    """:func:`crf.fastsurv.percentile5` of an ascending array."""
    n = s.size
    np_ = n * p
    j = math.floor(np_ + 1e-9)
    if abs(np_ - round(np_)) <= 1e-9:
        j = int(round(np_))
        return (s[max(j - 1, 0)] + s[min(j, n - 1)]) / 2.0
    return s[min(j, n - 1)]


@njit(**JIT)
def rank_sum_p(a: np.ndarray, b: np.ndarray) -> float:
    """:func:`crf.fastsurv.rank_sum_p` (Wilcoxon, normal approximation)."""
    n1 = a.size
    n2 = b.size
    n = n1 + n2
    pool = np.empty(n)
    pool[:n1] = a
    pool[n1:] = b
    s = np.sort(pool)
    ranks = np.empty(n1)
    for i in range(n1):
        lo = np.searchsorted(s, a[i])
        hi = np.searchsorted(s, a[i], side="right")
        ranks[i] = (lo + hi + 1) / 2.0
    rank_sum = psum(ranks)
    runs = np.empty(n)
    m = 0
    start = 0
    for i in range(1, n + 1):
        if i == n or s[i] != s[i - 1]:
            t = float(i - start)
            runs[m] = t ** 3.0 - t
            m += 1
            start = i
    var = (n1 * n2) / 12.0 * ((n + 1) - psum(runs[:m]) / (n * (n - 1)))
    if var <= 0:
        return 1.0
    diff = rank_sum - n1 * (n + 1) / 2.0
    corr = math.copysign(min(0.5, abs(diff)), diff)
    return 2.0 * ndtr(-abs(diff - corr) / math.sqrt(var))


# ------------------------------------------------------------------------- the problem
# Component table T = (active, lo, hi, slot, kind, target, decimals, loose): component c
# sums the distances of items lo[c]:hi[c] (value in column slot of its row) plus its
# penalty, column 0. Work arrays W = (vals, loss, beta, pvals, ploss, pending, undo,
# counters): counters[0] is the length of the undo log, counters[1] the last mate of a
# swap (PFS). The undo log holds (matrix, row, column, old value), matrix 0 = S, 1 = J.


def work_arrays(n_comp: int, width: int, n: int = 1, undo: int = 4096
                ) -> tuple[np.ndarray, ...]:
    """The work arrays ``W`` of a problem with ``n_comp`` components of ``width`` values
    over ``n`` patients: values, losses, Cox warm starts; pending values, losses and
    flags; the undo log and its counters; each component's last sort order and its size
    (see :func:`order_of`)."""
    return (np.zeros((n_comp, width)), np.zeros(n_comp), np.zeros(n_comp),
            np.zeros((n_comp, width)), np.zeros(n_comp), np.zeros(n_comp, np.bool_),
            np.zeros((undo, 4), dtype=np.int64), np.zeros(2, dtype=np.int64),
            np.zeros((n_comp, n), dtype=np.int64), np.zeros(n_comp, dtype=np.int64))


# explicit signatures: calls with constant rows and values would otherwise compile one
# specialisation per literal (13 for put)
_STATE = typeof(np.zeros((1, 1), dtype=np.int64))
_PUT = types.void(_STATE, typeof(work_arrays(1, 1)), types.int64, types.int64, types.int64)


@njit(_PUT, **JIT)
def put(S: np.ndarray, W: tuple, row: int, col: int, value: int) -> None:
    """``S[row, col] = value``, remembered for undo."""
    undo, ctr = W[6], W[7]
    u = ctr[0]
    undo[u, 0] = 0
    undo[u, 1] = row
    undo[u, 2] = col
    undo[u, 3] = S[row, col]
    ctr[0] = u + 1
    S[row, col] = value


@njit(_PUT, **JIT)
def put_j(J: np.ndarray, W: tuple, row: int, col: int, value: int) -> None:
    """``J[row, col] = value``, remembered for undo."""
    undo, ctr = W[6], W[7]
    u = ctr[0]
    undo[u, 0] = 1
    undo[u, 1] = row
    undo[u, 2] = col
    undo[u, 3] = J[row, col]
    ctr[0] = u + 1
    J[row, col] = value


@njit(**JIT)
def rollback(S: np.ndarray, J: np.ndarray, W: tuple) -> None:
    """Undo the move; forget the pending component values."""
    undo, ctr, pending = W[6], W[7], W[5]
    for u in range(ctr[0] - 1, -1, -1):
        if undo[u, 0] == 0:
            S[undo[u, 1], undo[u, 2]] = undo[u, 3]
        else:
            J[undo[u, 1], undo[u, 2]] = undo[u, 3]
    ctr[0] = 0
    pending[:] = False


@njit(**JIT)
def component_loss(T: tuple, c: int, row: np.ndarray) -> float:
    """Summed distances of component ``c``'s targets for its values ``row``."""
    lo, hi, slot, kind, target, dec, loose = T[1], T[2], T[3], T[4], T[5], T[6], T[7]
    total = 0.0
    for it in range(lo[c], hi[c]):
        total += distance(row[slot[it]], kind[it], target[it], dec[it], loose[it])
    return total + row[0]


@njit(inline="always", **JIT)
def refresh(compute: Callable, S: np.ndarray, J: np.ndarray, C: tuple, T: tuple,
            W: tuple) -> float:
    """Recompute every active component; return the loss."""
    active = T[0]
    vals, loss = W[0], W[1]
    for c in range(active.size):
        if active[c]:
            vals[c, :] = 0.0
            compute(c, S, J, C, vals[c], W)
            loss[c] = component_loss(T, c, vals[c])
    total = 0.0
    for c in range(active.size):
        if active[c]:
            total += loss[c]
    return total


@njit(inline="always", **JIT)
def evaluate(compute: Callable, S: np.ndarray, J: np.ndarray, C: tuple, T: tuple, W: tuple,
             dirty: int, bound: float) -> float:
    """Loss after a move with ``dirty`` components (a bit mask); inf once above bound."""
    active = T[0]
    loss, pvals, ploss, pending = W[1], W[3], W[4], W[5]
    total = 0.0
    for c in range(active.size):
        if active[c] and not (dirty >> c) & 1:
            total += loss[c]
    if total > bound:
        return math.inf
    for c in range(active.size):
        if active[c] and (dirty >> c) & 1:
            pvals[c, :] = 0.0
            compute(c, S, J, C, pvals[c], W)
            lc = component_loss(T, c, pvals[c])
            ploss[c] = lc
            pending[c] = True
            total += lc
            if total > bound:
                return math.inf
    return total


@njit(**JIT)
def commit(W: tuple) -> None:
    """Keep the move: pending component values become current."""
    vals, loss, pvals, ploss, pending, ctr = W[0], W[1], W[3], W[4], W[5], W[7]
    for c in range(pending.size):
        if pending[c]:
            loss[c] = ploss[c]
            vals[c, :] = pvals[c, :]
            pending[c] = False
    ctr[0] = 0


@njit(inline="always", **JIT)
def propose(move: Callable, S: np.ndarray, J: np.ndarray, C: tuple, M: np.ndarray, T: tuple,
            W: tuple, rng: np.random.Generator) -> int:
    """Make a move; the active components it affects (bit mask), or -1 when none."""
    dirty = move(S, J, C, M, W, rng)
    if dirty < 0:
        rollback(S, J, W)
        return -1
    mask = 0
    for c in range(T[0].size):
        if T[0][c] and (dirty >> c) & 1:
            mask |= 1 << c
    return mask


@njit(inline="always", **JIT)
def search(move: Callable, compute: Callable, S: np.ndarray, J: np.ndarray, C: tuple,
           M: np.ndarray, T: tuple, W: tuple, rng: np.random.Generator, loss: float,
           max_steps: int, t_start: float, ratio: float, patience: int,
           keep_best: bool) -> tuple[int, int, float]:
    """The loop of :func:`crf.calibrate.search`, step for step.

    ``patience`` < 0 means none. Returns (steps, accepted, loss).
    """
    cur = loss
    best = cur
    best_s = S.copy()
    best_j = J.copy()
    temp = t_start
    steps = 0
    accepted = 0
    last_best = 0
    for step in range(1, max_steps + 1):
        steps = step
        if (keep_best and best == 0.0) or (patience >= 0 and step - last_best > patience):
            steps = step - 1
            break
        temp *= ratio
        dirty = propose(move, S, J, C, M, T, W, rng)
        if dirty < 0:
            continue
        u = rng.random() if temp > 0 else 1.0
        bound = cur + slack(temp, u)
        new = evaluate(compute, S, J, C, T, W, dirty, bound)
        if new <= bound:
            commit(W)
            cur = new
            accepted += 1
            if cur < best:
                best = cur
                last_best = step
                if keep_best:
                    best_s[...] = S
                    best_j[...] = J
        else:
            rollback(S, J, W)
    if keep_best and cur != best:
        S[...] = best_s
        J[...] = best_j
        cur = refresh(compute, S, J, C, T, W)
    return steps, accepted, cur
