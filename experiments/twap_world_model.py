"""TWAP world model on real hourly bars (issue 12, must-show 4): train the 2-layer GRU
volatility predictor and its pace multiplier on days before `--test-from`, then compare on the
held-out days with TWAP and the volatility-paced rule (pace ~ 1 / forecast variance) by IS mean,
std and E + lambda Var, with paired standard errors. Writes `twap_world_model.json`.

    python experiments/twap_world_model.py --out out/twap
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from wmjax.data import load_lean_hourly
from wmjax.execution import objective_with_se, paired_improvement
from wmjax.models import (
    TWAPSetup,
    bar_days,
    fit_twap_world_model,
    inverse_variance_multipliers,
    paced_is_bps,
    twap_model_outputs,
)

VOLUME_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "volume"


def run_one(path, test_from, setup, n_steps, max_days, seed):
    days, dates = bar_days(load_lean_hourly(path))
    if max_days:
        keep = np.arange(max(0, dates.size - max_days), dates.size)
        days, dates = days.take(keep), dates[keep]
    test = np.flatnonzero(dates >= test_from)
    train = np.flatnonzero(dates < test_from)
    if test.size < 2 or train.size < 20:
        raise SystemExit(f"{path}: {train.size} train, {test.size} test days; move --test-from")
    fit, held = days.take(train), days.take(test)
    t0 = time.perf_counter()
    model, params, _ = fit_twap_world_model(jax.random.key(seed), fit, setup, n_steps=n_steps)
    fit_s = time.perf_counter() - t0
    train_log_var, _ = twap_model_outputs(model, params, fit)
    log_var, mult = twap_model_outputs(model, params, held)
    rule = inverse_variance_multipliers(log_var, jnp.mean(train_log_var))
    is_bps = {
        "twap": paced_is_bps(jnp.ones_like(mult), held, setup),
        "vol_paced": paced_is_bps(rule, held, setup),
        "world_model": paced_is_bps(mult, held, setup),
    }
    lam = setup.risk_aversion
    out = {
        "train_days": int(train.size),
        "test_days": int(test.size),
        "test_span": [str(dates[test[0]]), str(dates[test[-1]])],
        "fit_s": fit_s,
        "log_var_corr": float(np.corrcoef(np.ravel(log_var), np.ravel(held.log_variance))[0, 1]),
        "mean_multiplier_by_bar": np.asarray(mult).mean(0).tolist(),
        "methods": {},
    }
    for name, x in is_bps.items():
        x = np.asarray(x, np.float64)
        obj, se = objective_with_se(x, lam)
        gain, gain_se = paired_improvement(np.asarray(is_bps["twap"]), x, lam)
        out["methods"][name] = {
            "is_mean_bps": float(x.mean()),
            "is_std_bps": float(x.std(ddof=1)),
            "objective": obj,
            "objective_se": se,
            "gain_vs_twap": gain,
            "gain_vs_twap_se": gain_se,
        }
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--bars",
        nargs="+",
        default=[str(VOLUME_DIR / "SPY_hour_lean.zip"), str(VOLUME_DIR / "IBM_hour_lean.zip")],
    )
    p.add_argument("--test-from", default="2015-01-01")
    p.add_argument("--risk-aversion", type=float, default=1e-3, help="lambda, 1/bps")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--max-days", type=int, default=0, help="use only the last N days (0: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="out/twap")
    args = p.parse_args(argv)
    setup = TWAPSetup(risk_aversion=args.risk_aversion)
    results = {
        Path(path).name: run_one(path, args.test_from, setup, args.steps, args.max_days, args.seed)
        for path in args.bars
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "twap_world_model.json").write_text(json.dumps(results, indent=2))
    for name, r in results.items():
        print(f"{name}: {r['train_days']} training, {r['test_days']} test days {r['test_span']}")
        for method, m in r["methods"].items():
            print(
                f"  {method:12s} IS {m['is_mean_bps']:7.3f} ± std {m['is_std_bps']:7.2f} bps  "
                f"E+lamVar {m['objective']:7.3f} ± {m['objective_se']:.3f}  "
                f"gain vs TWAP {m['gain_vs_twap']:+.3f} ± {m['gain_vs_twap_se']:.3f}"
            )
    return results


if __name__ == "__main__":
    main()
