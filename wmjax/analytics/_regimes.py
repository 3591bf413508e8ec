"""Regime timelines of real bars: a 4-state Gaussian HMM (EM, forward-backward) on bar features
at the bar and session scales, with states named by their emission means.

Features per bar (with bars from 5 days or more, time-of-day effects are removed by subtracting
each bar slot's mean):
return / 10 bps; log Parkinson (1980) variance range^2 / (4 ln 2) in bps^2; log volume relative to
its trailing mean over `volume_window_bars` (volume grows over decades); the product of this and
the previous bar's return / 100 bps^2 (a reversal signal); and the mean log variance over the last
`session_bars` bars (the session scale). Naming: the state with the highest session variance is
`volatile`, the lowest `calm`; of the other two, the one with the higher mean return product
(positive autocorrelation) is `trending`, the other `reverting`.

The timeline uses smoothed posteriors p(z_t | all bars): it describes the past (as a timeline
should), it is not a forecast; for a causal label use `probabilities="filtered"`.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np

from wmjax._checks import positive_int, require
from wmjax.data import Bars
from wmjax.market import (
    N_REGIMES,
    REGIME_NAMES,
    Regime,
    RegimeEstimate,
    RegimeScaling,
    regime_estimate,
    regime_scaling,
)
from wmjax.models import HMMFit, fit_hmm, hmm_posteriors

_SESSION_FEATURE, _PRODUCT_FEATURE = 4, 3


def _trailing_mean(x: np.ndarray, window: int, include_current: bool) -> np.ndarray:
    c = np.cumsum(np.r_[0.0, x])
    end = np.arange(1, x.size + 1) if include_current else np.arange(x.size)
    start = np.maximum(end - window, 0)
    n = np.maximum(end - start, 1)
    out = (c[end] - c[start]) / n
    return out if include_current else np.where(end > 0, out, x[0])


def _slot_of_day(times: np.ndarray) -> np.ndarray:
    return (times.astype("datetime64[m]") - times.astype("datetime64[D]")).astype(np.int64)


def _deseason(x: np.ndarray, slot: np.ndarray, n_days: int) -> np.ndarray:
    if n_days < 5:  # too few days to estimate a time-of-day profile
        return x
    _, inverse = np.unique(slot, return_inverse=True)
    means = np.bincount(inverse, x) / np.bincount(inverse)
    return x - means[inverse]


def bar_features(bars: Bars, session_bars: int, volume_window_bars: int = 140) -> np.ndarray:
    """(T, 5) float64 features of `bars` (see the module docstring)."""
    session_bars = positive_int("session_bars", session_bars)
    volume_window_bars = positive_int("volume_window_bars", volume_window_bars)
    require(bars.n >= 10, f"{bars.source or 'bars'}: need at least 10 bars, got {bars.n}")
    log_close = np.log(bars.close)
    ret = 1e4 * np.diff(log_close, prepend=np.log(bars.open[0]))
    var = (1e4 * np.log(bars.high / bars.low)) ** 2 / (4.0 * np.log(2.0))
    slot = _slot_of_day(bars.time)
    n_days = np.unique(bars.time.astype("datetime64[D]")).size
    log_var = _deseason(np.log(var + 1e-2), slot, n_days)
    log_vol = np.log1p(bars.volume_shares)
    rel_vol = log_vol - _trailing_mean(log_vol, volume_window_bars, False)
    rel_vol = _deseason(rel_vol, slot, n_days)
    lagged = np.r_[0.0, ret[:-1]]
    session = _trailing_mean(log_var, session_bars, True)
    return np.stack([ret / 10.0, log_var, rel_vol, ret * lagged / 100.0, session], -1)


@dataclass(frozen=True)
class RegimeTimeline:
    """Regimes of each bar: `labels` (T,) int (`Regime`), `probabilities` (T, 4) in `Regime`
    order, the bar `time`, the per-bar `features`, and the `fit` (HMM states permuted into
    `Regime` order)."""

    time: np.ndarray
    labels: np.ndarray
    probabilities: np.ndarray
    features: np.ndarray
    fit: HMMFit
    source: str

    def latest(self) -> RegimeEstimate:
        """The last bar's regime, ready for `wmjax.market.apply_regime`."""
        return regime_estimate(self.probabilities[-1])


def _name_states(means: np.ndarray) -> np.ndarray:
    """order[r] = the HMM state named regime r."""
    session = means[:, _SESSION_FEATURE]
    volatile, calm = int(np.argmax(session)), int(np.argmin(session))
    rest = [s for s in range(N_REGIMES) if s not in (volatile, calm)]
    trending, reverting = sorted(rest, key=lambda s: -means[s, _PRODUCT_FEATURE])
    order = np.empty(N_REGIMES, np.int64)
    order[[Regime.TRENDING, Regime.REVERTING, Regime.VOLATILE, Regime.CALM]] = (
        trending,
        reverting,
        volatile,
        calm,
    )
    return order


