"""The V-M-C loop closed on the book world (issue 9): record simulator transitions under random
and baseline child orders, fit the action-conditioned `BookDynamics`, check it on held-out keys
(fill-probability calibration, price response to our market orders, next spread/imbalance),
train a placement controller only inside the model (dreaming) and one on the simulator
(`train_placement`), and compare both with the baselines on the same held-out simulator paths.
Writes `world_model_loop.json` and `fill_reliability.png` to --out.

    python experiments/world_model_loop.py --out out/loop
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from wmjax.cli._common import save_figure
from wmjax.cli._placement import compare_on_book
from wmjax.execution import RolloutConfig, book_baselines, order
from wmjax.market import BookMarket, book_key, book_params
from wmjax.models import (
    TOUCH_DEPTH_FEATURE,
    Explore,
    PlacementPolicy,
    best_baseline,
    book_transitions,
    explore_policy,
    fill_calibration,
    fit_book_dynamics,
    improvement_share,
    load_placement,
    market_order_response,
    stack_schedules,
    starts_of,
    state_prediction_mse,
    train_in_dream,
    train_placement,
)


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--latency", default="co-lo")
    p.add_argument("--decisions", type=int, default=5)
    p.add_argument("--horizon-s", type=float, default=5.0)
    p.add_argument("--quantity", type=float, default=1000.0)
    p.add_argument("--risk-aversion", type=float, default=0.1)
    p.add_argument("--events-per-step", type=int, default=128)
    p.add_argument("--data-paths", type=int, default=2048, help="training transitions' paths")
    p.add_argument("--test-paths", type=int, default=1024, help="held-out transitions' paths")
    p.add_argument("--model-steps", type=int, default=600, help="world-model Adam steps")
    p.add_argument("--hidden", type=int, default=64, help="world-model GRU width")
    p.add_argument("--model-batch-paths", type=int, default=128, help="paths per Adam step")
    p.add_argument("--model-learning-rate", type=float, default=3e-3)
    p.add_argument("--policy-paths", type=int, default=128, help="paths per controller step")
    p.add_argument("--policy-steps", type=int, default=60, help="simulator-training steps")
    p.add_argument("--dream-steps", type=int, default=300, help="dream-training steps")
    p.add_argument("--eval-paths", type=int, default=2048, help="held-out evaluation paths")
    p.add_argument("--response-paths", type=int, default=512)
    p.add_argument(
        "--simulator-params",
        help="variables of the simulator-trained controller saved by `wmjax train-placement` "
        "(or `save_placement`) with the same settings; default: train it here",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="world_model_loop_out")
    return p.parse_args(argv)


def run(args) -> dict:
    market = BookMarket(events_per_step=args.events_per_step)
    params = book_params(args.latency)
    lam, n = float(args.risk_aversion), int(args.decisions)
    parent = order(args.quantity, args.horizon_s / market.trading_day_s, "buy", risk_aversion=lam)
    key = book_key(args.seed)
    k_data, k_test, k_model, k_dream, k_sim, k_eval, k_resp = jax.random.split(key, 7)
    schedules = book_baselines(
        market, n, horizon_s=args.horizon_s, risk_aversion=max(lam, 1e-9),
        sigma_bps_per_sqrt_s=1.0, eta_bps_s=1.0,
    )  # fmt: skip
    explore = Explore(stack_schedules(schedules), jnp.float32(0.5))
    out: dict = {"load_average": os.getloadavg(), "args": vars(args)}

    t = time.perf_counter()
    train = book_transitions(
        k_data, market, params, explore_policy, explore, parent, n_paths=args.data_paths, n_steps=n
    )
    test = book_transitions(
        k_test, market, params, explore_policy, explore, parent, n_paths=args.test_paths, n_steps=n
    )
    jax.block_until_ready(test)
    out["record_s"] = time.perf_counter() - t
    fit = fit_book_dynamics(
        k_model, train, n_offsets=market.n_offsets, hidden=args.hidden, n_steps=args.model_steps,
        batch_paths=args.model_batch_paths, learning_rate=args.model_learning_rate,
    )  # fmt: skip
    out["model_fit_s"] = fit.result.seconds
    out["fill"] = fill_calibration(fit, train, test)
    out["state"] = state_prediction_mse(fit, test)
    # the displayed depth our first market order meets (shares / Q; the response's convexity)
    out["touch_depth_q"] = float(jnp.mean(test.features[:, 0, TOUCH_DEPTH_FEATURE]))
    out["response"] = market_order_response(
        k_resp, fit, market, params, parent, n_paths=args.response_paths, n_steps=n
    )

    policy = PlacementPolicy(market.n_offsets)
    init = policy.init(jax.random.key(args.seed), market)
    dream = train_in_dream(
        k_dream, fit, starts_of(train), policy, init, risk_aversion=lam, n_decisions=n,
        n_paths=args.policy_paths, n_steps=args.dream_steps,
    )  # fmt: skip
    out["dream_train_s"] = dream.seconds
    if args.simulator_params:
        sim_params = load_placement(args.simulator_params, policy, market)
    else:
        _, sim = train_placement(
            k_sim, market, params, parent, RolloutConfig(n_paths=args.policy_paths, n_steps=n),
            n_steps=args.policy_steps, policy=policy, variables=init,
        )  # fmt: skip
        out["sim_train_s"], sim_params = sim.seconds, sim.params
    results = compare_on_book(
        k_eval, market, params, parent, n, args.eval_paths,
        {"dream": (policy, dream.params), "simulator": (policy, sim_params)},
    )  # fmt: skip
    baselines = {k: v for k, v in results.items() if k not in ("dream", "simulator")}
    gains = {}
    for name in ("dream", "simulator"):
        best, gain, se = best_baseline(baselines | {name: results[name]}, lam, name)
        gains[name] = {"best_baseline": best, "improvement": gain, "improvement_se": se}
    out["evaluation"] = {
        k: {f: v[f] for f in ("mean_is_bps", "std_is_bps", "objective", "objective_se")}
        for k, v in results.items()
    }
    out["improvements"] = gains
    # both against the same baseline: the best one for the simulator-trained controller
    best = gains["simulator"]["best_baseline"]
    out["share"] = {"baseline": best} | improvement_share(
        results[best]["is_bps"], results["dream"]["is_bps"], results["simulator"]["is_bps"], lam
    )
    out["dream_share_of_simulator_gain"] = out["share"]["share"]
    return out


def reliability_png(bins, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    pred, real, _ = np.asarray(bins).T
    ax.plot([0, 1], [0, 1], "k:", lw=0.8, label="perfect calibration")
    ax.plot(pred, real, "o-", label="BookDynamics (held-out keys)")
    ax.set_xlabel("predicted fill probability (per share)")
    ax.set_ylabel("realised fill fraction")
    ax.legend()
    return save_figure(fig, path)


def main(argv=None) -> dict:
    args = parse(argv)
    res = run(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res["reliability_png"] = str(reliability_png(res["fill"]["bins"], out / "fill_reliability.png"))
    (out / "world_model_loop.json").write_text(json.dumps(res, indent=1))
    f = res["fill"]
    print(
        f"fill Brier {f['brier']:.4f} +- {f['brier_se']:.4f} vs base rate "
        f"{f['brier_base_rate']:.4f} (gain {f['brier_gain']:.4f} +- {f['brier_gain_se']:.4f}, "
        f"n={f['n_test']})"
    )
    print("state", json.dumps(res["state"]))
    print(f"depth at the touch at the first decision: {res['touch_depth_q']:.3f} Q")
    for r in res["response"]:
        print(
            f"market {r['size_q']:.2f} Q: sim {r['sim_response_bps']:+.3f} +- "
            f"{r['sim_response_se']:.3f} bps, model {r['model_response_bps']:+.3f} +- "
            f"{r['model_response_se']:.3f} bps"
        )
    for name, g in res["improvements"].items():
        print(
            f"{name}: improvement over {g['best_baseline']} {g['improvement']:.3f} +- "
            f"{g['improvement_se']:.3f}"
        )
    sh = res["share"]
    print(
        f"over {sh['baseline']}: dream {sh['dream_improvement']:.4f} +- "
        f"{sh['dream_improvement_se']:.4f}, simulator {sh['simulator_improvement']:.4f} +- "
        f"{sh['simulator_improvement_se']:.4f}; dream keeps {sh['share']:.2f} +- "
        f"{sh['share_se']:.2f} (delta method) of the simulator's gain; dream - simulator "
        f"{sh['dream_minus_simulator']:+.4f} +- {sh['dream_minus_simulator_se']:.4f}"
    )
    return res


if __name__ == "__main__":
    main()
