"""Training data for the order-book world model: per-row inputs and leak-free targets on device,
a chronological split, and the batch gather done inside the jitted step (rows are indices).

The price head's prior at each row is the EWMA(0.94) variance of the clock-grid mid changes
completed before the row (RiskMetrics, J.P. Morgan 1996): the head predicts a correction to it
(zero at initialisation) and sees the log ratio of the prior to the training variance."""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import positive, positive_int, require
from wmjax.features import (
    BookStream,
    FeatureConfig,
    Horizon,
    class_balance,
    clock_grid_rows,
    clock_horizon,
    direction,
    event_horizon,
    microstructure_state,
    mid_change_bps,
    symlog,
)
from wmjax.models._world import Action
from wmjax.models._world_baselines import ewma_variance


@dataclass(frozen=True)
class WorldDataConfig:
    """Static data settings: direction horizons (events), the price label's clock horizon, the
    sequence length and stride (events) of `observe`, and the flow-history window (events)."""

    horizons: tuple[int, ...] = (10, 20, 50, 100)
    clock_horizon_s: float = 10.0
    seq_len: int = 4
    stride: int = 10
    history: int = 16
    features: FeatureConfig = field(default_factory=FeatureConfig)

    def __post_init__(self):
        for k in self.horizons:
            positive_int("horizons", k)
        positive("clock_horizon_s", self.clock_horizon_s)
        positive_int("seq_len", self.seq_len)
        positive_int("stride", self.stride)
        positive_int("history", self.history)


@struct.dataclass
class Normalizer:
    """Train-set mean and std of each input block (standardised inputs = (x - mean) / std)."""

    lob_mean: jax.Array
    lob_std: jax.Array
    flow_mean: jax.Array
    flow_std: jax.Array
    hist_mean: jax.Array
    hist_std: jax.Array
    price_log_var: jax.Array  # () log training variance of the clock-horizon mid change
    hand_mean: jax.Array  # (6,) the softmax baseline's hand features (`hand_features`)
    hand_std: jax.Array


@struct.dataclass
class WorldData:
    """Per-row inputs (standardised) and targets of one stream; N rows."""

    lob: jax.Array  # (N, 4L)
    flow: jax.Array  # (N, F)
    event_flow: jax.Array  # (N, C)
    hand: jax.Array  # (N, 6) the softmax baseline's hand features, standardised
    spread_symlog: jax.Array  # (N,)
    imbalance: jax.Array  # (N,)
    direction: jax.Array  # (N, H) int32 raw-sign classes at each event horizon
    price_bps: jax.Array  # (N,) mid change over the clock horizon
    policy_target: jax.Array  # (N,) int32 hindsight action of a buyer
    class_weight: jax.Array  # (H, 3) balanced class weights of the training rows
    price_prior_log_var: jax.Array  # (N,) log EWMA variance of the price label known at the row
    price_log_var: jax.Array  # () log training variance (the normaliser's)


def _stats(x: np.ndarray) -> tuple[jax.Array, jax.Array]:
    return jnp.asarray(x.mean(0)), jnp.asarray(np.maximum(x.std(0), 1e-3))


def clock_grid_changes(times_s, mid_ticks, horizon_s: float):
    """(rows (G,), grid times (G,), mid change over each grid interval (G - 1,) bps) on the
    clock grid of step `horizon_s` (`clock_grid_rows`)."""
    rows, grid_s = clock_grid_rows(times_s, horizon_s)
    mid = np.asarray(mid_ticks, np.float64)[rows]
    return rows, grid_s, np.diff(mid) / mid[:-1] * 1e4


def ewma_prior_log_var(
    times_s, mid_ticks, horizon_s: float, initial_var: float
) -> tuple[np.ndarray, np.ndarray]:
    """Log EWMA variance (bps^2) of the clock-grid mid changes (`clock_grid_changes`), started
    at `initial_var`: ((N,) per row, from the grid intervals completed by the row's time and
    read from rows at or before it; (G - 1,) per grid interval, the forecast made at its start,
    i.e. the EWMA baseline's variance)."""
    rows, grid_s, y = clock_grid_changes(times_s, mid_ticks, horizon_s)
    log_v = np.log(np.maximum(ewma_variance(np.r_[y, 0.0], initial_var), 1e-12))  # (G,)
    i = np.arange(len(times_s))
    done = np.minimum(
        np.searchsorted(grid_s, np.asarray(times_s, np.float64), side="right"),
        np.searchsorted(rows, i, side="right"),
    )  # grid points passed by the row; v_j needs grid point j
    per_row = log_v[np.maximum(done - 1, 0)]
    return per_row.astype(np.float32), log_v[:-1]


