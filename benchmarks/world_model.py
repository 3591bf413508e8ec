"""World model of the order book: training samples/s and time per epoch on a LOBSTER day,
single-state inference latency (one jitted encoder + policy + dynamics step; median and p99),
batched inference states/s, and dream-training vs simulator-training steps/s of the same
placement controller on the book world (the same paths per step, compilation excluded).

    python benchmarks/world_model.py [--epochs 1] [--latency-repeats 2000]
        [--batch 4096] [--messages M --orderbook B] [--out benchmarks/world_model_out]
        [--controller-steps 20] [--controller-paths 128] [--skip-training] [--skip-dream]

Default data: AMZN 2012-06-21 level 1 from the shared data folder beside the repository.
Writes results.json to --out and prints a markdown table for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from wmjax.data import load_lobster
from wmjax.features import stream_from_lobster
from wmjax.models import (
    OrderBookWorldModel,
    WorldDataConfig,
    WorldModelConfig,
    fit_world_model,
    prepare_world_data,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "lobster"
AMZN = "AMZN_2012-06-21_34200000_57600000_{}_1.csv"


def training(messages, orderbook, epochs: int) -> dict:
    stream = stream_from_lobster(load_lobster(messages, orderbook))
    config = WorldDataConfig()
    t = time.perf_counter()
    prep = prepare_world_data(stream, config, float(stream.times_s[-1]) - 7200.0)
    prep_s = time.perf_counter() - t
    fit = fit_world_model(
        jax.random.key(0), prep.data, prep.normalizer, prep.train_rows, config, epochs=epochs
    )
    run_s = fit.seconds - fit.compile_seconds
    return {
        "rows": stream.rows,
        "train_rows": int(prep.train_rows.size),
        "features_and_labels_s": prep_s,
        "compile_s": fit.compile_seconds,
        "train_samples_per_s": fit.samples_per_s,
        "seconds_per_epoch": run_s / epochs,
    }


def inference(repeats: int, batch: int) -> dict:
    """Single-state latency of one jitted encoder + policy + dynamics step, median / p99 over
    `repeats` calls of each variant, interleaved call by call so that the load falls on all
    alike: the weights compiled in (jit, and the same ahead-of-time compiled, which skips the
    jit cache lookup), the weights passed as arguments, and a jitted no-op on the same three
    arrays (the dispatch floor: what a call costs with no model). Inputs are placed on the
    device before timing; each call blocks on its result. Then batched states/s (vmap)."""
    cfg = WorldModelConfig()
    model = OrderBookWorldModel(cfg)
    h, lob, flow = jnp.zeros(cfg.gru_hidden), jnp.ones(cfg.lob_dim), jnp.ones(cfg.flow_dim)
    v = model.init(jax.random.key(0), h, lob, flow, method=model.infer)

    def infer(v, h, lob, flow):
        return model.apply(v, h, lob, flow, method=model.infer)

    one = jax.jit(infer)
    t = time.perf_counter()
    jax.block_until_ready(one(v, h, lob, flow))
    compile_s = time.perf_counter() - t
    # deployment form: the weights baked into the compiled step (3 array arguments, not ~40)
    baked = jax.jit(lambda h, lob, flow: infer(v, h, lob, flow))
    variants = {
        "weights_compiled_in": (baked, (h, lob, flow)),
        "aot_compiled": (baked.lower(h, lob, flow).compile(), (h, lob, flow)),
        "params_as_args": (one, (v, h, lob, flow)),
        "noop_dispatch_floor": (jax.jit(lambda h, lob, flow: (h + 1, lob, flow)), (h, lob, flow)),
    }
    lat = {k: np.empty(repeats) for k in variants}
    for fn, args in variants.values():
        jax.block_until_ready(fn(*args))
    load_start = os.getloadavg()
    for i in range(repeats):
        for k, (fn, args) in variants.items():
            t = time.perf_counter()
            jax.block_until_ready(fn(*args))
            lat[k][i] = time.perf_counter() - t
    load_end = os.getloadavg()
    many = jax.jit(jax.vmap(infer, in_axes=(None, 0, 0, 0)))
    hb = jnp.zeros((batch, cfg.gru_hidden))
    lb = jax.random.normal(jax.random.key(1), (batch, cfg.lob_dim))
    fb = jax.random.normal(jax.random.key(2), (batch, cfg.flow_dim))
    jax.block_until_ready(many(v, hb, lb, fb))
    best = np.inf
    for _ in range(5):
        t = time.perf_counter()
        jax.block_until_ready(many(v, hb, lb, fb))
        best = min(best, time.perf_counter() - t)
    median = float(np.median(lat["weights_compiled_in"]))
    out = {
        "compile_s": compile_s,
        "repeats": repeats,
        "load_average_during": [load_start, load_end],
    }
    for k, x in lat.items():
        out[k] = {
            f"{name}_us": float(np.quantile(x, q) * 1e6)
            for name, q in (("median", 0.5), ("p90", 0.9), ("p99", 0.99))
        }
        out[k]["share_under_100us"] = float(np.mean(x < 100e-6))
    return out | {
        "batch": batch,
        "batched_states_per_s": batch / best,
        "batched_speedup_vs_single": (batch / best) * median,
    }


def dream_vs_simulator(n_steps: int, n_paths: int) -> dict:
    """Steps/s of `train_in_dream` and `train_placement` for one `PlacementPolicy` on the
    CLI's book problem (1,000 shares over 5 s in 5 decisions, co-lo), `n_paths` paths per
    step; each is compiled by a 1-step call first, then timed over `n_steps` steps."""
    from wmjax.execution import RolloutConfig, book_baselines, order
    from wmjax.market import BookMarket, book_key, book_params
    from wmjax.models import (
        Explore,
        PlacementPolicy,
        book_transitions,
        explore_policy,
        fit_book_dynamics,
        stack_schedules,
        starts_of,
        train_in_dream,
        train_placement,
    )

    market, params, n_dec, horizon_s = BookMarket(), book_params("co-lo"), 5, 5.0
    parent = order(1000.0, horizon_s / market.trading_day_s, "buy", risk_aversion=0.1)
    schedules = book_baselines(
        market, n_dec, horizon_s=horizon_s, risk_aversion=0.1, sigma_bps_per_sqrt_s=1.0,
        eta_bps_s=1.0,
    )  # fmt: skip
    explore = Explore(stack_schedules(schedules), jnp.float32(0.5))
    data = book_transitions(
        book_key(1), market, params, explore_policy, explore, parent, n_paths=256, n_steps=n_dec
    )
    fit = fit_book_dynamics(jax.random.key(0), data, n_offsets=market.n_offsets, n_steps=20)
    policy = PlacementPolicy(market.n_offsets)
    v = policy.init(jax.random.key(0), market)
    config = RolloutConfig(n_paths=n_paths, n_steps=n_dec)

    def dream(n):
        return train_in_dream(
            jax.random.key(1), fit, starts_of(data), policy, v, risk_aversion=0.1,
            n_decisions=n_dec, n_paths=n_paths, n_steps=n,
        ).seconds  # fmt: skip

    def simulator(n):
        return train_placement(
            book_key(2), market, params, parent, config, n_steps=n, policy=policy, variables=v
        )[1].seconds

    out = {"controller_paths_per_step": n_paths, "timed_steps": n_steps}
    for name, fn in (("dream", dream), ("simulator", simulator)):
        out[f"{name}_compile_and_first_step_s"] = fn(1)
        out[f"{name}_steps_per_s"] = n_steps / fn(n_steps)
    out["dream_speedup"] = out["dream_steps_per_s"] / out["simulator_steps_per_s"]
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", default=str(SHARED / AMZN.format("message")))
    p.add_argument("--orderbook", default=str(SHARED / AMZN.format("orderbook")))
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--latency-repeats", type=int, default=20000)
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--skip-training", action="store_true", help="no LOBSTER training figures")
    p.add_argument("--skip-dream", action="store_true", help="no dream vs simulator figures")
    p.add_argument("--controller-steps", type=int, default=20)
    p.add_argument("--controller-paths", type=int, default=128)
    p.add_argument("--out", default="benchmarks/world_model_out")
    args = p.parse_args(argv)
    res = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "load_average": os.getloadavg(),
        "inference": inference(args.latency_repeats, args.batch),
    }
    if not args.skip_training:
        res["training"] = training(args.messages, args.orderbook, args.epochs)
    if not args.skip_dream:
        res["controller"] = dream_vs_simulator(args.controller_steps, args.controller_paths)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(res, indent=1))
    inf = res["inference"]
    print("| figure | value |\n|---|---|")
    for k in ("weights_compiled_in", "aot_compiled", "params_as_args", "noop_dispatch_floor"):
        q = inf[k]
        print(f"| single-state latency, {k}, median / p90 / p99 (us) | {q['median_us']:.0f} / "
              f"{q['p90_us']:.0f} / {q['p99_us']:.0f} ({100 * q['share_under_100us']:.1f}% "
              "under 100 us) |")  # fmt: skip
    print(f"| batched states/s (batch {inf['batch']}) | {inf['batched_states_per_s']:,.0f} |")
    print(f"| batched / single-state throughput | {inf['batched_speedup_vs_single']:.0f}x |")
    print(f"| load average during the latency loop | {inf['load_average_during']} |")
    if "training" in res:
        tr = res["training"]
        print(f"| training sequences/s | {tr['train_samples_per_s']:,.0f} |")
        print(f"| seconds per epoch ({tr['train_rows']} rows) | {tr['seconds_per_epoch']:.1f} |")
        print(f"| compile (s) | {tr['compile_s']:.1f} |")
    if "controller" in res:
        c = res["controller"]
        print(f"| dream-training steps/s ({c['controller_paths_per_step']} paths) | "
              f"{c['dream_steps_per_s']:.2f} |")  # fmt: skip
        print(f"| simulator-training steps/s (same) | {c['simulator_steps_per_s']:.2f} |")
        print(f"| dream / simulator | {c['dream_speedup']:.1f}x |")
    print(f"load average {res['load_average']} (start), {os.getloadavg()} (end)")
    return res


if __name__ == "__main__":
    main()
