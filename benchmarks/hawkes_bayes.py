"""Bayesian calibration at the size of a study: NUTS (`fit_bayes`) on the 4-D benchmark case.

Simulates the 4-D order-flow case of `benchmarks/hawkes.py` (mu = [.1, .1, .3, .3], the dense
ALPHA_4D, one decay 3 /s) with about `--events` events, then runs `fit_bayes` with one shared
decay and `--chains` chains in each configuration asked for, in this one process:

- `default`: the current defaults (chains started around the MLE, from 8 L-BFGS starts, with
  the inverse Hessian as a fixed dense metric; warmup tunes the step size only);
- `one-start`: the same from one L-BFGS start (enough on well-posed data);
- `one-start-vectorized`: as `one-start` with the chains vectorised on one device (the
  default before fit17's chain placement; the process has one XLA device per core, so the
  default runs one chain per core);
- `prior`: the previous scheme (chains started around the prior medians, diagonal metric
  adapted in warmup) with its old 500 warmup / 500 draws per chain.

For each it prints the wall time (incl. compilation and the MLE and Hessian), the process CPU
time (all threads; less sensitive to other load), the mean leapfrog steps (gradient
evaluations) per draw, and per parameter the effective sample size, ESS per second and r_hat.
Goal (issue 17): ESS >= 400 for every parameter, r_hat < 1.01, in under 60 s on 2 cores.

    python benchmarks/hawkes_bayes.py --events 100000 --configs default,one-start,prior
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

# one XLA CPU device per core, so `fit_bayes` runs its chains in parallel, one per core
os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count={os.cpu_count()}")

import jax
import jax.numpy as jnp
import numpy as np

import wmjax.hawkes as wh
from wmjax.calibrate import fit_bayes
from wmjax.calibrate._inputs import fit_layout
from wmjax.hawkes import layout_log_likelihood

ALPHA_4D = (
    (0.42, 0.07, 0.07, 0.14),
    (0.07, 0.42, 0.14, 0.07),
    (0.21, 0.07, 0.35, 0.07),
    (0.07, 0.21, 0.07, 0.35),
)
CONFIGS = {
    "default": {},
    "one-start": {"n_starts": 1},
    "one-start-vectorized": {"n_starts": 1, "chain_method": "vectorized"},
    "prior": {"start": "prior", "num_warmup": 500, "num_samples": 500},
}
GOAL_ESS, GOAL_RHAT, GOAL_S = 400.0, 1.01, 60.0


def simulate_case(n_events: int, seed: int):
    """(times_s, marks, horizon_s) of the 4-D case with about `n_events` events (float64)."""
    with jax.enable_x64(True):
        params = wh.HawkesParams.create((0.1, 0.1, 0.3, 0.3), ALPHA_4D, 3.0, dtype=jnp.float64)
        horizon = n_events / float(np.sum(wh.stationary_intensity(params)))
        events = wh.simulate(jax.random.key(seed), params, horizon, int(1.3 * n_events + 100))
        n = int(events.count)
        return np.asarray(events.times[:n]), np.asarray(events.marks[:n]), horizon


def parameter_rows(post, wall_s: float) -> list[dict]:
    """One row per free parameter (mu_i, alpha_ij, the shared beta): ESS, ESS/s, r_hat."""
    rows = []
    for site in ("mu", "alpha", "beta"):
        stats = post.summary[site]
        ess, r_hat = np.ravel(stats["ess"]), np.ravel(stats["r_hat"])
        if site == "beta":  # one shared decay, repeated over the (d, d) matrix
            ess, r_hat = ess[:1], r_hat[:1]
        shape = np.shape(stats["ess"]) if site != "beta" else ()
        for flat, (e, r) in enumerate(zip(ess, r_hat, strict=True)):
            index = np.unravel_index(flat, shape) if shape else ()
            name = site + "".join(f"[{i}]" for i in index)
            rows.append({"parameter": name, "ess": float(e), "ess_per_s": e / wall_s, "r_hat": r})
    return rows


def gradient_seconds(times, marks, horizon, chains: int, repeats: int = 20) -> dict:
    """Wall and CPU seconds of one log-likelihood value-and-gradient (one shared decay), alone
    and vmapped over `chains` parameter points (what vectorised NUTS chains evaluate)."""
    with jax.enable_x64(True):
        data = fit_layout(times, marks, horizon, 4)
        point = (
            jnp.array([0.1, 0.1, 0.3, 0.3]),
            jnp.asarray(ALPHA_4D),
            jnp.full((1, 1), 3.0, jnp.float64),
        )
        grad = jax.value_and_grad(
            lambda m, a, b: layout_log_likelihood(m, a, b, data), argnums=(0, 1, 2)
        )
        batch = jax.tree.map(lambda x: jnp.stack([x] * chains), point)
        out = {}
        for label, fn, args in (("one", grad, point), ("vmapped", jax.vmap(grad), batch)):
            fn = jax.jit(fn)
            jax.block_until_ready(fn(*args))
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(repeats):
                jax.block_until_ready(fn(*args))
            out[f"{label}_wall_s"] = (time.perf_counter() - wall) / repeats
            out[f"{label}_cpu_s"] = (time.process_time() - cpu) / repeats
    return out


def run_config(name: str, times, marks, horizon, chains: int, seed: int) -> dict:
    start, cpu = time.perf_counter(), time.process_time()
    post = fit_bayes(
        (times, marks),
        horizon,
        4,
        num_chains=chains,
        beta_structure="scalar",
        key=jax.random.key(seed),
        **CONFIGS[name],
    )
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    rows = parameter_rows(post, wall)
    ess = min(r["ess"] for r in rows)
    r_hat = max(float(r["r_hat"]) for r in rows)
    return {
        "config": name,
        "options": CONFIGS[name],
        "wall_s": wall,
        "cpu_s": cpu,
        "draws": post.num_chains * post.num_samples,
        "mean_steps_per_draw": post.mean_steps,
        "divergences": post.num_divergences,
        "min_ess": ess,
        "max_r_hat": r_hat,
        "min_ess_per_s": ess / wall,
        "goal_met": bool(ess >= GOAL_ESS and r_hat < GOAL_RHAT and wall < GOAL_S),
        "parameters": rows,
    }


def print_results(results: list[dict]) -> None:
    print("## NUTS on the 4-D case, one shared decay (ESS/s = ESS / wall s, wall incl. compile)")
    print(
        "config     wall s   CPU s  draws  steps/draw  div  min ESS  min ESS/s  max r_hat  goal met"
    )
    for r in results:
        print(
            f"{r['config']:<9} {r['wall_s']:7.1f} {r['cpu_s']:7.1f}  {r['draws']:5d}"
            f"  {r['mean_steps_per_draw']:10.2f}"
            f"  {r['divergences']:3d}  {r['min_ess']:7.0f}  {r['min_ess_per_s']:9.2f}"
            f"  {r['max_r_hat']:9.4f}  {r['goal_met']}"
        )
    print("\n## per parameter: ESS, ESS/s, r_hat")
    print(
        "parameter    "
        + "".join(f"{r['config'] + ' ESS':>14}{'ESS/s':>9}{'r_hat':>8}" for r in results)
    )
    for i, row in enumerate(results[0]["parameters"]):
        cells = "".join(
            f"{r['parameters'][i]['ess']:14.0f}{r['parameters'][i]['ess_per_s']:9.2f}"
            f"{float(r['parameters'][i]['r_hat']):8.4f}"
            for r in results
        )
        print(f"{row['parameter']:<13}{cells}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="expected events")
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--configs", default="default", help="comma list of: " + ", ".join(CONFIGS))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = sorted(set(names) - set(CONFIGS))
    if unknown:
        parser.error(f"--configs: unknown {', '.join(unknown)}; choose from {', '.join(CONFIGS)}")
    times, marks, horizon = simulate_case(args.events, args.seed)
    print(
        f"{times.size} events over {horizon:.1f} s; {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}, jax {jax.__version__}"
    )
    grad = gradient_seconds(times, marks, horizon, args.chains)
    print(
        "log-likelihood value+gradient, one decay: "
        f"{1e3 * grad['one_wall_s']:.1f} ms wall / {1e3 * grad['one_cpu_s']:.1f} ms CPU; "
        f"{args.chains} vmapped: {1e3 * grad['vmapped_wall_s']:.1f} / "
        f"{1e3 * grad['vmapped_cpu_s']:.1f} ms",
        flush=True,
    )
    results = []
    for name in names:
        results.append(run_config(name, times, marks, horizon, args.chains, args.seed))
        done = {k: v for k, v in results[-1].items() if k != "parameters"}
        print(json.dumps(done, default=float), flush=True)
    print_results(results)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=float)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
