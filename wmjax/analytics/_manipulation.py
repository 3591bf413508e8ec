"""Manipulation detection on order flow: momentum ignition injected into Hawkes flow at known
times, found by an abnormal-dynamics score under the calibrated Hawkes model and by a supervised
classifier on the same window features.

Flow dimensions are the caller's; an episode of momentum ignition (e.g. Cartea, Jaimungal &
Penalva 2015 §1; SEC's 2010 concept release on equity market structure) is a burst of aggressive
orders in `push_dim` over `burst_s` seconds followed, over the next `burst_s`, by a burst in
`exit_dim` (the manipulator's passive exit on the other side).

The abnormal-dynamics score of a window is the upper Poisson deviance of its counts given the
model's compensator, summed over dimensions: sum_i 2·(N_i·ln(N_i/Lambda_i) - (N_i - Lambda_i))
where N_i > Lambda_i. Under the model, N_i given the past is close to Poisson(Lambda_i) for a
window short against the decays' memory, so a large score means flow the model does not expect.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from wmjax._checks import positive, positive_int, require
from wmjax.hawkes import HawkesEvents, HawkesParams, compensator


@struct.dataclass
class Injected:
    """Events with episodes added, and the episodes' start times (s)."""

    events: HawkesEvents
    starts_s: jax.Array


def inject_momentum_ignition(
    key: jax.Array,
    events: HawkesEvents,
    horizon_s: float,
    n_episodes: int,
    burst_orders: int,
    burst_s: float,
    push_dim: int,
    exit_dim: int,
) -> Injected:
    """Add `n_episodes` episodes at uniform start times in [0, horizon - 2·burst_s]: each has
    `burst_orders` events of `push_dim` uniform over [t0, t0 + burst_s] and `burst_orders`
    events of `exit_dim` uniform over [t0 + burst_s, t0 + 2·burst_s]. The buffer grows by
    2·n_episodes·burst_orders; jit- and vmap-able (static counts)."""
    k_start, k_push, k_exit = jax.random.split(key, 3)
    starts = jnp.sort(jax.random.uniform(k_start, (n_episodes,)) * (horizon_s - 2 * burst_s))
    offsets = jax.random.uniform(k_push, (n_episodes, burst_orders)) * burst_s
    exits = burst_s + jax.random.uniform(k_exit, (n_episodes, burst_orders)) * burst_s
    new_times = (starts[:, None] + jnp.concatenate([offsets, exits], axis=1)).ravel()
    new_marks = jnp.tile(
        jnp.repeat(jnp.array([push_dim, exit_dim], jnp.int32), burst_orders), n_episodes
    )
    times = jnp.concatenate([events.times, new_times.astype(events.times.dtype)])
    marks = jnp.concatenate([events.marks, new_marks])
    valid = jnp.concatenate([events.mask, jnp.ones(new_times.shape, bool)])
    order = jnp.argsort(jnp.where(valid, times, jnp.inf), stable=True)
    count = events.count + new_times.size
    padded = jnp.arange(times.size) >= count
    merged = HawkesEvents(
        times=jnp.where(padded, horizon_s, times[order]),
        marks=jnp.where(padded, 0, marks[order]),
        count=count,
        overflow=events.overflow,
    )
    return Injected(events=merged, starts_s=starts)


def window_counts(events: HawkesEvents, dim: int, horizon_s: float, window_s: float) -> jax.Array:
    """(n_windows, dim) events per window [k·w, (k+1)·w) and dimension."""
    n_windows = round(horizon_s / window_s)
    index = jnp.clip((events.times / window_s).astype(jnp.int32), 0, n_windows - 1)
    flat = index * dim + events.marks
    hits = jnp.zeros(n_windows * dim).at[flat].add(events.mask.astype(jnp.float32))
    return hits.reshape(n_windows, dim)


def window_compensators(
    params: HawkesParams, events: HawkesEvents, horizon_s: float, window_s: float
) -> jax.Array:
    """(n_windows, dim) the model's expected count per window: Lambda_i((k+1)·w) - Lambda_i(k·w)."""
    n_windows = round(horizon_s / window_s)
    edges = jnp.arange(n_windows + 1) * window_s
    cumulative = jax.vmap(lambda t: compensator(params, events, t))(edges)
    return jnp.diff(cumulative, axis=0)


