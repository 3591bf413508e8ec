"""Spoofing and layering detection on order streams, simulated or real.

A spoofing episode (e.g. Cartea, Jaimungal & Wang 2020, "Spoofing and price manipulation in
order-driven markets"; the Dodd-Frank Act §747 definition: bidding or offering with the intent
to cancel before execution) is injected at a known time t0 on a side X: one large limit order of
`spoof_shares` placed `depth_ticks` behind X's best quote, `n_trades` market orders hitting side
X while it rests (the spoofer trading the other way against the liquidity it attracted), and its
cancellation at t0 + `hold_s`, before any fill.

Streams (`OrderStream`) are built the same way from the Hawkes book flow (`stream_from_flow`) and
from LOBSTER messages (`stream_from_lobster`). The window score is
max over sides of min(A, C) with A the log size of the largest limit order placed at least one
tick behind the touch in this or the previous window, C that of the largest cancellation at
least one tick behind the touch in this window, both in units of the stream's median limit-order
size: a large order that appears away from the touch and goes away soon after.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

LIMIT, CANCEL, MARKET = 0, 1, 2  # `wmjax.market.BookEvent` values
BID, ASK = 0, 1  # `wmjax.market.Side` values
N_FEATURES = 5  # per side


@struct.dataclass
class OrderStream:
    """Order events, time-ordered (arrays (n,)).

    Attributes:
        times_s: seconds from the start of the day.
        kind: 0 limit order, 1 cancellation, 2 market order (execution).
        side: 0 bid, 1 ask: the side a limit order or cancellation rests on, the side a market
            order hits.
        size_shares: shares.
        depth_ticks: ticks behind the same side's best quote just before the event (0 at the
            touch, < 0 inside it).
        valid: real events (False for padding).
    """

    times_s: jax.Array
    kind: jax.Array
    side: jax.Array
    size_shares: jax.Array
    depth_ticks: jax.Array
    valid: jax.Array


def _depth(side, price, bid_before, ask_before):
    return jnp.where(side == BID, bid_before - price, price - ask_before)


def stream_from_flow(path, bid0_ticks, ask0_ticks) -> OrderStream:
    """The `OrderStream` of a `wmjax.market.FlowPath` run from a book whose best quotes were
    (`bid0_ticks`, `ask0_ticks`); no-op cancels (size 0) are dropped (valid False)."""
    bid_before = jnp.concatenate([jnp.atleast_1d(bid0_ticks), path.best_bid_ticks[:-1]])
    ask_before = jnp.concatenate([jnp.atleast_1d(ask0_ticks), path.best_ask_ticks[:-1]])
    return OrderStream(
        times_s=path.times_s,
        kind=path.flow_type // 2,
        side=path.side,
        size_shares=path.size_shares.astype(jnp.float32),
        depth_ticks=_depth(path.side, path.price_ticks, bid_before, ask_before),
        valid=path.valid & (path.size_shares > 0),
    )


def stream_from_lobster(data) -> OrderStream:
    """The `OrderStream` of a `wmjax.data.LobsterData` with its order-book file (the best
    quotes before each message are the book row before it): submissions, cancellations and
    deletions, visible executions (a resting bid executed is a market order hitting the bid)."""
    from wmjax._checks import require
    from wmjax.data import Direction, EventType

    require(data.levels >= 1, "stream_from_lobster needs the LOBSTER order-book file as well")
    kind = np.asarray(data.event_type)
    code = np.full(kind.shape, -1)
    code[kind == EventType.SUBMISSION] = LIMIT
    code[(kind == EventType.CANCELLATION) | (kind == EventType.DELETION)] = CANCEL
    code[kind == EventType.EXECUTION] = MARKET
    side = np.where(np.asarray(data.direction) == Direction.BUY, BID, ASK)
    bid = np.asarray(data.bid_price_ticks)[:, 0]
    ask = np.asarray(data.ask_price_ticks)[:, 0]
    bid_before, ask_before = np.roll(bid, 1), np.roll(ask, 1)
    bid_before[0], ask_before[0] = bid[0], ask[0]
    price = np.asarray(data.price_ticks)
    times = np.asarray(data.times_s, np.float64)
    return OrderStream(
        times_s=jnp.asarray(times - times[0], jnp.float32),
        kind=jnp.asarray(np.maximum(code, 0)),
        side=jnp.asarray(side),
        size_shares=jnp.asarray(data.size_shares, jnp.float32),
        depth_ticks=jnp.asarray(np.where(side == BID, bid_before - price, price - ask_before)),
        valid=jnp.asarray(code >= 0),
    )


def inject_spoofing(
    key,
    stream: OrderStream,
    horizon_s: float,
    n_episodes: int,
    spoof_shares,
    depth_ticks: int,
    hold_s: float,
    n_trades: int,
    trade_shares,
) -> tuple[OrderStream, jax.Array]:
    """Add `n_episodes` episodes (module doc) at uniform times in [0, horizon - hold_s], each on
    a random side; returns the merged stream (grown by n_episodes·(2 + n_trades) events, sorted)
    and the episodes' cancel times (s). Jit- and vmap-able (static counts)."""
    k_start, k_side, k_trade = jax.random.split(key, 3)
    starts = jnp.sort(jax.random.uniform(k_start, (n_episodes,)) * (horizon_s - hold_s))
    side = jax.random.bernoulli(k_side, 0.5, (n_episodes,)).astype(stream.side.dtype)
    trade_at = jax.random.uniform(k_trade, (n_episodes, n_trades), minval=0.1, maxval=0.9)
    offsets = jnp.concatenate([jnp.zeros((n_episodes, 1)), trade_at, jnp.ones((n_episodes, 1))], 1)
    kinds = jnp.array([LIMIT] + [MARKET] * n_trades + [CANCEL])
    sizes = jnp.array([1.0] + [0.0] * n_trades + [1.0]) * spoof_shares
    sizes = sizes + jnp.array([0.0] + [1.0] * n_trades + [0.0]) * trade_shares
    depth = jnp.array([1] + [0] * n_trades + [1]) * depth_ticks
    shape = offsets.shape
    new = OrderStream(
        times_s=(starts[:, None] + offsets * hold_s).ravel().astype(stream.times_s.dtype),
        kind=jnp.broadcast_to(kinds, shape).ravel().astype(stream.kind.dtype),
        side=jnp.broadcast_to(side[:, None], shape).ravel(),
        size_shares=jnp.broadcast_to(sizes, shape).ravel().astype(stream.size_shares.dtype),
        depth_ticks=jnp.broadcast_to(depth, shape).ravel().astype(stream.depth_ticks.dtype),
        valid=jnp.ones(offsets.size, bool),
    )
    merged = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), stream, new)
    order = jnp.argsort(jnp.where(merged.valid, merged.times_s, jnp.inf), stable=True)
    return jax.tree.map(lambda x: x[order], merged), starts + hold_s


