"""Order-flow toxicity for a desk: VPIN of a real trading day (bulk classification against the
true aggressor sides) and a paired comparison of two market makers on common random numbers.

VPIN and bulk volume classification follow Easley, López de Prado & O'Hara (2012); the
classification accuracy is the share of volume whose side bulk classification gets right,
sum over buckets of min(V_buy, V_buy_true) + min(V_sell, V_sell_true) over the total volume
(the measure of Chakrabarty, Pascual & Shkilko 2015).
"""

from __future__ import annotations

import numpy as np

from wmjax._checks import positive, require


def lobster_trades(data) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(times_s after the first message, sizes_shares, prices in dollars, buyer_initiated) of the
    visible and hidden executions of a `wmjax.data.LobsterData`, in file order. A resting sell
    order executed (direction -1) is a buyer-initiated trade."""
    from wmjax.data import Direction, EventType

    kind = np.asarray(data.event_type)
    rows = (kind == EventType.EXECUTION) | (kind == EventType.HIDDEN_EXECUTION)
    require(bool(rows.any()), "the LOBSTER data has no executions (event types 4 and 5)")
    times = np.asarray(data.times_s, np.float64)
    return (
        times[rows] - times[0],
        np.asarray(data.size_shares, np.float64)[rows],
        np.asarray(data.price_raw, np.float64)[rows] / 10_000,
        np.asarray(data.direction)[rows] == Direction.SELL,
    )


def vpin_day(
    times_s,
    size_shares,
    price,
    buyer_initiated,
    *,
    bar_s: float = 1.0,
    buckets_per_day: int = 200,
    window_buckets: int = 50,
) -> dict:
    """VPIN of one day by bulk volume classification of `bar_s` time bars, beside the VPIN of the
    true aggressor sides trade by trade, with buckets of 1/`buckets_per_day` of the day's volume.
    The paper's buckets are 1/50 of the average daily volume over many days; on one day we use
    smaller ones (200 a day by default) so that a window of 50 buckets leaves a series.

    Returns a dict: bucket volume, bucket count, mean and max VPIN by bulk classification and by
    the true sides, their correlation over buckets, the classification accuracy (module doc),
    and the per-bucket series (lists) for plots.
    """
    import jax.numpy as jnp

    from wmjax.features import bulk_volume_classification, time_bars, vpin

    positive("bar_s", bar_s)
    times = np.asarray(times_s, np.float64)
    sizes = np.asarray(size_shares, np.float64)
    buyer = np.asarray(buyer_initiated, bool)
    require(times.size >= 2, "vpin_day needs at least 2 trades")
    n_bars = int(np.floor(times[-1] / bar_s)) + 1
    volume, change = time_bars(jnp.asarray(times), sizes, price, bar_s, n_bars)
    bucket = float(sizes.sum()) / buckets_per_day
    capacity = buckets_per_day + 1
    bulk = vpin(
        volume, bulk_volume_classification(volume, change), bucket, window_buckets, capacity
    )
    # The true sides trade by trade: each trade is its own bar.
    truth = vpin(jnp.asarray(sizes, volume.dtype), sizes * buyer, bucket, window_buckets, capacity)
    full = np.arange(capacity) < int(bulk.count)
    correct = np.minimum(bulk.buy_volume, truth.buy_volume) + np.minimum(
        bulk.sell_volume, truth.sell_volume
    )
    valid = np.asarray(bulk.valid)
    require(
        valid.sum() >= 2,
        f"{int(bulk.count)} buckets leave {int(valid.sum())} VPIN values with window_buckets="
        f"{window_buckets}; lower window_buckets or raise buckets_per_day",
    )
    series = {
        name: np.asarray(v.vpin)[valid] for name, v in (("bulk", bulk), ("true_sides", truth))
    }
    return {
        "bucket_volume_shares": bucket,
        "buckets": int(bulk.count),
        "valid_buckets": int(valid.sum()),
        "bars": n_bars,
        "vpin_bulk_mean": float(series["bulk"].mean()),
        "vpin_bulk_max": float(series["bulk"].max()),
        "vpin_true_mean": float(series["true_sides"].mean()),
        "vpin_true_max": float(series["true_sides"].max()),
        "vpin_correlation": float(np.corrcoef(series["bulk"], series["true_sides"])[0, 1]),
        "classification_accuracy": float(np.asarray(correct)[full].sum() / (bucket * full.sum())),
        "series": {k: v.tolist() for k, v in series.items()},
    }


def paired_market_making(base, new, markout_steps: int) -> dict:
    """Two market makers' `QuotePaths` on the same keys (common random numbers): per metric the
    base and new means and the new - base difference with the SE of the paired difference.

    Metrics per path: `pnl` (price units), `adverse_selection` (the markout at `markout_steps`
    steps, `wmjax.market.markout`, positive is adverse), `inventory_std` (the std of the
    inventory over the path's steps), `fills`. `pnl_std` is the cross-path std of each (no SE).
    """
    from wmjax.market import markout

    per_path = {}
    for name, paths in (("base", base), ("new", new)):
        per_path[name] = {
            "pnl": np.asarray(paths.pnl, np.float64),
            "adverse_selection": np.asarray(markout(paths, markout_steps), np.float64),
            "inventory_std": np.asarray(paths.inventory, np.float64).std(axis=-1),
            "fills": np.asarray(paths.fills, np.float64),
        }
    n = per_path["base"]["pnl"].size
    require(n >= 2 and per_path["new"]["pnl"].size == n, "both runs need the same >= 2 paths")
    out = {}
    for metric, b in per_path["base"].items():
        d = per_path["new"][metric] - b
        out[metric] = {
            "base": float(b.mean()),
            "new": float(per_path["new"][metric].mean()),
            "difference": float(d.mean()),
            "se": float(d.std(ddof=1) / np.sqrt(n)),
        }
    out["pnl_std"] = {k: float(v["pnl"].std(ddof=1)) for k, v in per_path.items()}
    out["paths"] = n
    return out


def fit_tape_hawkes(buy_orders, sell_orders, dt: float, seed: int = 0):
    """A 2-D exponential Hawkes model of (buy, sell) market orders fitted by MLE
    (`wmjax.calibrate.fit_mle`, one decay per exciting side) to a simulated tape of shape
    (n_paths, n_steps) counts per step: path p's step k becomes events at p·T + (k + u)·dt, u
    uniform from `seed` (the order within a step is unknown), the paths laid end to end
    (T = n_steps·dt). Returns float32 `HawkesParams` (time in the tape's unit) and the fit."""
    from wmjax.calibrate import fit_mle
    from wmjax.hawkes import HawkesParams

    buys, sells = (np.asarray(x, np.int64) for x in (buy_orders, sell_orders))
    require(buys.shape == sells.shape and buys.ndim == 2, "the tape must be (n_paths, n_steps)")
    positive("dt", dt)
    n_paths, n_steps = buys.shape
    rng = np.random.default_rng(seed)
    times, marks = [], []
    for mark, counts in ((0, buys), (1, sells)):
        step = np.repeat(np.arange(n_paths * n_steps), counts.ravel())
        times.append((step + rng.uniform(size=step.size)) * dt)
        marks.append(np.full(step.size, mark))
    order = np.argsort(np.concatenate(times), kind="stable")
    t, m = np.concatenate(times)[order], np.concatenate(marks)[order]
    fit = fit_mle((t, m), n_paths * n_steps * dt, 2, beta_structure="source", std_errors=False)
    p = fit.params
    model = HawkesParams(*(np.asarray(x, np.float32) for x in (p.mu, p.alpha, p.beta)))
    return model, fit