def _poisson_deviance(counts: jax.Array, expected: jax.Array) -> jax.Array:
    """2·(N·ln(N/Lambda) - (N - Lambda)) elementwise (N·ln N = 0 at N = 0)."""
    lam = jnp.maximum(expected, 1e-12)
    n_log = jnp.where(counts > 0, counts * jnp.log(jnp.maximum(counts, 1e-12) / lam), 0.0)
    return 2.0 * (n_log - (counts - lam))


def abnormal_flow_score(counts: jax.Array, expected: jax.Array) -> jax.Array:
    """Upper Poisson deviance summed over dimensions, per window (0 where counts <= expected)."""
    return jnp.where(counts > expected, _poisson_deviance(counts, expected), 0.0).sum(axis=-1)


def episode_labels(starts_s: jax.Array, n_windows: int, window_s: float, span_s: float):
    """(n_windows,) True where an episode [t0, t0 + span_s) covers at least half of the window
    or half of the episode lies in the window."""
    lo = jnp.arange(n_windows)[:, None] * window_s
    overlap = jnp.minimum(lo + window_s, starts_s[None] + span_s) - jnp.maximum(lo, starts_s[None])
    return (overlap >= 0.5 * min(window_s, span_s)).any(axis=1)


def window_features(counts: jax.Array, expected: jax.Array) -> jax.Array:
    """Features per window for the supervised detector: log1p counts, log expected counts and
    the signed root deviance per dimension."""
    signed = jnp.sign(counts - expected) * jnp.sqrt(
        jnp.maximum(_poisson_deviance(counts, expected), 0)
    )
    return jnp.concatenate([jnp.log1p(counts), jnp.log(jnp.maximum(expected, 1e-12)), signed], -1)


@struct.dataclass
class LogisticDetector:
    """A logistic regression on standardised window features."""

    weights: jax.Array
    bias: jax.Array
    mean: jax.Array
    scale: jax.Array

    def score(self, features: jax.Array) -> jax.Array:
        return ((features - self.mean) / self.scale) @ self.weights + self.bias


def fit_logistic_detector(features, labels, steps: int = 500, l2: float = 1e-3) -> LogisticDetector:
    """Fit by Adam on the class-balanced logistic loss (one jitted loop, no host sync per step)."""
    steps = positive_int("steps", steps)
    x = jnp.asarray(features, jnp.float32).reshape(-1, features.shape[-1])
    y = jnp.asarray(labels, jnp.float32).ravel()
    require(0 < float(y.mean()) < 1, "labels must contain both classes to fit a detector")
    mean, scale = x.mean(0), x.std(0) + 1e-6
    weights, bias = _fit_logistic((x - mean) / scale, y, l2, steps=steps)
    return LogisticDetector(weights=weights, bias=bias, mean=mean, scale=scale)


@partial(jax.jit, static_argnames="steps")
def _fit_logistic(z, y, l2, *, steps):
    w_pos, w_neg = 0.5 / y.mean(), 0.5 / (1 - y.mean())

    def loss(p):
        logits = z @ p[0] + p[1]
        per = optax.sigmoid_binary_cross_entropy(logits, y) * jnp.where(y > 0, w_pos, w_neg)
        return per.mean() + l2 * jnp.sum(p[0] ** 2)

    opt = optax.adam(0.05)

    def body(carry, _):
        p, state = carry
        updates, state = opt.update(jax.grad(loss)(p), state)
        return (optax.apply_updates(p, updates), state), None

    p0 = (jnp.zeros(z.shape[1]), jnp.zeros(()))
    (p, _), _ = jax.lax.scan(body, (p0, opt.init(p0)), None, length=steps)
    return p


