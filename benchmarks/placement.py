"""Placement on the book: environment throughput, training cost, and the trained policy against
the baselines in the four latency scenarios (held-out paths, exact simulator).

The book world v2's millisecond clock: by default 50 decisions of 10 ms (a 0.5 s horizon), the
flow buffer sized to the interval. Training reports seconds per step (median, after the first),
the first step's compile time apart, and the wall time to train.

    .venv/bin/python benchmarks/placement.py [--decisions 50] [--horizon-s 0.5]
        [--train-paths 128] [--train-steps 80] [--eval-paths 2048] [--out DIR]

Writes `results.json`, the policy params (msgpack) and a learning-curve PNG to --out, and
prints markdown tables for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import jax
import numpy as np

from wmjax.execution import RolloutConfig, book_baselines, book_paths, book_schedule_policy, order
from wmjax.market import LATENCY_PRESETS, BookMarket, book_key, book_params, status_dict
from wmjax.models import (
    best_baseline,
    book_ac_eta,
    evaluate_placement,
    save_placement,
    train_placement,
)

QUANTITY = 1000.0
LAMBDA = 0.1  # 1 / bps


def clock_market(horizon_s: float, n_steps: int) -> BookMarket:
    """`BookMarket` with a flow buffer of the interval's expected events (~40/s) and room for
    bursts, as the placement command sizes it."""
    return BookMarket(events_per_step=min(128, max(8, int(np.ceil(horizon_s / n_steps * 120)) + 8)))


def throughput(market, n_paths, n_steps, horizon_s, repeats=2):
    """Env steps/s (paths x decision steps) and flow events/s of the exact simulator."""
    params = book_params("co-lo")
    parent = order(QUANTITY, horizon_s / market.trading_day_s, "buy")
    sched = book_baselines(
        market, n_steps, horizon_s=horizon_s, risk_aversion=LAMBDA, sigma_bps_per_sqrt_s=1.0,
        eta_bps_s=1.0,
    )["twap_limit"]  # fmt: skip
    config = RolloutConfig(n_paths=n_paths, n_steps=n_steps)

    def run(k):
        return book_paths(
            k, market, params, book_schedule_policy, sched, parent, config, throw=False
        )

    t = time.perf_counter()
    jax.block_until_ready(run(book_key(0)))
    first = time.perf_counter() - t
    best = np.inf
    for i in range(repeats):
        t = time.perf_counter()
        out = jax.block_until_ready(run(book_key(1 + i)))
        best = min(best, time.perf_counter() - t)
    events = float(np.sum(out.stats.flow_events))
    return {
        "n_paths": n_paths,
        "seconds": best,
        "first_call_s": first,
        "env_steps_per_s": n_paths * n_steps / best,
        "flow_events_per_s": events / best,
        "flow_overflow_intervals": int(np.sum(out.stats.flow_overflow)),
        "status": status_dict(out.status),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--decisions", type=int, default=50, help="decision intervals")
    ap.add_argument("--horizon-s", type=float, default=0.5, help="horizon, seconds")
    ap.add_argument("--train-paths", type=int, default=128)
    ap.add_argument("--train-steps", type=int, default=80)
    ap.add_argument("--eval-paths", type=int, default=2048)
    ap.add_argument("--temperature", type=float, default=0.3)
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--skip-eval", action="store_true", help="training cost only")
    ap.add_argument("--out", default="benchmarks/placement_out")
    args = ap.parse_args(argv)
    n_steps, horizon_s = args.decisions, args.horizon_s
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    market = clock_market(horizon_s, n_steps)
    report: dict = {
        "machine": f"{platform.machine()}, {jax.device_count()} {jax.default_backend()}",
        "decisions": n_steps,
        "horizon_s": horizon_s,
        "events_per_step": market.events_per_step,
    }

    if not args.skip_throughput:
        report["throughput"] = [throughput(market, n, n_steps, horizon_s) for n in (1024, 4096)]
        for r in report["throughput"]:
            print(
                f"{r['n_paths']} paths: {r['env_steps_per_s']:.0f} env steps/s, "
                f"{r['flow_events_per_s']:.3g} flow events/s ({r['seconds']:.2f} s per rollout)"
            )

    # one policy for all four scenarios: it sees the latency, each step draws a scenario
    parent = order(QUANTITY, horizon_s / market.trading_day_s, "buy", risk_aversion=LAMBDA)
    config = RolloutConfig(n_paths=args.train_paths, n_steps=n_steps)

    def fit():
        start = time.perf_counter()
        out = train_placement(
            book_key(7), market, book_params("co-lo"), parent, config,
            n_steps=args.train_steps, temperature=args.temperature,
            latencies=list(LATENCY_PRESETS),
        )  # fmt: skip
        return time.perf_counter() - start, out

    # the second call reuses the jitted step (compiled once per configuration): its time is the
    # training itself, the difference is the compile
    first_s, _ = fit()
    train_s, (policy, result) = fit()
    per_step = train_s / result.n_done
    save_placement(out_dir / "placement_all_scenarios.msgpack", result.params)
    report["training"] = {
        "paths_per_step": args.train_paths,
        "steps": result.n_done,
        "skipped_steps": result.skipped_steps,
        "total_s": train_s,
        "first_call_s_with_compile": first_s,
        "compile_s": first_s - train_s,
        "s_per_step": per_step,
        "losses": result.losses.tolist(),
    }
    print(
        f"training: {result.n_done} steps x {args.train_paths} paths x {n_steps} decisions of "
        f"{horizon_s / n_steps * 1e3:g} ms in {train_s:.1f} s ({per_step:.3f} s/step; compile "
        f"{first_s - train_s:.0f} s, measured as the first call minus the second; "
        f"{result.skipped_steps} steps skipped for a gradient that was not finite)"
    )
    _plot(result.losses, out_dir / "placement_learning.png")
    if args.skip_eval:
        (out_dir / "results.json").write_text(json.dumps(report, indent=1))
        return

    key_eval = book_key(2026)
    report["scenarios"] = {}
    for name in LATENCY_PRESETS:
        params = book_params(name)
        baselines = book_baselines(
            market, n_steps, horizon_s=horizon_s, risk_aversion=LAMBDA,
            sigma_bps_per_sqrt_s=1.0, eta_bps_s=1.0,
        )  # fmt: skip
        baselines.pop("ac_market")
        strategies = {"policy": (policy, result.params)}
        strategies |= {k: (book_schedule_policy, v) for k, v in baselines.items()}
        res = evaluate_placement(key_eval, market, params, parent, n_steps, args.eval_paths,
                                 strategies)  # fmt: skip
        sigma = float(np.std(res["twap_market"]["is_bps"], ddof=1) * np.sqrt(3.0 / horizon_s))
        ac = book_baselines(
            market, n_steps, horizon_s=horizon_s, risk_aversion=LAMBDA, sigma_bps_per_sqrt_s=sigma,
            eta_bps_s=book_ac_eta(params, parent, horizon_s / n_steps),
        )["ac_market"]  # fmt: skip
        res |= evaluate_placement(key_eval, market, params, parent, n_steps, args.eval_paths,
                                  {"ac_market": (book_schedule_policy, ac)})  # fmt: skip
        best, gain, se = best_baseline(res, LAMBDA)
        report["scenarios"][name] = {
            "results": {k: {f: v for f, v in r.items() if f != "is_bps"} for k, r in res.items()},
            "best_baseline": best,
            "improvement": gain,
            "improvement_se": se,
        }
        overflow = res["policy"]["flow_overflow_intervals"]
        print(f"\n### {name}: policy vs best baseline ({best}): {gain:.4f} +- {se:.4f} "
              f"({gain / se:.1f} SE); {overflow} of {args.eval_paths * n_steps} intervals "
              "overflowed the event buffer\n")  # fmt: skip
        print("| strategy | mean IS bps | std | p95 | fill rate | passive | E+lam*V | SE |")
        print("|---|---|---|---|---|---|---|---|")
        for k, r in sorted(res.items(), key=lambda kv: kv[1]["objective"]):
            print(f"| {k} | {r['mean_is_bps']:.3f} | {r['std_is_bps']:.3f} | "
                  f"{r['p95_is_bps']:.3f} | {r['fill_rate']:.3f} | {r['passive_share']:.3f} | "
                  f"{r['objective']:.4f} | {r['objective_se']:.4f} |")  # fmt: skip

    # the relaxation's gap to the exact simulator for the trained policy, held-out keys
    params = book_params("cloud")
    eval_config = RolloutConfig(n_paths=args.eval_paths, n_steps=n_steps)
    gaps = {}
    exact = None
    for t in (0.0, 1.0, 0.3, 0.1, 0.03, 0.01):
        x = book_paths(key_eval, market, params.replace(temperature=np.float32(t)), policy,
                       result.params, parent, eval_config).is_bps  # fmt: skip
        obj = float(np.mean(x) + LAMBDA * np.var(np.asarray(x), ddof=1))
        exact = obj if t == 0.0 else exact
        gaps[t] = obj - exact
    report["relaxation_gap_cloud"] = gaps
    print("\nrelaxed - exact objective (cloud, trained policy): "
          + ", ".join(f"T={t}: {g:+.2e}" for t, g in gaps.items()))  # fmt: skip
    (out_dir / "results.json").write_text(json.dumps(report, indent=1))


def _plot(losses, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(losses, lw=0.8)
    ax.set_xlabel("training step")
    ax.set_ylabel("relaxed E + lambda Var, bps")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


if __name__ == "__main__":
    main()
