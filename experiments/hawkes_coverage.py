"""Replicated calibration study (issue 10, must-show 3): do the fits' uncertainties mean what
they say?

1. NUTS: simulate R data sets from one known 1-D Hawkes process, fit them all by
   `fit_bayes_batch` (`fit_bayes`'s model, one vmapped sampler, no Python loop), and count how
   often each parameter's nominal 90 % interval (q5-q95) covers the truth. Over R
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
from wmjax.calibrate import fit_bayes_batch, fit_mle_batch

TRUTH = {"mu": 0.5, "alpha": 0.5, "beta": 2.0}


def simulate_sets(key, n_sets: int, horizon_s: float) -> hk.HawkesEvents:
    """n_sets independent 1-D data sets from TRUTH on [0, horizon_s] (one vmapped call)."""
    params = hk.HawkesParams.create(TRUTH["mu"], TRUTH["alpha"], TRUTH["beta"])
    capacity = int(3 * float(hk.expected_count(params, horizon_s)[0])) + 100
    keys = jax.random.split(key, n_sets)
    events = jax.vmap(lambda k: hk.simulate(k, params, horizon_s, capacity, throw=False))(keys)
    assert not bool(np.any(np.asarray(events.overflow))), "raise the capacity"
    return events


def nuts_coverage(key, events, horizon_s: float, warmup: int, samples: int, chains: int) -> dict:
    """Coverage of the nominal 90 % posterior intervals over the data sets: one NUTS run per
    data set, all in one vmapped call (`fit_bayes_batch`)."""
    post = fit_bayes_batch(
        events,
        horizon_s,
        1,
        num_warmup=warmup,
        num_samples=samples,
        num_chains=chains,
        key=key,
        beta_structure="scalar",
    )
    r = events.times.shape[0]
    se = float(np.sqrt(0.9 * 0.1 / r))  # binomial SE of the coverage if calibrated
    out = {}
    for name, true in TRUTH.items():
        q5 = np.asarray(post.summary[name]["q5"]).reshape(r, -1)[:, 0]
        q95 = np.asarray(post.summary[name]["q95"]).reshape(r, -1)[:, 0]
        cover = float(np.mean((q5 <= true) & (true <= q95)))
        out[name] = {
            "coverage": cover,
            "z": (cover - 0.9) / se,
            "within_3_se": bool(abs(cover - 0.9) <= 3 * se),
            "max_r_hat": float(np.max(post.summary[name]["r_hat"])),
            "min_ess": float(np.min(post.summary[name]["ess"])),
        }
    out["binomial_se"] = se
    out["band"] = [0.9 - 3 * se, 0.9 + 3 * se]
    out["datasets"] = r
    out["divergences"] = int(np.sum(post.num_divergences))
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
    k_fit = jax.random.fold_in(k_nuts, 1)  # the samplers' key; the data keep k_nuts and k_mle
    start = time.perf_counter()
    mle = mle_standard_errors(simulate_sets(k_mle, args.mle_datasets, args.horizon), args.horizon)
    mle_s = time.perf_counter() - start
    events = simulate_sets(k_nuts, args.datasets, args.horizon)
    nuts_start = time.perf_counter()
    nuts = nuts_coverage(k_fit, events, args.horizon, args.warmup, args.samples, args.chains)
    nuts_s = time.perf_counter() - nuts_start
    result = {
        "truth": TRUTH,
        "horizon_s": args.horizon,
        "nuts": nuts,
        "mle": mle,
        "seconds": {"mle": mle_s, "nuts": nuts_s, "total": time.perf_counter() - start},
        "args": vars(args),
    }
    (out / "results.json").write_text(json.dumps(result, indent=1))
    print(
        f"NUTS 90% interval coverage over {nuts['datasets']} data sets "
        f"(binomial SE {nuts['binomial_se']:.3f}; calibrated: "
        f"{nuts['band'][0]:.3f}-{nuts['band'][1]:.3f}; {nuts['divergences']} divergences)"
    )
    for name in TRUTH:
        n = nuts[name]
        print(
            f"  {name:6s} {n['coverage']:.3f} ({n['z']:+.1f} SE)  within 3 SE: {n['within_3_se']}"
            f"  max r_hat {n['max_r_hat']:.3f}  min ESS {n['min_ess']:.0f}"
        )
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
