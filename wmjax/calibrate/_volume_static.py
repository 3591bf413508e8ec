"""A static (open-of-day) volume curve fitted to what it is judged on: a power mean of each
bin's past shares with its order chosen on the training days, and a closing-bin uplift on
calendar days known in advance.

- The mean share minimises the squared error, not the absolute percentage error: the point
  forecast that minimises E|f - Y| / Y is the median of the distribution with density
  proportional to p(y) / y (Gneiting 2011, "Making and evaluating point forecasts", JASA), which
  lies below the mean for a right-skewed share. A power mean (mean of s^p)^(1/p) with p < 1
  (p = 0: geometric, p = -1: harmonic) moves each bin's forecast down by more where its share is
  more variable; renormalised to sum to 1, it shifts share from noisy bins to steady ones.
- Month-ends and option-expiry Fridays (the third Friday; quarterly index rebalances fall on
  it, and the Russell reconstitution on the last Friday of June is a month-end in 2019) load
  the closing auction. Both are on the calendar at the open. The last bin's log share on such
  days, in excess of ordinary days, is estimated on the training days and applied to test days.
"""

from __future__ import annotations

import numpy as np
from flax import struct

from wmjax._checks import positive_int, require
from wmjax.calibrate._volume_profile import check_volume, static_beliefs

POWERS = (1.0, 0.5, 0.0, -0.5, -1.0, -1.5, -2.0)
TRACKING_WEIGHT = 5.0  # squared cumulative-share error vs absolute percentage error


@struct.dataclass
class PowerCurveParams:
    """A fitted static curve (see the module docstring).

    Attributes:
        power: order p of the power mean of each bin's shares over the window (1: the mean).
        close_log_uplift: added to the last bin's log share on `calendar_days` (0: none).
        window: days in the mean.
    """

    power: float = struct.field(pytree_node=False)
    close_log_uplift: float = struct.field(pytree_node=False)
    window: int = struct.field(pytree_node=False)


def calendar_days(dates) -> np.ndarray:
    """(n_days,) True on month-ends (the next weekday is in another month; holidays ignored)
    and third Fridays (option expiry; quarterly index rebalances), from `YYYY-MM-DD` dates."""
    d = np.asarray(dates, "datetime64[D]")
    weekday = (d.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday: Monday = 0
    next_weekday = d + np.where(weekday == 4, 3, np.where(weekday == 5, 2, 1))
    month_end = d.astype("datetime64[M]") != next_weekday.astype("datetime64[M]")
    day_of_month = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    third_friday = (weekday == 4) & (day_of_month >= 15) & (day_of_month <= 21)
    return month_end | third_friday


def trailing_power_mean(x, days, window: int, power: float = 1.0) -> np.ndarray:
    """(len(days), ...) power mean (mean of x^p)^(1/p) (p = 0: geometric) of rows
    max(0, d - window) .. d - 1 of positive `x` for each d in `days` (>= 1), float64."""
    x = np.asarray(x, np.float64)
    days = np.asarray(days)
    z = np.log(x) if power == 0 else x**power
    cs = np.concatenate([np.zeros_like(z[:1]), np.cumsum(z, axis=0)])
    lo = np.maximum(days - window, 0)
    mean = (cs[days] - cs[lo]) / (days - lo).reshape(-1, *([1] * (z.ndim - 1)))
    return np.exp(mean) if power == 0 else mean ** (1.0 / power)


def _shares(volume) -> np.ndarray:
    v = np.asarray(volume, np.float64)
    return np.maximum(v, 1.0) / np.maximum(v, 1.0).sum(1, keepdims=True)


def power_curve(volume, days, dates, params: PowerCurveParams) -> np.ndarray:
    """(len(days), n_bins) forecast shares at the open of each day (days before it only)."""
    shares = _shares(volume)
    curve = trailing_power_mean(shares, days, params.window, params.power)
    curve = curve / curve.sum(1, keepdims=True)
    uplift = np.where(calendar_days(dates)[np.asarray(days)], params.close_log_uplift, 0.0)
    curve[:, -1] *= np.exp(uplift)
    return curve / curve.sum(1, keepdims=True)


def _score(curve: np.ndarray, realised: np.ndarray) -> float:
    """Mean absolute percentage error + TRACKING_WEIGHT x squared cumulative-share error."""
    mape = np.mean(np.abs(curve - realised) / realised, 1)
    gap = np.cumsum(curve, 1)[:, :-1] - np.cumsum(realised, 1)[:, :-1]
    return float(np.mean(mape + TRACKING_WEIGHT * np.sum(gap**2, 1)))


def fit_power_curve(volume, train_days, dates, window: int = 21, powers=POWERS) -> PowerCurveParams:
    """Choose the power (from `powers`) with the lowest mean score (absolute percentage error of
    the shares + TRACKING_WEIGHT x squared error of the cumulative shares) on `train_days`, then
    the closing-bin uplift: the mean of log(realised / forecast) of the last bin on the
    training days in `calendar_days` minus the same mean on the others (0 if either is
    empty). Volume (n_days, n_bins) of complete days; every training day needs `window`
    earlier days."""
    w = positive_int("window (days)", window, minimum=2)
    vol, idx = check_volume(volume, train_days, w)
    idx = np.asarray(idx)
    special = calendar_days(dates)
    require(special.shape == (vol.shape[0],), f"dates must hold {vol.shape[0]} days")
    realised = _shares(vol)[idx]
    scores = [_score(power_curve(vol, idx, dates, PowerCurveParams(p, 0.0, w)), realised)
              for p in powers]  # fmt: skip
    power = float(powers[int(np.argmin(scores))])
    flat = power_curve(vol, idx, dates, PowerCurveParams(power, 0.0, w))
    miss = np.log(realised[:, -1] / flat[:, -1])
    on = special[idx]
    uplift = float(miss[on].mean() - miss[~on].mean()) if on.any() and (~on).any() else 0.0
    return PowerCurveParams(power, uplift, w)


def power_curve_beliefs(volume, test_days, dates, params: PowerCurveParams):
    """Static beliefs (n_test, n_bins, n_bins) from `power_curve` (see
    `wmjax.calibrate.rolling_mean_beliefs` for the layout)."""
    vol, idx = check_volume(volume, test_days, params.window)
    return static_beliefs(np.asarray(power_curve(vol, np.asarray(idx), dates, params), np.float32))
