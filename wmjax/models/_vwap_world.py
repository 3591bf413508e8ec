"""The VWAP world model: opening features -> encoder -> GRU over the bins printed so far ->
softmax over the remaining bins, plus the share of the day's volume still to come.

Static forecast: the output before any bin prints (at the open). Dynamic: after bins 0 .. k-1
print, the model's row k. The model is a residual on a prior belief tensor (logits = log prior
shares + a correction whose output layer starts at zero; in `wmjax vwap` the prior is the
static power curve (`wmjax.calibrate.power_curve`) at the open and the Kalman filter's dynamic
forecast with that curve as its seasonal once bins print, `world_model_prior`), so an untrained
model is its prior and training only has to learn departures from it; early stopping on the
last training days keeps it there when the departures do not generalise.

The training loss is the scores the model is judged on: the absolute percentage error of each
bin's forecast share (static: at the open; dynamic: at the start of the bin) plus the squared
error of the forecast cumulative share, which drives the VWAP tracking error (Konishi 2002:
E[slippage^2] = sigma^2 tau E sum_j (W_j - U_j)^2).

Inputs (all from days before d, or bins of d already printed):
- opening: log(yesterday's volume / ADV), log(5-day / 21-day ADV), day of week (one-hot), the
  log ratio of yesterday's first and last bin shares to the historical curve;
- per bin j at the open: log ratios to the 21-day mean share of the 60-day mean share, the
  21-day median share and yesterday's share (shrinkage the head can learn);
- per printed bin j: log(V_j / (ADV x curve_j)), the cumulative version, j / n_bins.
"""

from __future__ import annotations

from functools import partial

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import positive, positive_int, require
from wmjax.calibrate import check_volume, kalman_beliefs, trailing_power_mean
from wmjax.models._early_stop import fit_early_stopped

N_OPENING = 9
N_BIN_FEATURES = 3
LONG_WINDOW = 60  # days of the long mean-share curve (a bin feature)
TRACKING_WEIGHT = 5.0  # squared cumulative-share error vs absolute percentage error


class VWAPWorldModel(nn.Module):
    """(opening (N_OPENING,), base_logits (n, n), printed (n, 3), base_rest (n,), bin_feats
    (n, N_BIN_FEATURES)) -> (logits (n, n): row k over all bins, masked to bins >= k by the
    caller; rest_logit (n,))."""

    hidden: int = 16

    @nn.compact
    def __call__(self, opening, base_logits, printed, base_rest, bin_feats):
        n = base_logits.shape[-1]
        h0 = nn.tanh(nn.Dense(self.hidden, name="encoder")(opening))
        # step k sees bins < k: shift the printed inputs right by one
        inputs = jnp.concatenate([jnp.zeros_like(printed[:1]), printed[:-1]], axis=0)
        cell = nn.GRUCell(self.hidden, name="gru")
        scan = nn.scan(
            lambda c, h, x: c(h, x), variable_broadcast="params", split_rngs={"params": False}
        )
        _, hs = scan(cell, h0, inputs)
        zero = nn.initializers.zeros
        # one head shared over (step k, bin j) pairs, fed the lead time j - k, the bin's
        # position and its features at the open: what a surprise means for the bins after it
        # does not depend on k alone
        k, j = jnp.meshgrid(jnp.arange(n), jnp.arange(n), indexing="ij")
        lead = jnp.stack([(j - k) / n, j / n, jnp.exp(-jnp.maximum(j - k, 0) / 2.0)], -1)
        pair = jnp.concatenate(
            [
                jnp.broadcast_to(hs[:, None, :], (n, n, hs.shape[-1])),
                lead,
                jnp.broadcast_to(bin_feats[None], (n, *bin_feats.shape)),
            ],
            -1,
        )
        hidden = nn.tanh(nn.Dense(self.hidden, name="pair")(pair))
        logits = base_logits + nn.Dense(1, kernel_init=zero, name="curve_head")(hidden)[..., 0]
        rest = base_rest + nn.Dense(1, kernel_init=zero, name="rest_head")(hs)[:, 0]
        return logits, rest


@struct.dataclass
class VWAPInputs:
    """Model inputs for a set of days (leading axis: days)."""

    opening: jax.Array  # (d, N_OPENING)
    base_logits: jax.Array  # (d, n, n) row k: log prior shares given bins < k
    printed: jax.Array  # (d, n, 3)
    base_rest: jax.Array  # (d, n)
    bin_feats: jax.Array  # (d, n, N_BIN_FEATURES)
    volume: jax.Array  # (d, n) realised, for the targets and the beliefs


