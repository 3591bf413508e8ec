"""The risk-averse adaptive VWAP on real days: tracking error against impact as lambda grows.

On the AAPL and GE test days (after the first 60) the schedule follows the Kalman filter's
dynamic forecast (`wmjax.calibrate.kalman_beliefs`); lambda = 0 is the risk-neutral re-forecast
VWAP, larger lambda pays impact to close the gap to the forecast cumulative curve
(`wmjax.execution.vwap_plan_policy`). The static rolling-mean VWAP is the reference row.
Writes `vwap_risk_aversion.json`.

    python experiments/vwap_risk_aversion.py --out out/vwap_ra
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax
import numpy as np

from wmjax.calibrate import kalman_beliefs, rolling_mean_beliefs
from wmjax.data import load_volume_bins
from wmjax.execution import replay_vwap_days

VOLUME_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "volume"
WINDOW = 21


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tickers", nargs="+", default=["AAPL", "GE"])
    p.add_argument("--test-start", type=int, default=60, help="first test day (index)")
    p.add_argument("--max-test-days", type=int, default=0, help="0: all")
    p.add_argument("--lambdas", type=float, nargs="+", default=[0.0, 1e-8, 1e-7, 1e-6, 1e-5])
    p.add_argument("--paths", type=int, default=256)
    p.add_argument("--out", default="out/vwap_ra")
    args = p.parse_args(argv)
    results = {}
    for ticker in args.tickers:
        bins = load_volume_bins(VOLUME_DIR / f"{ticker}_15min_volume.csv")
        vol = bins.volume_shares[bins.complete]
        stop = vol.shape[0] if not args.max_test_days else args.test_start + args.max_test_days
        test = np.arange(args.test_start, min(stop, vol.shape[0]))
        cs = np.concatenate([[0.0], np.cumsum(vol.sum(1))])
        adv = (cs[test] - cs[test - WINDOW]) / WINDOW
        key = jax.random.key(0)
        rows = {}
        ref = replay_vwap_days(
            key, vol[test], rolling_mean_beliefs(vol, test, WINDOW), adv, n_paths=args.paths
        )
        rows["rolling_mean_static"] = ref
        dynamic = kalman_beliefs(vol, test, WINDOW, dynamic=True)
        for lam in args.lambdas:
            rows[f"kalman_dynamic_lambda_{lam:g}"] = replay_vwap_days(
                key, vol[test], dynamic, adv, risk_aversion=lam, n_paths=args.paths
            )
        realised = vol[test] / vol[test].sum(1, keepdims=True)
        diag = np.arange(vol.shape[1])
        mape = {
            curve: float(np.mean(np.abs(np.asarray(b)[:, diag, diag] - realised) / realised))
            for curve, b in (("rolling_mean", rolling_mean_beliefs(vol, test, WINDOW)),
                             ("kalman_dynamic", dynamic))
        }  # fmt: skip
        print(f"{ticker} MAPE rolling mean {mape['rolling_mean']:.4f}, "
              f"Kalman dynamic {mape['kalman_dynamic']:.4f}")  # fmt: skip
        block = {}
        for name, r in rows.items():
            d_te = np.asarray(ref.abs_tracking_bps) - np.asarray(r.abs_tracking_bps)
            block[name] = {
                "abs_tracking_bps": float(np.mean(r.abs_tracking_bps)),
                "is_bps": float(np.mean(r.is_bps)),
                "te_gain_vs_rolling_mean": float(d_te.mean()),
                "te_gain_se": float(d_te.std(ddof=1) / np.sqrt(d_te.size)),
            }
            print(
                f"{ticker} {name:32s} |TE| {block[name]['abs_tracking_bps']:6.3f} bps  "
                f"IS {block[name]['is_bps']:7.3f} bps  TE gain vs RM "
                f"{block[name]['te_gain_vs_rolling_mean']:+.3f} ± {block[name]['te_gain_se']:.3f}"
            )
        results[ticker] = {"test_days": int(test.size), "mape": mape, "rows": block}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "vwap_risk_aversion.json").write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