def label_horizon(stream: BookStream, config: WorldDataConfig) -> Horizon:
    """The union of every target's look-ahead: the longest event horizon (and the next
    sequence row) and the clock horizon; a row is usable when all lie inside the data."""
    k = event_horizon(stream.times_s, max(*config.horizons, config.stride))
    c = clock_horizon(stream.times_s, config.clock_horizon_s)
    return Horizon(
        end=jnp.maximum(k.end, c.end),
        end_s=jnp.maximum(k.end_s, c.end_s),
        valid=k.valid & c.valid,
    )


def world_data(
    stream: BookStream,
    config: WorldDataConfig,
    train_mask: np.ndarray,
    normalizer: Normalizer | None = None,
) -> tuple[WorldData, Normalizer]:
    """Inputs and targets of every row; the normaliser and class weights come from the rows of
    `train_mask` (or the given `normalizer`, e.g. a model fitted on another ticker)."""
    train_mask = np.asarray(train_mask, bool)
    require(train_mask.any() or normalizer is not None, "no training rows: move the split")
    s = microstructure_state(stream, config.features)
    price = mid_change_bps(s.mid_ticks, clock_horizon(stream.times_s, config.clock_horizon_s))
    if normalizer is None:
        train_log_var = np.log(np.asarray(price, np.float64)[train_mask].var())
    else:
        train_log_var = float(normalizer.price_log_var)
    prior, _ = ewma_prior_log_var(
        stream.times_s, s.mid_ticks, config.clock_horizon_s, float(np.exp(train_log_var))
    )
    blocks = (s.lob_vector(), s.flow_vector(), s.event_flow, s.hand_features())
    lob, flow, hist, hand = (np.asarray(x) for x in blocks)
    if normalizer is None:
        stats = [_stats(x[train_mask]) for x in (lob, flow, hist, hand)]
        (lm, ls), (fm, fs), (hm, hs), (xm, xs) = stats
        normalizer = Normalizer(lm, ls, fm, fs, hm, hs, jnp.float32(train_log_var), xm, xs)
    n = normalizer
    dirs = jnp.stack(
        [
            direction(mid_change_bps(s.mid_ticks, event_horizon(stream.times_s, k)))
            for k in config.horizons
        ],
        axis=1,
    )
    # a buyer's best action in hindsight of the shortest horizon: take now if the mid rises,
    # rest at the touch if it stays, rest behind if it falls
    first = dirs[:, 0]
    policy_target = jnp.select(
        [first == 2, first == 1], [Action.MARKET, Action.LIMIT_AT_TOUCH], Action.LIMIT_BEHIND
    )
    mask = train_mask if train_mask.any() else np.ones(len(train_mask), bool)
    balance = np.stack([class_balance(np.asarray(dirs[:, j]), mask) for j in range(dirs.shape[1])])
    weight = 1.0 / (3.0 * np.maximum(balance, 1e-3))
    data = WorldData(
        lob=(jnp.asarray(lob) - n.lob_mean) / n.lob_std,
        flow=(jnp.asarray(flow) - n.flow_mean) / n.flow_std,
        event_flow=(jnp.asarray(hist) - n.hist_mean) / n.hist_std,
        hand=(jnp.asarray(hand) - n.hand_mean) / n.hand_std,
        spread_symlog=symlog(s.spread_ticks),
        imbalance=s.imbalance,
        direction=dirs,
        price_bps=price,
        policy_target=policy_target.astype(jnp.int32),
        class_weight=jnp.asarray(weight, jnp.float32),
        price_prior_log_var=jnp.asarray(prior),
        price_log_var=n.price_log_var,
    )
    return data, normalizer


@struct.dataclass
class Batch:
    """Gathered inputs of B sequences ending at the given rows."""

    lob: jax.Array  # (B, T, 4L)
    flow: jax.Array  # (B, T, F)
    history: jax.Array  # (B, T, W, C)
    hand: jax.Array  # (B, T, 6)
    next_lob: jax.Array  # (B, T, 4L) inputs one stride later (the dynamics' target)
    next_flow: jax.Array
    rows: jax.Array  # (B, T)
    next_rows: jax.Array  # (B, T)


def gather(data: WorldData, rows_last: jax.Array, config: WorldDataConfig) -> Batch:
    """Sequences of `seq_len` rows `stride` apart ending at `rows_last` (B,); rows before the
    first are clipped to it, history rows before the first are zeros. Reads only rows <= the
    last row, except `next_*` (targets)."""
    n = data.lob.shape[0]
    back = config.stride * (config.seq_len - 1 - jnp.arange(config.seq_len))
    rows = jnp.maximum(rows_last[:, None] - back, 0)
    nxt = jnp.minimum(rows + config.stride, n - 1)
    hrows = rows[..., None] - (config.history - 1 - jnp.arange(config.history))
    hist = jnp.where((hrows >= 0)[..., None], data.event_flow[jnp.maximum(hrows, 0)], 0.0)
    return Batch(
        lob=data.lob[rows],
        flow=data.flow[rows],
        history=hist,
        hand=data.hand[rows],
        next_lob=data.lob[nxt],
        next_flow=data.flow[nxt],
        rows=rows,
        next_rows=nxt,
    )