def world_model_prior(volume, days, fit_until: int, window: int = 21, curve=None) -> jax.Array:
    """The prior of the world model for days `days` (n_days, n, n): the Kalman filter's dynamic
    forecast (`wmjax.calibrate.kalman_beliefs`, parameters fitted on days < `fit_until`) with
    its seasonal replaced by a static curve: `curve` (n_days, n) forecast shares at the open
    (e.g. `wmjax.calibrate.power_curve`), by default the mean share of each bin over the last
    `window` days (fewer for the first days). Row 0 is that curve; later rows keep the
    filter's level and intraday updates (the forecast of bin j >= k in row k scaled by
    curve_j / (row 0)_j)."""
    vol, idx = check_volume(volume, days, 5)
    dynamic = kalman_beliefs(vol, idx, 5, True, fit_until=fit_until)
    if curve is None:
        fracs = np.asarray(vol, np.float64) / np.asarray(vol, np.float64).sum(1, keepdims=True)
        curve = trailing_power_mean(fracs, np.asarray(idx), positive_int("window", window))
    curve = np.asarray(curve)
    require(curve.shape == (idx.shape[0], vol.shape[1]), f"curve must be {dynamic.shape[:2]}")
    return _seasonal_prior(dynamic, jnp.asarray(curve, jnp.float32))


@jax.jit
def _seasonal_prior(b: jax.Array, c: jax.Array) -> jax.Array:
    n = b.shape[-1]
    future = jnp.arange(n)[None, :] >= jnp.arange(n)[:, None]
    ratio = c / jnp.maximum(b[:, 0, :], 1e-9)
    rows = jnp.where(future, b * ratio[:, None, :], b)
    return rows / jnp.sum(rows, -1, keepdims=True)


def vwap_inputs(volume, day_index, dates, base_beliefs, window: int = 21) -> VWAPInputs:
    """Inputs for days `day_index` of `volume` (complete days, shares), each from earlier days
    and its own printed bins only; `dates` (n_days,) `YYYY-MM-DD`; `base_beliefs`
    (n_days_in_index, n, n) the prior the model corrects (a dynamic belief tensor, e.g.
    `world_model_prior`)."""
    vol = np.asarray(volume, np.float64)
    idx = np.asarray(day_index)
    require(bool(np.all(idx >= 5)), "the world model needs >= 5 earlier days per day")
    totals = vol.sum(1)
    fracs = vol / totals[:, None]
    curve = trailing_power_mean(fracs, idx, window)
    adv = trailing_power_mean(totals[:, None], idx, window)[:, 0]
    adv5 = trailing_power_mean(totals[:, None], idx, 5)[:, 0]
    yesterday = fracs[idx - 1]
    # 1970-01-01 was a Thursday: +3 makes Monday 0
    weekday = (np.asarray(dates, "datetime64[D]")[idx].astype(np.int64) + 3) % 7
    opening = np.concatenate(
        [
            np.log(totals[idx - 1] / adv)[:, None],
            np.log(adv5 / adv)[:, None],
            np.eye(5)[np.minimum(weekday, 4)],
            np.log(yesterday[:, [0, -1]] / curve[:, [0, -1]]),
        ],
        axis=1,
    )
    median = np.stack([np.median(fracs[max(d - window, 0) : d], axis=0) for d in idx])
    ratios = [trailing_power_mean(fracs, idx, LONG_WINDOW), median, np.maximum(yesterday, 1e-6)]
    bin_feats = np.stack([np.clip(np.log(r / curve), -2.0, 2.0) for r in ratios], axis=-1)
    today = vol[idx]
    expected = adv[:, None] * curve
    n = vol.shape[1]
    surprise = np.log(np.maximum(today, 1.0) / expected)
    cum = np.log(np.cumsum(np.maximum(today, 1.0), 1) / np.cumsum(expected, 1))
    position = np.broadcast_to(np.arange(1, n + 1) / n, today.shape)
    printed = np.stack([surprise, cum, position], axis=-1)
    base = np.asarray(base_beliefs, np.float64)
    require(base.shape == (len(idx), n, n), f"base_beliefs must be ({len(idx)}, {n}, {n})")
    future = np.arange(n)[None, :] >= np.arange(n)[:, None]
    share = np.clip(np.sum(np.where(future, base, 0.0), -1), 1e-4, 1 - 1e-4)
    base_logits = np.log(np.maximum(base, 1e-9))
    f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
    return VWAPInputs(
        f32(opening),
        f32(base_logits),
        f32(printed),
        f32(np.log(share / (1 - share))),
        f32(bin_feats),
        f32(today),
    )


@partial(jax.jit, static_argnums=0)
def _apply_days(model: VWAPWorldModel, params, batch: VWAPInputs):
    """The model on every day of `batch`: logits (d, n, n), rest logits (d, n)."""
    return jax.vmap(lambda o, b, p, r, f: model.apply(params, o, b, p, r, f))(
        batch.opening, batch.base_logits, batch.printed, batch.base_rest, batch.bin_feats
    )


