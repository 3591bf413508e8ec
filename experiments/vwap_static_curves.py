"""Static (open-of-day) volume curves against the 21-day rolling mean, out of sample.

For each test day (after the first 60 complete days) every candidate forecasts the day's bin
shares from earlier days only; scores per day: MAPE of the shares and the tracking proxy
sqrt(sum_j (W_j - U_j)^2) over the cumulative shares (the expected |slippage| of a static VWAP
schedule against the market VWAP is proportional to it under a random-walk mid, Konishi 2002).
Printed: mean score and the paired gain over the rolling mean (positive: better) +- its SE.

    python experiments/vwap_static_curves.py [--out out/vwap_static]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from wmjax.calibrate import (
    PowerCurveParams,
    fit_power_curve,
    power_curve,
    trailing_power_mean,
)
from wmjax.data import load_volume_bins

VOLUME_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "volume"
WINDOW, TEST_START = 21, 60


def _weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    order = np.argsort(x)
    c = np.cumsum(w[order])
    return float(x[order][np.searchsorted(c, c[-1] / 2)])


def candidates(vol, dates, test) -> dict[str, np.ndarray]:
    """(n_test, n_bins) forecast shares of each candidate, from days before each test day."""
    shares = vol / vol.sum(1, keepdims=True)
    out = {f"mean {w}d": trailing_power_mean(shares, test, w) for w in (21, 40, 60)}
    for hl in (10, 20, 40):  # exponentially weighted over the last 60 days
        w = 0.5 ** (np.arange(60)[::-1] / hl)
        out[f"ewma half-life {hl}d"] = np.stack(
            [(w[:, None] * shares[d - 60 : d]).sum(0) for d in test]
        )
    out["median 21d"] = np.stack([np.median(shares[d - 21 : d], 0) for d in test])
    for p, name in ((0.0, "geometric"), (-1.0, "harmonic")):
        out[f"{name} 21d"] = trailing_power_mean(shares, test, 21, p)
    # the MAPE-optimal point forecast: the median of the 1/y-weighted distribution (Gneiting 2011)
    out["1/s-weighted median 21d"] = np.stack(
        [[_weighted_median(s, 1 / s) for s in shares[d - 21 : d].T] for d in test]
    )
    fit = fit_power_curve(vol, np.arange(WINDOW, TEST_START), dates, WINDOW)
    no_uplift = PowerCurveParams(fit.power, 0.0, WINDOW)
    out[f"power {fit.power:g} (chosen on training days)"] = power_curve(vol, test, dates, no_uplift)
    out[f"power_curve: + closing uplift {fit.close_log_uplift:.2f}"] = power_curve(
        vol, test, dates, fit
    )
    return {k: v / v.sum(1, keepdims=True) for k, v in out.items()}


def scores(curve, realised) -> tuple[np.ndarray, np.ndarray]:
    mape = np.mean(np.abs(curve - realised) / realised, 1)
    gap = np.cumsum(curve, 1)[:, :-1] - np.cumsum(realised, 1)[:, :-1]
    return mape, np.sqrt(np.sum(gap**2, 1))


def run_one(path) -> dict:
    bins = load_volume_bins(path)
    vol = np.asarray(bins.volume_shares[bins.complete], np.float64)
    dates = bins.days[bins.complete]
    test = np.arange(TEST_START, vol.shape[0])  # the EWMA needs 60 days before
    realised = vol[test] / vol[test].sum(1, keepdims=True)
    base = scores(trailing_power_mean(vol / vol.sum(1, keepdims=True), test, WINDOW), realised)
    out = {}
    for name, curve in candidates(vol, dates, test).items():
        row = {}
        for field, b, x in zip(("mape", "tracking"), base, scores(curve, realised), strict=True):
            d = b - x
            row[field] = float(x.mean())
            row[f"{field}_gain"] = float(d.mean())
            row[f"{field}_gain_se"] = float(d.std(ddof=1) / np.sqrt(d.size))
        out[name] = row
    return {"test_days": int(test.size), "candidates": out}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--volume", nargs="+", default=[str(VOLUME_DIR / f"{t}_15min_volume.csv")
                                                   for t in ("AAPL", "GE")])  # fmt: skip
    p.add_argument("--out", default="out/vwap_static")
    args = p.parse_args(argv)
    result = {Path(v).name: run_one(v) for v in args.volume}
    for name, block in result.items():
        print(f"{name}: {block['test_days']} test days; gain = rolling mean 21d - candidate")
        head = f"{'candidate':44s} {'MAPE':>7s} {'gain +- SE':>18s} {'tracking':>9s}"
        print(f"{head} {'gain % +- SE':>16s}")
        for cand, r in block["candidates"].items():
            base = r["tracking"] + r["tracking_gain"]
            print(
                f"{cand:44s} {r['mape']:7.4f} {r['mape_gain']:+8.4f} +- {r['mape_gain_se']:.4f} "
                f"{r['tracking']:9.4f} {100 * r['tracking_gain'] / base:+7.2f} +- "
                f"{100 * r['tracking_gain_se'] / base:.2f}"
            )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "vwap_static_curves.json").write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
