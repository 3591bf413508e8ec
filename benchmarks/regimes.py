"""Regime benchmark: training time of the multi-scale regime detector, and the Gaussian HMM's
EM fit beside it, in one run.

For each batch size in --batches: the detector's compile time (first update minus a steady
update) and steady updates/s and simulated minutes/s (each update simulates its batch afresh),
wall and process-CPU time. Then EM on the minute features of --hmm-paths paths: seconds per EM
iteration (one forward-backward over every sequence plus the M-step, float64). The ratio rows
compare batch sizes and the detector update with an EM iteration on the same number of minutes.

    python benchmarks/regimes.py                 # about 2-4 minutes on 2 quiet cores
    python benchmarks/regimes.py --quick         # smoke run
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import jax
import numpy as np

from wmjax.market import RegimeMarketConfig, regime_market_params, simulate_regime_batch
from wmjax.models import fit_hmm, train_regime_detector


def _detector(batch: int, updates: int, config, params) -> dict:
    wall, cpu = [], []

    def tick(step, loss):
        wall.append(time.perf_counter())
        cpu.append(time.process_time())

    w0, c0 = time.perf_counter(), time.process_time()
    fit = train_regime_detector(
        jax.random.key(0), params, config, batch=batch, n_updates=updates, callback=tick
    )
    steady_w = (wall[-1] - wall[0]) / (len(wall) - 1)
    steady_c = (cpu[-1] - cpu[0]) / (len(cpu) - 1)
    minutes = batch * config.n_minutes
    return {
        "batch": batch,
        "updates": updates,
        "total_wall_s": wall[-1] - w0,
        "compile_wall_s": wall[0] - w0 - steady_w,
        "compile_cpu_s": cpu[0] - c0 - steady_c,
        "update_wall_ms": 1e3 * steady_w,
        "update_cpu_ms": 1e3 * steady_c,
        "minutes_per_s": minutes / steady_w,
        "final_loss": float(np.mean(fit.result.losses[-10:])),
    }


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", default="16,32", help="comma list of paths per update")
    p.add_argument("--updates", type=int, default=60)
    p.add_argument("--sessions", type=int, default=4)
    p.add_argument("--hmm-paths", type=int, default=32)
    p.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    args = p.parse_args(argv)
    if args.quick:
        args.batches, args.updates, args.sessions, args.hmm_paths = "4,8", 6, 1, 4
    config = RegimeMarketConfig(n_sessions=args.sessions, minutes_per_session=60)
    params = regime_market_params()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; load {os.getloadavg()}")
    print(f"paths of {config.n_minutes} minutes x {config.ticks_per_minute} tick slots")
    rows = [_detector(int(b), args.updates, config, params) for b in args.batches.split(",")]
    for r in rows:
        print(
            f"detector batch {r['batch']:3d}: compile {r['compile_wall_s']:.1f} s wall "
            f"({r['compile_cpu_s']:.1f} s CPU); update {r['update_wall_ms']:.0f} ms wall "
            f"({r['update_cpu_ms']:.0f} ms CPU); {r['minutes_per_s']:,.0f} simulated minutes/s; "
            f"{args.updates} updates in {r['total_wall_s']:.1f} s"
        )
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        print(
            f"ratio update time batch {b['batch']}/{a['batch']}: "
            f"{b['update_wall_ms'] / a['update_wall_ms']:.2f} (ideal {b['batch'] / a['batch']:.0f})"
        )
    _, feats = simulate_regime_batch(jax.random.key(1), params, config, args.hmm_paths)
    x = np.asarray(feats.minute, np.float64)
    fit_hmm(jax.random.key(2), x, 4, n_iter=50, n_restarts=1, tol=1e9)  # compile; stops at 2
    w0 = time.perf_counter()
    hmm = fit_hmm(jax.random.key(2), x, 4, n_iter=50, n_restarts=1, tol=0.0)
    em_s = (time.perf_counter() - w0) / hmm.n_iter_done
    print(
        f"HMM EM: {1e3 * em_s:.0f} ms per iteration on {x.shape[0]} x {x.shape[1]} minutes; "
        f"ratio detector update (batch {rows[-1]['batch']}) / EM iteration: "
        f"{rows[-1]['update_wall_ms'] / 1e3 / em_s:.2f}"
    )
    print(f"load after: {os.getloadavg()}")
    return {"detector": rows, "em_iteration_s": em_s}


if __name__ == "__main__":
    main()