def _beliefs(logits, rest_logit, volume, dynamic: bool) -> jax.Array:
    """Belief tensors from the model's outputs (see `world_model_beliefs`)."""
    n = logits.shape[-1]
    if not dynamic:
        curve = jax.nn.softmax(logits[:, 0, :], -1)
        return jnp.broadcast_to(curve[:, None, :], (curve.shape[0], n, n))
    future = jnp.arange(n)[None, :] >= jnp.arange(n)[:, None]
    rest = jax.nn.sigmoid(rest_logit).at[:, 0].set(1.0)
    spread = jax.nn.softmax(jnp.where(future, logits, -jnp.inf), -1) * rest[..., None]
    past = jnp.where(future, 0.0, volume[:, None, :])
    past = past / jnp.maximum(jnp.sum(past, -1, keepdims=True), 1.0) * (1.0 - rest[..., None])
    rows = jnp.where(future, spread, past)
    return rows / jnp.sum(rows, -1, keepdims=True)


def _scores(beliefs: jax.Array, realised: jax.Array) -> jax.Array:
    """(d,) mean absolute percentage error of the diagonal (bin k's share forecast at the start
    of bin k) + TRACKING_WEIGHT x sum over k of the squared error of the forecast cumulative
    share through bin k made at its start (what a schedule trading to the curve tracks)."""
    n = realised.shape[-1]
    diag = jnp.arange(n)
    forecast = beliefs[:, diag, diag]
    mape = jnp.mean(jnp.abs(forecast - realised) / realised, -1)
    through = jnp.arange(n)[None, :] <= jnp.arange(n)[:, None]  # (k, j): bin j <= k
    cum_forecast = jnp.sum(jnp.where(through[None], beliefs, 0.0), -1)  # (d, k)
    cum_realised = jnp.cumsum(realised, -1)
    tracking = jnp.sum(jnp.square(cum_forecast - cum_realised)[:, :-1], -1)
    return mape + TRACKING_WEIGHT * tracking


def world_model_loss(model: VWAPWorldModel, params, batch: VWAPInputs) -> jax.Array:
    """Mean over days of the static (row 0) and dynamic (row k at bin k) scores: absolute
    percentage error of the forecast shares plus TRACKING_WEIGHT x the squared errors of the
    forecast cumulative shares (`_scores`)."""
    logits, rest_logit = _apply_days(model, params, batch)
    realised = batch.volume / jnp.sum(batch.volume, -1, keepdims=True)
    static = _scores(_beliefs(logits, rest_logit, batch.volume, False), realised)
    dynamic = _scores(_beliefs(logits, rest_logit, batch.volume, True), realised)
    return jnp.mean(static + dynamic)


def fit_vwap_world_model(
    key,
    volume,
    train_days,
    dates,
    base_beliefs,
    *,
    hidden: int = 8,
    n_steps: int = 400,
    lr: float = 3e-3,
    weight_decay: float = 1e-2,
    validation_frac: float = 0.25,
    check_every: int = 10,
):
    """Train on the earlier (1 - validation_frac) of `train_days` (full batch, AdamW) and keep
    the params with the lowest loss on the later ones (early stopping held out in time; the
    test days are never seen); `base_beliefs` (n_train, n, n) the prior for each training day.
    Returns (model, params, best validation loss)."""
    model = VWAPWorldModel(positive_int("hidden", hidden))
    positive("validation_frac", validation_frac)
    days = np.sort(np.asarray(train_days))
    n_val = max(1, round(validation_frac * days.size))
    require(days.size - n_val >= 5, f"need >= {n_val + 5} training days, got {days.size}")
    base = np.asarray(base_beliefs)[np.argsort(np.asarray(train_days))]
    fit = vwap_inputs(volume, days[:-n_val], dates, base[:-n_val])
    val = vwap_inputs(volume, days[-n_val:], dates, base[-n_val:])
    first = jax.tree.map(lambda a: a[0], fit)
    params = model.init(
        key, first.opening, first.base_logits, first.printed, first.base_rest, first.bin_feats
    )
    params, best = fit_early_stopped(
        world_model_loss,
        model,
        params,
        fit,
        val,
        lr=lr,
        weight_decay=weight_decay,
        n_steps=n_steps,
        check_every=check_every,
    )
    return model, params, best


def world_model_beliefs(
    model, params, volume, test_days, dates, base_beliefs, dynamic: bool = False
):
    """Beliefs (n_test, n, n) as in `wmjax.calibrate.rolling_mean_beliefs`: static = the
    model's curve at the open; dynamic row k = realised bins < k scaled to the predicted share
    already printed, and the predicted share still to come spread by the softmax over bins
    >= k."""
    vol, idx = check_volume(volume, test_days, 5)
    batch = vwap_inputs(np.asarray(vol), np.asarray(idx), dates, base_beliefs)
    logits, rest_logit = _apply_days(model, params, batch)
    return _beliefs(logits, rest_logit, batch.volume, dynamic)
