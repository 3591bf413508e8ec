"""Volume-profile forecasts and VWAP schedules scored on real days, out of sample.

For each test day d (complete days only; see `wmjax.data.load_volume_bins`) every method
forecasts d from earlier days, and a day-long buy of 10% of the 21-day ADV follows each forecast
against d's real bin volumes (`wmjax.execution.replay_vwap_days`). Scores per test day:
- mape: mean over bins of |forecast share - realised share| / realised share; the forecast
  share of bin k is the belief at the open (static methods) or at the start of bin k (dynamic);
- mae_share: mean over bins of |forecast share - realised share|;
- tracking_bps: mean over price paths of |our average price - market VWAP|, bps;
- is_bps: mean implementation shortfall, bps.
"""

from __future__ import annotations

import time

import jax
import numpy as np
from flax import struct

from wmjax._checks import positive_int, require
from wmjax.calibrate import (
    bdf_beliefs,
    fit_power_curve,
    kalman_beliefs,
    power_curve,
    power_curve_beliefs,
    rolling_mean_beliefs,
)
from wmjax.data import VolumeBins
from wmjax.execution import replay_vwap_days
from wmjax.models import fit_vwap_world_model, world_model_beliefs, world_model_prior

VWAP_METHODS = (
    "rolling_mean",
    "power_curve",
    "bdf",
    "bdf_dynamic",
    "kalman",
    "kalman_dynamic",
    "world_model",
    "world_model_dynamic",
)
WINDOW_DAYS = 21
MIN_TRAIN_DAYS = 5


@struct.dataclass
class VWAPReport:
    """Per-method, per-test-day scores (see the module docstring) and run facts.

    Attributes:
        days: (n_test,) test dates.
        scores: {method: {"mape", "mae_share", "tracking_bps", "is_bps": (n_test,) arrays}}.
        forecast_s: wall seconds of all forecasts (world-model training included).
        replay_s: wall seconds of the execution replays.
        dropped_days: incomplete days left out (half days, missing bins).
    """

    days: np.ndarray
    scores: dict
    forecast_s: float = struct.field(pytree_node=False)
    replay_s: float = struct.field(pytree_node=False)
    dropped_days: int = struct.field(pytree_node=False)

    def summary(self, method: str) -> dict:
        """The issue's JSON fields for one method: means over test days, and the std over days
        of the tracking error."""
        s = self.scores[method]
        return {
            "mape": float(np.mean(s["mape"])),
            "mae_share": float(np.mean(s["mae_share"])),
            "tracking_error_bps": float(np.mean(s["tracking_bps"])),
            "tracking_error_bps_std": float(np.std(s["tracking_bps"], ddof=1)),
        }

    def paired(self, method: str, field: str, base: str = "rolling_mean") -> tuple[float, float]:
        """Mean over test days of base - method (positive: method better) and its paired SE."""
        d = np.asarray(self.scores[base][field]) - np.asarray(self.scores[method][field])
        return float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))


def default_test_start(n_days: int) -> int:
    """The first 60 complete days train (as in issue 12); shorter files train on the first half."""
    return 60 if n_days >= 60 + 10 else max(n_days // 2, WINDOW_DAYS + MIN_TRAIN_DAYS)


def vwap_report(
    key,
    bins: VolumeBins,
    test_from: str | None = None,
    *,
    n_paths: int = 256,
    world_model_steps: int = 400,
    order_frac_adv: float = 0.1,
    risk_aversion: float = float("inf"),
) -> VWAPReport:
    """Score every method of `VWAP_METHODS` on the test days of `bins` (from date `test_from`,
    else after `default_test_start` complete days). Every schedule plays its belief tensor with
    `wmjax.execution.vwap_plan_policy` at `risk_aversion` (inf, the default: trade to the
    forecast cumulative curve; 0: the risk-neutral re-forecast split of what remains); static
    beliefs give the static VWAP schedule either way."""
    volume = bins.volume_shares[bins.complete]
    dates = bins.days[bins.complete]
    n_days = volume.shape[0]
    start = default_test_start(n_days)
    if test_from is not None:
        start = int(np.searchsorted(dates, str(test_from)))
    need = WINDOW_DAYS + MIN_TRAIN_DAYS
    require(
        need <= start < n_days,
        f"--test-from {test_from or dates[min(start, n_days - 1)]}: the test period must leave "
        f"{need} complete days before it (found {start}) and at least one test day "
        f"({n_days} complete days, {dates[0]} .. {dates[-1]})",
    )
    test = np.arange(start, n_days)
    n_paths = positive_int("n_paths (price paths per day)", n_paths, minimum=2)
    k_model, k_replay = jax.random.split(key)
    t0 = time.perf_counter()
    train = np.arange(MIN_TRAIN_DAYS, start)
    # the static curve: power and closing uplift chosen on the training days with full windows
    curve = fit_power_curve(volume, np.arange(WINDOW_DAYS, start), dates, WINDOW_DAYS)
    # the world model's prior: that curve at the open, the Kalman filter's dynamic forecast on
    # it once bins print (parameters from the training days; the filter is causal)
    prior_train = world_model_prior(
        volume, train, start, curve=power_curve(volume, train, dates, curve)
    )
    prior_test = world_model_prior(
        volume, test, start, curve=power_curve(volume, test, dates, curve)
    )
    model, params, _ = fit_vwap_world_model(
        k_model, volume, train, dates, prior_train, n_steps=world_model_steps
    )
    beliefs = {
        "rolling_mean": rolling_mean_beliefs(volume, test, WINDOW_DAYS),
        "power_curve": power_curve_beliefs(volume, test, dates, curve),
        "bdf": bdf_beliefs(volume, test, WINDOW_DAYS),
        "bdf_dynamic": bdf_beliefs(volume, test, WINDOW_DAYS, dynamic=True),
        "kalman": kalman_beliefs(volume, test, WINDOW_DAYS),
        "kalman_dynamic": kalman_beliefs(volume, test, WINDOW_DAYS, True),
        "world_model": world_model_beliefs(model, params, volume, test, dates, prior_test),
        "world_model_dynamic": world_model_beliefs(
            model, params, volume, test, dates, prior_test, True
        ),
    }
    beliefs = jax.block_until_ready(beliefs)
    t1 = time.perf_counter()
    realised = volume[test] / volume[test].sum(1, keepdims=True)
    diag = np.arange(volume.shape[1])
    cumsum = np.concatenate([np.zeros(1), np.cumsum(volume.sum(1))])
    adv = (cumsum[test] - cumsum[test - WINDOW_DAYS]) / WINDOW_DAYS
    scores = {}
    for name, b in beliefs.items():
        forecast = np.asarray(b)[:, diag, diag]
        days = replay_vwap_days(
            k_replay,
            volume[test],
            b,
            adv,
            order_frac_adv=order_frac_adv,
            risk_aversion=risk_aversion,
            n_paths=n_paths,
        )
        scores[name] = {
            "mape": np.mean(np.abs(forecast - realised) / realised, 1),
            "mae_share": np.mean(np.abs(forecast - realised), 1),
            "tracking_bps": np.asarray(days.abs_tracking_bps),
            "is_bps": np.asarray(days.is_bps),
        }
    t2 = time.perf_counter()
    return VWAPReport(dates[test], scores, t1 - t0, t2 - t1, int((~bins.complete).sum()))
