"""Execution engine throughput: `rollout` path-steps per second and seconds per gradient step,
against a plain-numpy Monte Carlo of the same model run side by side, and the time to converge
of must-show item 3 (the free schedule recovering the Almgren-Chriss trajectory).

    .venv/bin/python benchmarks/execution.py [--paths 4096] [--steps 50] [--repeats 5]

The model: arithmetic Brownian prices, linear permanent and temporary impact, square-root
temporary impact on log-normal interval volumes, log-normal latency ("cloud"); a TWAP sell.
numpy runs it vectorised over paths with a Python loop over steps (the natural numpy code); for
a gradient it needs finite differences, 2 * steps + 1 forward runs (central differences).
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from wmjax.execution import (
    RolloutConfig,
    almgren_chriss,
    free_schedule_policy,
    holdings_from_trades,
    mean_variance,
    order,
    rollout,
    train,
)
from wmjax.market import ImpactMarket, impact_params, latency_scenario

MODEL = dict(
    arrival_price=50.0,
    sigma=0.95,
    daily_volume_shares=5e6,
    volume_noise=0.3,
    gamma=2.5e-7,
    epsilon=0.0625,
    eta=2.5e-6,
    sqrt_coefficient=0.5,
)
X, T, LAM = 1e6, 5.0, 1e-6
DAY_S = 23400.0


def numpy_rollout(rng, fractions, n_paths):
    """IS (currency) per path of the same model, numpy, float64."""
    n = fractions.size
    tau = T / n
    m = MODEL
    lat = latency_scenario("cloud")
    s2 = np.log1p((lat.jitter_us / lat.one_way_latency_us) ** 2)
    vs2 = np.log1p(m["volume_noise"] ** 2)
    volume = (
        m["daily_volume_shares"]
        / n
        * np.exp(np.sqrt(vs2) * rng.standard_normal((n_paths, n)) - 0.5 * vs2)
    )
    price = np.full(n_paths, m["arrival_price"])
    notional = np.zeros(n_paths)
    for k in range(n):
        q = -fractions[k] * X  # a sell
        latency_us = np.exp(
            np.log(lat.one_way_latency_us) - 0.5 * s2 + np.sqrt(s2) * rng.standard_normal(n_paths)
        )
        ell = np.minimum(latency_us * 1e-6 / DAY_S, tau)
        z = rng.standard_normal((n_paths, 2))
        arrive = price + m["sigma"] * np.sqrt(ell) * z[:, 0]
        temp = (
            m["epsilon"] * np.sign(q)
            + m["eta"] * q / tau
            + np.sign(q) * m["sqrt_coefficient"] * m["sigma"] * np.sqrt(abs(q) / volume[:, k])
        )
        notional += -q * (arrive + temp)
        price = arrive + m["sigma"] * np.sqrt(tau - ell) * z[:, 1] + m["gamma"] * q
    return X * m["arrival_price"] - notional


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--converge-paths", type=int, default=16384)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    n, p = args.steps, args.paths
    params = impact_params(n, **{**MODEL, "latency": latency_scenario("cloud")})
    params = params.replace(volume_frac=jnp.full(n, 1.0 / n, jnp.float32))
    o = order(X, T, "sell", LAM)
    cfg = RolloutConfig(n_paths=p, n_steps=n, shard=False)
    market = ImpactMarket()
    logits = jnp.zeros(n)
    key = jax.random.key(0)

    def fwd():
        return rollout(
            key, market, params, free_schedule_policy, logits, o, cfg
        ).is_currency.block_until_ready()

    loss_grad = jax.jit(
        jax.value_and_grad(
            lambda th: mean_variance(
                rollout(key, market, params, free_schedule_policy, th, o, cfg).is_currency, LAM
            )
        )
    )

    def grad():
        return jax.block_until_ready(loss_grad(logits))

    t0 = time.perf_counter()
    fwd()
    compile_fwd = time.perf_counter() - t0
    t0 = time.perf_counter()
    grad()
    compile_grad = time.perf_counter() - t0
    jax_fwd = best_of(fwd, args.repeats)
    jax_grad = best_of(grad, args.repeats)

    rng = np.random.default_rng(0)
    fr = np.full(n, 1.0 / n)
    jax_is = np.asarray(fwd(), np.float64)
    np_is = numpy_rollout(rng, fr, p)
    np_fwd = best_of(lambda: numpy_rollout(rng, fr, p), args.repeats)
    np_grad = np_fwd * (2 * n + 1)  # central finite differences

    # item 3: time to converge (paper example, N = 5, antithetic, fixed keys)
    ac = dict(sigma=0.95, eta=2.5e-6, gamma=2.5e-7, epsilon=0.0625)
    p3 = impact_params(5, **ac)
    o3 = order(X, T, "sell", LAM)
    c3 = RolloutConfig(n_paths=args.converge_paths, n_steps=5, antithetic=True, shard=False)
    sol = almgren_chriss(X, T, 5, **ac, risk_aversion=LAM)
    stamps = []

    def loss3(th, k):
        return (
            mean_variance(rollout(k, market, p3, free_schedule_policy, th, o3, c3).is_currency, LAM)
            / X
        )

    t0 = time.perf_counter()
    res = train(
        loss3,
        jnp.zeros(5),
        optax.adam(optax.cosine_decay_schedule(0.1, 300)),
        jax.random.key(2),
        300,
        fresh_keys=False,
        callback=lambda i, loss: stamps.append(time.perf_counter() - t0),
    )
    dev = float(
        np.abs(
            np.asarray(holdings_from_trades(jax.nn.softmax(res.params) * X, X)) - sol.holdings
        ).max()
        / X
    )
    final = res.losses[-1]
    conv_iter = int(np.argmax(np.abs(res.losses - final) < 1e-3 * abs(final)))

    out = {
        "paths": p,
        "steps": n,
        "path_steps": p * n,
        "jax_rollout_s": jax_fwd,
        "jax_path_steps_per_s": p * n / jax_fwd,
        "numpy_rollout_s": np_fwd,
        "numpy_path_steps_per_s": p * n / np_fwd,
        "rollout_speedup": np_fwd / jax_fwd,
        "jax_grad_step_s": jax_grad,
        "numpy_fd_grad_step_s": np_grad,
        "grad_speedup": np_grad / jax_grad,
        "compile_rollout_s": compile_fwd,
        "compile_grad_s": compile_grad,
        "mean_is_jax": float(jax_is.mean()),
        "mean_is_numpy": float(np_is.mean()),
        "std_is_jax": float(jax_is.std()),
        "std_is_numpy": float(np_is.std()),
        "item3_paths": args.converge_paths,
        "item3_iterations": res.n_done,
        "item3_compile_and_first_step_s": stamps[0],
        "item3_total_s_after_compile": stamps[-1] - stamps[0],
        "item3_converged_iter": conv_iter,
        "item3_converged_s_after_compile": stamps[conv_iter] - stamps[0],
        "item3_max_deviation_frac": dev,
        "device": str(jax.devices()[0]),
        "n_devices": len(jax.devices()),
    }
    if args.json:
        print(json.dumps(out))
        return
    for k, v in out.items():
        print(f"{k:28s} {v:.4g}" if isinstance(v, float) else f"{k:28s} {v}")


if __name__ == "__main__":
    main()