def roc_auc(scores, labels) -> float:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties counting
    half (the Mann-Whitney statistic)."""
    s = np.asarray(scores, float).ravel()
    y = np.asarray(labels, bool).ravel()
    require(0 < y.sum() < y.size, "roc_auc needs both positive and negative labels")
    order = np.argsort(s, kind="stable")
    ranks = np.empty(s.size)
    sorted_s = s[order]
    # Average ranks over ties.
    _, first, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    n_pos, n_neg = y.sum(), (~y).sum()
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def check_window(horizon_s: float, window_s: float) -> None:
    """Clear errors for windows that do not tile the horizon."""
    positive("window_s", window_s)
    positive("horizon_s", horizon_s)
    ratio = horizon_s / window_s
    require(
        abs(ratio - round(ratio)) < 1e-6 and ratio >= 2,
        f"window_s={window_s} must divide horizon_s={horizon_s} into at least 2 windows",
    )


@partial(
    jax.jit,
    static_argnames=(
        "horizon_s",
        "window_s",
        "n_episodes",
        "burst_orders",
        "burst_s",
        "push_dim",
        "exit_dim",
    ),
)
def _score_days(
    keys,
    days,
    fitted,
    *,
    horizon_s,
    window_s,
    n_episodes,
    burst_orders,
    burst_s,
    push_dim,
    exit_dim,
):
    """Window counts and model compensators of each day without and with injected episodes,
    and the episode labels; vmapped over days, compiled once per configuration."""

    def one_day(k, events):
        injected = inject_momentum_ignition(
            k, events, horizon_s, n_episodes, burst_orders, burst_s, push_dim, exit_dim
        )
        counts, expected = [], []
        for ev in (events, injected.events):
            counts.append(window_counts(ev, fitted.dim, horizon_s, window_s))
            expected.append(window_compensators(fitted, ev, horizon_s, window_s))
        labels = episode_labels(injected.starts_s, counts[0].shape[0], window_s, 2 * burst_s)
        return counts, expected, labels

    return jax.vmap(one_day)(keys, days)


def detection_study(
    key: jax.Array,
    params: HawkesParams,
    horizon_s: float,
    *,
    train_days: int = 6,
    test_days: int = 6,
    window_s: float = 10.0,
    n_episodes: int = 4,
    burst_orders: int = 8,
    burst_s: float = 5.0,
    push_dim: int = 0,
    exit_dim: int = 1,
    capacity: int = 8192,
    target_recall: float = 0.9,
) -> dict:
    """Simulate clean days of `params` flow, calibrate a Hawkes model by MLE on one clean day,
    inject episodes into the other days and score every window.

    The supervised detector and the alarm threshold are fitted on the training days; the ROC
    AUCs, the recall at that threshold and the false alarms per clean day are measured on the
    held-out days. Returns a dict of those figures and the fitted params.
    """
    from wmjax.calibrate import fit_mle
    from wmjax.hawkes import simulate

    check_window(horizon_s, window_s)
    for name, value in (("train_days", train_days), ("test_days", test_days)):
        positive_int(name, value)
    n_days = 1 + train_days + test_days
    k_flow, k_inject = jax.random.split(key)
    days = jax.vmap(lambda k: simulate(k, params, horizon_s, capacity, throw=False))(
        jax.random.split(k_flow, n_days)
    )
    require(
        not bool(days.overflow.any()),
        f"capacity={capacity} is too small for {horizon_s} s days of this flow; increase it",
    )
    first = jax.tree.map(lambda x: x[0], days)
    fitted = fit_mle(
        first, horizon_s, params.dim, beta_structure="scalar", std_errors=False, n_starts=1
    ).params
    rest = jax.tree.map(lambda x: x[1:], days)

    counts, expected, labels = _score_days(
        jax.random.split(k_inject, n_days - 1),
        rest,
        fitted,
        horizon_s=horizon_s,
        window_s=window_s,
        n_episodes=n_episodes,
        burst_orders=burst_orders,
        burst_s=burst_s,
        push_dim=push_dim,
        exit_dim=exit_dim,
    )
    clean_score = np.asarray(abnormal_flow_score(counts[0], expected[0]))
    dirty_score = np.asarray(abnormal_flow_score(counts[1], expected[1]))
    features = window_features(counts[1], expected[1])
    clean_features = window_features(counts[0], expected[0])
    labels = np.asarray(labels)
    train, test = slice(0, train_days), slice(train_days, None)
    detector = fit_logistic_detector(features[train], labels[train])
    supervised = np.asarray(detector.score(features))
    clean_supervised = np.asarray(detector.score(clean_features))
    out = {"fitted_params": fitted, "windows_per_day": int(labels.shape[1])}
    for name, dirty, clean in (
        ("score", dirty_score, clean_score),
        ("classifier", supervised, clean_supervised),
    ):
        threshold = np.quantile(dirty[train][labels[train]], 1 - target_recall)
        out[name] = {
            "roc_auc": roc_auc(dirty[test], labels[test]),
            "recall": float((dirty[test][labels[test]] >= threshold).mean()),
            "false_alarms_per_clean_day": float((clean[test] >= threshold).sum(axis=1).mean()),
        }
    return out
