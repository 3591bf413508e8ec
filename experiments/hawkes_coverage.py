"""Replicated calibration study (issue 10, must-show 3): do the fits' uncertainties mean what
they say?

1. NUTS: simulate R data sets from one known 1-D Hawkes process, fit each by `fit_bayes`, and
   count how often each parameter's nominal 90 % interval (q5-q95) covers the truth. Over R
   independent data sets the count is Binomial(R, 0.9) if the intervals are calibrated, so the
   coverage must lie within 0.9 +- 3 sqrt(0.09 / R).
2. MLE: fit B data sets at once with `fit_mle_batch` (one vmapped fit, no Python loop) and
   compare the mean Hessian standard error of each parameter with the empirical standard
   deviation of its estimates over the B replications (asymptotically equal; Ogata 1978).

    python experiments/hawkes_coverage.py --out out/hawkes_coverage          # 40 + 200 sets
    python experiments/hawkes_coverage.py --datasets 2 --mle-datasets 8 --warmup 50 --samples 50
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import numpy as np

import wmjax.hawkes as hk
from wmjax.calibrate import fit_bayes, fit_mle_batch

TRUTH = {"mu": 0.5, "alpha": 0.5, "beta": 2.0}


def simulate_sets(key, n_sets: int, horizon_s: float) -> hk.HawkesEvents:
    """n_sets independent 1-D data sets from TRUTH on [0, horizon_s] (one vmapped call)."""
    params = hk.HawkesParams.create(TRUTH["mu"], TRUTH["alpha"], TRUTH["beta"])
    capacity = int(3 * float(hk.expected_count(params, horizon_s)[0])) + 100
    keys = jax.random.split(key, n_sets)
    events = jax.vmap(lambda k: hk.simulate(k, params, horizon_s, capacity, throw=False))(keys)
    assert not bool(np.any(np.asarray(events.overflow))), "raise the capacity"
    return events


def nuts_coverage(events, horizon_s: float, warmup: int, samples: int, chains: int) -> dict:
    """Coverage of the nominal 90 % posterior intervals over the data sets (one fit each)."""
    covered = {name: [] for name in TRUTH}
    for i in range(events.times.shape[0]):  # one NUTS run per data set: the study's replications
        n = int(events.count[i])
        data = (np.asarray(events.times[i])[:n], np.zeros(n, int))
        post = fit_bayes(
            data,
            horizon_s,
            1,
            num_warmup=warmup,
            num_samples=samples,
            num_chains=chains,
            key=jax.random.key(1000 + i),
        )
        for name, true in TRUTH.items():
            q5 = float(np.ravel(post.summary[name]["q5"])[0])
            q95 = float(np.ravel(post.summary[name]["q95"])[0])
            covered[name].append(q5 <= true <= q95)
    r = events.times.shape[0]
    band = 3 * np.sqrt(0.9 * 0.1 / r)
    out = {}
    for name, hits in covered.items():
        cover = float(np.mean(hits))
        out[name] = {"coverage": cover, "within_3_se": bool(abs(cover - 0.9) <= band)}
    out["all"] = float(np.mean([np.mean(h) for h in covered.values()]))
    out["band"] = [0.9 - band, 0.9 + band]
    out["datasets"] = r
    return out


def mle_standard_errors(events, horizon_s: float) -> dict:
    """Mean Hessian SE against the empirical spread of the estimates, per parameter."""
    fit = fit_mle_batch(events, horizon_s, 1, beta_structure="scalar")
    ok = np.asarray(fit.converged)
    out = {"datasets": int(ok.size), "converged": int(ok.sum())}
    for name in TRUTH:
        est = np.asarray(getattr(fit.params, name)).reshape(ok.size, -1)[ok, 0]
        se = np.asarray(getattr(fit.std_errors, name)).reshape(ok.size, -1)[ok, 0]
        spread = float(np.std(est, ddof=1))
        out[name] = {
            "mean_estimate": float(est.mean()),
            "empirical_sd": spread,
            "mean_hessian_se": float(np.nanmean(se)),
            "ratio": float(np.nanmean(se) / spread),
            "within_20pct": bool(abs(np.nanmean(se) / spread - 1) <= 0.2),
        }
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=int, default=40, help="NUTS replications (40)")
    ap.add_argument("--mle-datasets", type=int, default=200, help="MLE replications (200)")
    ap.add_argument("--horizon", type=float, default=500.0, help="seconds per data set (500)")
    ap.add_argument("--warmup", type=int, default=300, help="NUTS warmup per chain (300)")
    ap.add_argument("--samples", type=int, default=300, help="NUTS samples per chain (300)")
    ap.add_argument("--chains", type=int, default=2, help="NUTS chains (2)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (0)")
    ap.add_argument("--out", default="out/hawkes_coverage", help="folder for results.json")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    k_nuts, k_mle = jax.random.split(jax.random.key(args.seed))
    start = time.perf_counter()
    mle = mle_standard_errors(simulate_sets(k_mle, args.mle_datasets, args.horizon), args.horizon)
    mle_s = time.perf_counter() - start
    events = simulate_sets(k_nuts, args.datasets, args.horizon)
    nuts = nuts_coverage(events, args.horizon, args.warmup, args.samples, args.chains)
    result = {
        "truth": TRUTH,
        "horizon_s": args.horizon,
        "nuts": nuts,
        "mle": mle,
        "seconds": {"mle": mle_s, "total": time.perf_counter() - start},
        "args": vars(args),
    }
    (out / "results.json").write_text(json.dumps(result, indent=1))
    print(
        f"NUTS 90% interval coverage over {nuts['datasets']} data sets "
        f"(calibrated: {nuts['band'][0]:.3f}-{nuts['band'][1]:.3f})"
    )
    for name in TRUTH:
        print(f"  {name:6s} {nuts[name]['coverage']:.3f}  within 3 SE: {nuts[name]['within_3_se']}")
    print(
        f"MLE over {mle['converged']}/{mle['datasets']} converged data sets: Hessian SE vs spread"
    )
    for name in TRUTH:
        m = mle[name]
        print(
            f"  {name:6s} SE {m['mean_hessian_se']:.4f}  sd {m['empirical_sd']:.4f}  "
            f"ratio {m['ratio']:.3f}  within 20%: {m['within_20pct']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