def regime_timeline(
    bars: Bars,
    *,
    key=None,
    session_bars: int | None = None,
    probabilities: str = "smoothed",
    n_restarts: int = 1,
    n_iter: int = 100,
) -> RegimeTimeline:
    """Fit the 4-state HMM to `bars` and label every bar. `session_bars` defaults to the median
    number of bars per calendar day (7 for Lean hourly bars); for a single day of bars pass
    e.g. 30."""
    require(
        probabilities in ("smoothed", "filtered"),
        f"probabilities must be 'smoothed' or 'filtered', got {probabilities!r}",
    )
    if session_bars is None:
        _, per_day = np.unique(bars.time.astype("datetime64[D]"), return_counts=True)
        session_bars = int(np.median(per_day))
    x = bar_features(bars, session_bars)
    key = jax.random.key(0) if key is None else key
    fit = fit_hmm(key, x, N_REGIMES, n_restarts=n_restarts, n_iter=n_iter, tol=1e-6)
    order = _name_states(np.asarray(fit.hmm.means))
    hmm = fit.hmm
    permuted = hmm.replace(
        initial=hmm.initial[order],
        transition=hmm.transition[np.ix_(order, order)],
        means=hmm.means[order],
        covs=hmm.covs[order],
    )
    fit = HMMFit(permuted, fit.history, fit.n_iter_done, fit.log_likelihood)
    post = hmm_posteriors(permuted, x[None])
    probs = (post.smoothed if probabilities == "smoothed" else post.filtered)[0]
    return RegimeTimeline(bars.time, probs.argmax(-1), probs, x, fit, bars.source)


def _runs(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start index, length, label) of each maximal run of equal labels."""
    change = np.flatnonzero(np.diff(labels)) + 1
    starts = np.r_[0, change]
    lengths = np.diff(np.r_[starts, labels.size])
    return starts, lengths, labels[starts]


def timeline_summary(timeline: RegimeTimeline) -> dict:
    """Shares of bars per regime, episodes (count, mean and longest length in bars, with the
    longest one's dates), and the counts of transitions between regimes (from -> to)."""
    labels = np.asarray(timeline.labels)
    starts, lengths, run_labels = _runs(labels)
    episodes = {}
    for r, name in enumerate(REGIME_NAMES):
        mine = run_labels == r
        if not np.any(mine):
            episodes[name] = {"count": 0, "mean_bars": 0.0, "longest_bars": 0}
            continue
        k = int(np.flatnonzero(mine)[np.argmax(lengths[mine])])
        episodes[name] = {
            "count": int(mine.sum()),
            "mean_bars": float(lengths[mine].mean()),
            "longest_bars": int(lengths[k]),
            "longest_start": str(timeline.time[starts[k]]),
            "longest_end": str(timeline.time[starts[k] + lengths[k] - 1]),
        }
    transitions = np.zeros((N_REGIMES, N_REGIMES), np.int64)
    np.add.at(transitions, (run_labels[:-1], run_labels[1:]), 1)
    return {
        "source": timeline.source,
        "bars": int(labels.size),
        "start": str(timeline.time[0]),
        "end": str(timeline.time[-1]),
        "share": {n: float(np.mean(labels == r)) for r, n in enumerate(REGIME_NAMES)},
        "episodes": episodes,
        "transitions": {
            a: {b: int(transitions[i, j]) for j, b in enumerate(REGIME_NAMES) if i != j}
            for i, a in enumerate(REGIME_NAMES)
        },
        "latest": REGIME_NAMES[int(labels[-1])],
    }


def window_share(timeline: RegimeTimeline, regime: Regime, start: str, end: str) -> tuple:
    """(share of bars labelled `regime` in [start, end), share outside it); ISO dates."""
    inside = (timeline.time >= np.datetime64(start)) & (timeline.time < np.datetime64(end))
    require(bool(np.any(inside) and not np.all(inside)), f"[{start}, {end}) must split the bars")
    hit = np.asarray(timeline.labels) == int(regime)
    return float(hit[inside].mean()), float(hit[~inside].mean())


def scaling_from_timeline(timeline: RegimeTimeline) -> RegimeScaling:
    """Per-regime multipliers measured on the timeline's own bars: volatility = sqrt(mean
    Parkinson variance in the regime / mean over all bars); volume = mean relative volume in
    the regime / mean over all bars (a regime never visited gets 1)."""
    x = timeline.features
    var = np.exp(x[:, 1])
    rel_volume = np.exp(x[:, 2])
    labels = np.asarray(timeline.labels)
    vol, volume = np.ones(N_REGIMES), np.ones(N_REGIMES)
    for r in range(N_REGIMES):
        if np.any(labels == r):
            vol[r] = np.sqrt(var[labels == r].mean() / var.mean())
            volume[r] = rel_volume[labels == r].mean() / rel_volume.mean()
    return regime_scaling(vol, volume)