def spoofing_features(
    stream: OrderStream, horizon_s: float, window_s: float, min_depth_ticks: int = 1
) -> jax.Array:
    """(n_windows, 2·5) features per window, per side (bid then ask), in log1p of multiples of
    the stream's median limit-order size: largest limit order and largest cancellation at least
    `min_depth_ticks` behind the touch, their total volumes, and the market volume hitting the
    side. (LOBSTER level-1 files hold only the events at the touch: use 0 there.)"""
    n_windows = round(horizon_s / window_s)
    window = jnp.clip((stream.times_s / window_s).astype(jnp.int32), 0, n_windows - 1)
    is_limit = stream.valid & (stream.kind == LIMIT)
    typical = jnp.nanmedian(jnp.where(is_limit, stream.size_shares, jnp.nan))
    size = stream.size_shares / typical
    away = stream.depth_ticks >= min_depth_ticks
    cell = window * 2 + stream.side
    cells = n_windows * 2

    def total(mask, agg):
        values = jnp.where(mask & stream.valid, size, 0.0)
        base = jnp.zeros(cells)
        summed = base.at[cell].max(values) if agg == "max" else base.at[cell].add(values)
        return summed.reshape(n_windows, 2)

    limit_away = (stream.kind == LIMIT) & away
    cancel_away = (stream.kind == CANCEL) & away
    features = [
        total(limit_away, "max"),
        total(cancel_away, "max"),
        total(limit_away, "sum"),
        total(cancel_away, "sum"),
        total(stream.kind == MARKET, "sum"),
    ]
    return jnp.log1p(jnp.stack(features, -1)).reshape(n_windows, 2 * N_FEATURES)


def spoofing_score(features: jax.Array) -> jax.Array:
    """max over sides of min(largest away limit order in this or the previous window, largest
    away cancellation in this window), per window (module doc)."""
    per_side = features.reshape((*features.shape[:-1], 2, N_FEATURES))
    placed = per_side[..., 0]
    return jnp.minimum(jnp.maximum(placed, _previous(placed)), per_side[..., 1]).max(-1)


def _previous(x: jax.Array) -> jax.Array:
    """x shifted one window later along axis -2 (zeros in the first window)."""
    return jnp.concatenate([jnp.zeros_like(x[..., :1, :]), x[..., :-1, :]], axis=-2)


def cancel_window_labels(cancel_s: jax.Array, n_windows: int, window_s: float) -> jax.Array:
    """(n_windows,) True for the windows in which an episode's cancellation falls."""
    index = jnp.clip((cancel_s / window_s).astype(jnp.int32), 0, n_windows - 1)
    return jnp.zeros(n_windows, bool).at[index].set(True)


def with_previous(features: jax.Array) -> jax.Array:
    """Each window's features beside the previous window's (the classifier's input)."""
    return jnp.concatenate([features, _previous(features)], axis=-1)


@partial(jax.jit, static_argnames=("horizon_s", "window_s", "capacity", "episode", "min_depth"))
def _days(
    keys,
    flow_params,
    book,
    spoof_shares,
    trade_shares,
    *,
    horizon_s,
    window_s,
    capacity,
    episode,
    min_depth,
):
    """Clean and injected features, labels and event counts of one day per key (vmapped)."""
    from wmjax.market import simulate_flow

    bid0, ask0 = book.price_ticks[0, 0], book.price_ticks[1, 0]  # a seeded book: best first
    n_windows = round(horizon_s / window_s)

    def one(key):
        k_flow, k_inject = jax.random.split(key)
        _, path = simulate_flow(k_flow, flow_params, book, horizon_s, capacity, throw=False)
        clean = stream_from_flow(path, bid0, ask0)
        n_episodes, depth_ticks, hold_s, n_trades = episode
        dirty, cancel_s = inject_spoofing(
            k_inject,
            clean,
            horizon_s,
            n_episodes,
            spoof_shares,
            depth_ticks,
            hold_s,
            n_trades,
            trade_shares,
        )
        features = [spoofing_features(s, horizon_s, window_s, min_depth) for s in (clean, dirty)]
        labels = cancel_window_labels(cancel_s, n_windows, window_s)
        return features[0], features[1], labels, path.valid.sum()

    return jax.vmap(one)(keys)


def spoofing_study(
    key,
    flow_params,
    book,
    horizon_s: float,
    *,
    train_days: int = 4,
    test_days: int = 8,
    window_s: float = 10.0,
    n_episodes: int = 4,
    spoof_multiple: float = 10.0,
    depth_ticks: int = 2,
    min_depth_ticks: int = 1,
    hold_s: float = 4.0,
    n_trades: int = 2,
    capacity: int = 65536,
    target_recall: float = 0.9,
) -> dict:
    """Simulate days of the Hawkes book flow (`wmjax.market.simulate_flow` from `book`), inject
    spoofing episodes of `spoof_multiple` times the mean limit-order size `depth_ticks` behind
    the touch (module doc; the spoofer's trades are of the mean market-order size), and score
    every window (features of orders at least `min_depth_ticks` behind the touch).

    The classifier (logistic, on this and the previous window's features) and each alarm
    threshold (`target_recall` of the training days' episodes) are fitted on the training days;
    on the held-out days: ROC AUC per day (mean and SE over days), recall, and false alarms per
    clean day (the same days without injection). Returns those figures, the detector and the
    thresholds (to score other streams, e.g. a real day, with `spoofing_alarms`).
    """
    from wmjax._checks import positive_int, require
    from wmjax.analytics._manipulation import check_window, fit_logistic_detector, roc_auc

    check_window(horizon_s, window_s)
    for name, value in (("train_days", train_days), ("test_days", test_days)):
        positive_int(name, value)
    sizes = flow_params.sizes
    mean = np.asarray((sizes.values * sizes.weights).sum(1) / sizes.weights.sum(1))
    episode = (int(n_episodes), int(depth_ticks), float(hold_s), int(n_trades))
    n_days = train_days + test_days
    clean, dirty, labels, counts = _days(
        jax.random.split(key, n_days),
        flow_params,
        book,
        jnp.float32(spoof_multiple * mean[:2].mean()),
        jnp.float32(mean[4:].mean()),
        horizon_s=float(horizon_s),
        window_s=float(window_s),
        capacity=int(capacity),
        episode=episode,
        min_depth=int(min_depth_ticks),
    )
    require(
        bool((np.asarray(counts) < capacity).all()),
        f"capacity={capacity} is too small for {horizon_s} s days of this flow; increase it",
    )
    labels = np.asarray(labels)
    train, test = slice(0, train_days), slice(train_days, None)
    detector = fit_logistic_detector(with_previous(dirty)[train], labels[train])
    scores = {
        "score": (np.asarray(spoofing_score(dirty)), np.asarray(spoofing_score(clean))),
        "classifier": tuple(np.asarray(detector.score(with_previous(f))) for f in (dirty, clean)),
    }
    out = {"detector": detector, "thresholds": {}, "min_depth_ticks": int(min_depth_ticks)}
    out["windows_per_day"] = int(labels.shape[1])
    for name, (on_dirty, on_clean) in scores.items():
        threshold = float(np.quantile(on_dirty[train][labels[train]], 1 - target_recall))
        aucs = np.array([roc_auc(s, y) for s, y in zip(on_dirty[test], labels[test], strict=True)])
        out["thresholds"][name] = threshold
        out[name] = {
            "roc_auc": float(aucs.mean()),
            "roc_auc_se": float(aucs.std(ddof=1) / np.sqrt(aucs.size)) if aucs.size > 1 else 0.0,
            "recall": float((on_dirty[test][labels[test]] >= threshold).mean()),
            "false_alarms_per_clean_day": float((on_clean[test] >= threshold).sum(1).mean()),
        }
    return out


def spoofing_alarms(stream: OrderStream, horizon_s: float, window_s: float, study: dict) -> dict:
    """Windows of `stream` flagged by a `spoofing_study`'s score and classifier thresholds."""
    features = spoofing_features(stream, horizon_s, window_s, study["min_depth_ticks"])
    scores = {
        "score": spoofing_score(features),
        "classifier": study["detector"].score(with_previous(features)),
    }
    return {
        name: int((np.asarray(s) >= study["thresholds"][name]).sum()) for name, s in scores.items()
    }
