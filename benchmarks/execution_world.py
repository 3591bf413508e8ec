"""Execution world models: training time of each model, the surrogate pre-trade against the
simulator, AC world model inference per order, and the accuracy figures of issue 11.

    python benchmarks/execution_world.py [--only ac,impact,impact_book,world] [--save-weights]
        [--ac-updates 2500] [--plan-steps 4] [--ac-pretrained] [--impact-updates 4000]
        [--world-updates 1500]
        [--book-metaorders 192] [--book-paths 16] [--book-updates 1000] [--json out.json]

`--save-weights` writes the AC world model to wmjax/models/weights/ac_world_v1.msgpack (the
pre-trained model the tests check against the tridiagonal oracle on held-out problems);
`--ac-pretrained` scores those packaged weights instead of training.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np

from wmjax.analytics import (
    athl_cost_bps,
    istar_cost_bps,
    mean_se,
    named_strategy_params,
    prediction_metrics,
    pretrade,
    reliability,
    standard_strategies,
)
from wmjax.analytics._desk import desk_market_params
from wmjax.execution import objective_covariance, order, ranking_swaps, time_varying_ac_trades
from wmjax.market import ImpactMarket, book_key, expected_gamma_path, expected_paths
from wmjax.models import (
    IMPACT_LAWS,
    AlmgrenChrissWorldModel,
    BookMetaorderDistribution,
    ExecutionWorldModel,
    MarketImpactModel,
    MetaorderDistribution,
    PathDistribution,
    Plan,
    batch_schedules,
    contrast_effects,
    fit_square_root_law,
    in_flight_scores,
    intraday_markets,
    load_ac_world,
    sample_problems,
    save_ac_world,
    save_execution_world,
    simulate_book_metaorders,
    simulate_metaorders,
    simulate_plans,
    size_slope,
    square_root_law_bps,
    train_ac_heads,
    train_ac_world_model,
    train_execution_world_model,
    train_impact_model,
)
from wmjax.models._ac_world import PRETRAINED, ac_market_features
from wmjax.models._execution_world import PRETRAINED as EW_PRETRAINED


def _timed(fn, *args, **kw):
    start = time.perf_counter()
    out = jax.block_until_ready(fn(*args, **kw))
    return out, time.perf_counter() - start


def oracle_errors(model, params, problems) -> dict:
    """Max |holdings difference| / X per problem against the tridiagonal optimum: the model, its
    policy without the planning steps, and the closed form at the mean parameters without and
    with them."""
    lam = problems["risk_aversion_bps"] * 1e4 / (problems["quantity_shares"] * 50.0)
    with jax.enable_x64(True):
        f64 = {k: jnp.asarray(v, jnp.float64) for k, v in problems.items()}
        oracle = jax.vmap(time_varying_ac_trades)(
            f64["sigma_path"],
            f64["eta_path"],
            lam.astype(jnp.float64),
            f64["horizon_days"],
            f64["gamma_path"],
        )
        oracle = np.asarray(oracle)
    bare = replace(model, plan_steps=0)
    init = model.init(jax.random.key(0))
    out = {}
    for name, m, p in (
        ("world_model", model, params),
        ("policy_alone", bare, params),
        ("closed_form", bare, init),
        ("closed_form_planned", model, init),
    ):
        f = np.asarray(batch_schedules(m, p, problems), float)
        err = np.abs(np.cumsum(f - oracle, axis=-1)).max(-1)
        out[name] = {
            q: float(np.quantile(err, v))
            for q, v in (("median", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
        }
        out[name]["share_within_1pct"] = float(np.mean(err < 0.01))
    return out


def bench_ac(args) -> dict:
    model = AlmgrenChrissWorldModel(plan_steps=args.plan_steps)
    if args.ac_pretrained:
        # the packaged policy; the heads are refitted below
        loaded = load_ac_world(model=model)
        params = model.init(jax.random.key(0)).replace(policy=loaded.policy)
        train = {"train_s": None, "updates": 0}
        if args.ac_gamma_continue:
            params = params.replace(gamma_policy=loaded.gamma_policy)
        if args.ac_gamma_updates:
            # the gamma correction alone, from a fresh (zero) one or, with --ac-gamma-continue,
            # the packaged one; the policy frozen
            result = train_ac_world_model(
                jax.random.key(args.seed),
                model,
                n_updates=args.ac_gamma_updates,
                n_orders=16,
                n_paths=128,
                learning_rate=args.ac_gamma_lr,
                init_params=params,
                train_policy=False,
                clip_norm=args.ac_clip_norm,
            )
            params = result.params
            train = {
                "gamma_lr": args.ac_gamma_lr,
                "gamma_continued": args.ac_gamma_continue,
                "clip_norm": args.ac_clip_norm,
                "gamma_train_s": result.seconds,
                "gamma_updates": result.n_done,
                "final_loss_ratio_vs_closed_form": float(np.mean(result.losses[-50:])),
            }
        else:
            params = params.replace(gamma_policy=loaded.gamma_policy)
    else:
        result = train_ac_world_model(
            jax.random.key(1), model, n_updates=args.ac_updates, n_orders=16, n_paths=128
        )
        train = {
            "train_s": result.seconds,
            "updates": result.n_done,
            "final_loss_ratio_vs_closed_form": float(np.mean(result.losses[-50:])),
        }
        params = result.params
    markets = intraday_markets(jax.random.key(2), 512, model.n_steps)
    params, heads_s = _timed(train_ac_heads, jax.random.key(3), model, params, markets)
    if args.save_weights:
        save_ac_world(PRETRAINED, params)
    # the same 1,000 problems without permanent impact (issue 11's must-show 1) and with gamma_k
    held_out = PathDistribution(gamma_ratio=(0.0, 0.0)).sample(jax.random.key(12345), 1000)
    errors = oracle_errors(model, params, held_out)
    held_out_gamma = PathDistribution().sample(jax.random.key(12345), 1000)
    errors_gamma = oracle_errors(model, params, held_out_gamma)
    test_markets = intraday_markets(jax.random.key(7), 256, model.n_steps)
    sig, eta, _ = jax.vmap(expected_paths)(test_markets)
    gam = jax.vmap(expected_gamma_path)(test_markets)
    fs, fe, fg = model.fit_paths(params, jax.vmap(ac_market_features)(test_markets))
    log_sq = jnp.log(fs / sig) ** 2 + jnp.log(fe / eta) ** 2 + jnp.log(fg / gam) ** 2
    heads = {
        "log_rmse": float(jnp.sqrt(jnp.mean(log_sq))),
        "sigma_max_rel_err": float(jnp.max(jnp.abs(fs / sig - 1))),
        "eta_max_rel_err": float(jnp.max(jnp.abs(fe / eta - 1))),
        "gamma_max_rel_err": float(jnp.max(jnp.abs(fg / gam - 1))),
    }
    # the schedule planned on the heads' paths against the optimum on the exact paths
    n = test_markets.n_steps
    problems = {
        "sigma_path": fs,
        "eta_path": fe,
        "gamma_path": fg,
        "risk_aversion_bps": jnp.full(256, 3e-3),
        "quantity_shares": jnp.full(256, 3e5),
        "horizon_days": jnp.full(256, 1.0),
    }
    lam = 3e-3 * 1e4 / (3e5 * 50.0)
    exact = jax.vmap(time_varying_ac_trades, in_axes=(0, 0, None, None, 0))(sig, eta, lam, 1.0, gam)
    on_heads = batch_schedules(model, params, problems)
    heads["schedule_max_err_on_heads_paths_frac_of_X"] = float(
        jnp.max(jnp.abs(jnp.cumsum(on_heads - exact, axis=-1)))
    )
    one = {k: v[:1] for k, v in held_out.items()}
    run = jax.jit(lambda p, pr: batch_schedules(model, p, pr))
    _, compile_s = _timed(run, params, one)
    _, per_order_s = _timed(run, params, one)
    _timed(run, params, held_out)  # compile for the batch shape
    _, batch_s = _timed(run, params, held_out)
    return {
        **train,
        "plan_steps": model.plan_steps,
        "intervals": n,
        "heads_train_s": heads_s,
        "heads": heads,
        "holdings_error_vs_oracle_frac_of_X": errors,
        "holdings_error_vs_oracle_with_gamma_frac_of_X": errors_gamma,
        "inference_compile_s": compile_s,
        "inference_per_order_s": per_order_s,
        "inference_per_order_in_batch_of_1000_s": batch_s / 1000,
    }


def bench_impact(args) -> dict:
    out = {}
    dist = MetaorderDistribution()
    for law in args.laws.split(","):
        train_set = simulate_metaorders(
            jax.random.key(1), dist.sample(jax.random.key(2), 4000), law
        )
        test_set = simulate_metaorders(jax.random.key(3), dist.sample(jax.random.key(4), 1000), law)
        model = MarketImpactModel()
        result = train_impact_model(
            jax.random.key(5), train_set, model, n_updates=args.impact_updates
        )
        perm, temp = model(result.params, test_set["features"])
        realised = perm / 2 * (1 - 1 / 20) + temp
        t = {k: np.asarray(v, float) for k, v in test_set.items()}
        athl = [
            athl_cost_bps(s * v, v, sd, h)["J_bps"]
            for s, v, sd, h in zip(
                t["size_adv"],
                t["adv_shares"],
                t["daily_volatility"],
                t["horizon_days"],
                strict=True,
            )
        ]
        istar = [
            istar_cost_bps(s * v, v, sd, v * h)["total_bps"]
            for s, v, sd, h in zip(
                t["size_adv"],
                t["adv_shares"],
                t["daily_volatility"],
                t["horizon_days"],
                strict=True,
            )
        ]
        out[law] = {
            "train_s": result.seconds,
            "slope_temporary_in_size": size_slope(model, result.params),
            "rmse_temporary_bps": prediction_metrics(temp, t["temporary_bps"])["rmse"],
            "rmse_permanent_bps": prediction_metrics(perm, t["permanent_bps"])["rmse"],
            "rmse_realised_bps": prediction_metrics(realised, t["realised_bps"])["rmse"],
            "athl_formula_rmse_realised_bps": prediction_metrics(athl, t["realised_bps"])["rmse"],
            "istar_formula_rmse_realised_bps": prediction_metrics(istar, t["realised_bps"])["rmse"],
        }
    return out


def bench_impact_book(args) -> dict:
    """MarketImpactModel on TWAPs of market orders executed on the book world: trained on the
    first 3/4 of the drawn metaorders, scored on the rest beside the square-root law fitted on
    the same training metaorders and the training mean (the simple baseline)."""
    dist = BookMetaorderDistribution(size_shares=(300.0, 10000.0), horizon_s=(5.0, 30.0))
    draws = dist.sample(jax.random.key(21), args.book_metaorders)
    data, sim_s = _timed(
        simulate_book_metaorders, book_key(22), draws, n_paths=args.book_paths, n_steps=8
    )
    n_train = 3 * args.book_metaorders // 4
    train_set = jax.tree.map(lambda x: x[:n_train], data)
    test_set = jax.tree.map(lambda x: x[n_train:], data)
    # a small net: ~100 noisy metaorders would be memorised by the 64-unit default
    model = MarketImpactModel(hidden=16)
    result = train_impact_model(
        jax.random.key(23), train_set, model, n_updates=args.book_updates, relative=False
    )
    perm, temp = model(result.params, test_set["features"])
    learned = np.asarray(perm / 2 * (1 - 1 / 8) + temp, float)
    fit = fit_square_root_law(train_set)
    actual = np.asarray(test_set["realised_bps"], float)
    preds = {
        "learned": learned,
        "square_root_law": square_root_law_bps(fit, test_set),
        "train_mean": np.full_like(actual, float(np.mean(train_set["realised_bps"]))),
    }
    scores = {name: prediction_metrics(p, actual) for name, p in preds.items()}
    paired = {}
    for name in ("square_root_law", "train_mean"):
        gain = (preds[name] - actual) ** 2 - (learned - actual) ** 2
        paired[f"mse_{name}_minus_learned"] = {
            "mean": float(gain.mean()),
            "se": float(gain.std(ddof=1) / np.sqrt(gain.size)),
        }
    typical = {k: float(np.median(np.asarray(train_set[k]))) for k in ("depth", "daily_volatility")}
    horizon = float(np.median(np.asarray(train_set["horizon_days"])))
    sizes = (
        float(np.quantile(train_set["size_adv"], 0.1)),
        float(np.quantile(train_set["size_adv"], 0.9)),
    )
    return {
        "metaorders": {"train": n_train, "test": args.book_metaorders - n_train},
        "paths_per_metaorder": args.book_paths,
        "simulation_s": sim_s,
        "train_s": result.seconds,
        "realised_bps_range": [float(actual.min()), float(actual.max())],
        "label_noise_rms_se_bps": float(
            np.sqrt(np.mean(np.asarray(test_set["realised_se_bps"]) ** 2))
        ),
        "square_root_law_fit": fit,
        "rmse_realised_bps": {k: v["rmse"] for k, v in scores.items()},
        "bias_realised_bps": {k: v["bias"] for k, v in scores.items()},
        "paired_mse_gain": paired,
        "learned_size_slope": size_slope(
            model,
            result.params,
            depth=typical["depth"],
            daily_volatility=typical["daily_volatility"],
            horizon_days=horizon,
            sizes=sizes,
        ),
    }


def bench_world(args) -> dict:
    train_data = sample_problems(jax.random.key(1), args.world_problems)
    labels, sim_s = _timed(simulate_plans, jax.random.key(2), *train_data, per_path=True)
    test_data = sample_problems(jax.random.key(3), 1000)
    test_labels = simulate_plans(jax.random.key(4), *test_data, n_paths=256, per_path=True)
    model = ExecutionWorldModel()
    result = train_execution_world_model(
        jax.random.key(5), train_data, labels, model, n_updates=args.world_updates
    )
    if args.save_weights:
        save_execution_world(EW_PRETRAINED, result.params)
    imagine = jax.jit(jax.vmap(model.imagine, in_axes=(None, 0, 0, 0)))
    out = imagine(result.params, test_data[2], test_data[0], test_data[1])
    shortfall = prediction_metrics(out["is_mean_bps"], test_labels["is_mean_bps"])
    rel = reliability(np.asarray(out["completion_prob"]), np.asarray(test_labels["completion"]))
    effects = contrast_effects(
        jax.random.key(6), model, result.params, test_data, args.world_pairs, n_paths=256
    )
    responses = {
        name: {
            target: {
                "simulator_mean": mean_se(e["simulator"][target]),
                "model_mean": float(np.mean(e["model"][target])),
                "rmse": float(np.sqrt(np.mean((e["model"][target] - e["simulator"][target]) ** 2))),
                "corr": float(np.corrcoef(e["model"][target], e["simulator"][target])[0, 1]),
            }
            for target in ("is_mean_bps", "completion")
        }
        for name, e in effects.items()
    }
    in_flight = in_flight_scores(model, result.params, test_data, test_labels)
    # surrogate pre-trade vs the simulator on a desk market: 5 standard strategies
    o = order(2e5, 0.5, "buy", risk_aversion=0.5)
    mp = desk_market_params(10, 0.5)
    strategies = standard_strategies(o, mp)
    names = tuple(s.name for s in strategies)
    sp = named_strategy_params(names, o, mp)
    zeros = jnp.zeros(len(names))
    plans = Plan(sp.fractions, sp.pov_rate, jnp.ones(len(names)), zeros, zeros)
    stack = lambda x: jnp.broadcast_to(x, (len(names), *jnp.shape(x)))  # noqa: E731

    def surrogate():
        return imagine(result.params, plans, jax.tree.map(stack, mp), jax.tree.map(stack, o))

    _, surrogate_compile_s = _timed(surrogate)
    pred, surrogate_s = _timed(surrogate)
    sim_kwargs = dict(sensitivity=None)
    _, sim_first_s = _timed(
        lambda: (
            pretrade(
                o, ImpactMarket(), mp, strategies, 10000, jax.random.key(9), **sim_kwargs
            ).mean_bps
        )
    )
    start = time.perf_counter()
    report = pretrade(o, ImpactMarket(), mp, strategies, 10000, jax.random.key(10), **sim_kwargs)
    sim_warm_s = time.perf_counter() - start
    lam = float(o.risk_aversion)
    sur_obj = np.asarray(pred["is_mean_bps"] + lam * pred["is_std_bps"])
    sim_obj, sim_cov = (np.asarray(x) for x in objective_covariance(report.is_samples_bps, lam))
    return {
        "train_s": result.seconds,
        "label_simulation_s": sim_s,
        "shortfall_bias_bps": shortfall["bias"],
        "shortfall_rmse_bps": shortfall["rmse"],
        "risk_rmse_bps": prediction_metrics(out["is_std_bps"], test_labels["is_std_bps"])["rmse"],
        "impact_rmse_bps": prediction_metrics(out["impact_bps"], test_labels["impact_bps"])["rmse"],
        "completion_reliability_max_gap": rel["max_gap"],
        "completion_reliability": rel,
        "responses": responses,
        "in_flight": in_flight,
        "pretrade": {
            "strategies": names,
            "surrogate_mean_bps": pred["is_mean_bps"],
            "simulator_mean_bps": report.mean_bps,
            "surrogate_std_bps": pred["is_std_bps"],
            "simulator_std_bps": report.std_bps,
            "surrogate_objective": sur_obj,
            "simulator_objective": sim_obj,
            "simulator_objective_se": np.sqrt(np.diag(sim_cov)),
            "swapped_pairs": ranking_swaps(names, sur_obj, sim_obj, sim_cov),
            "same_ranking": bool(np.all(np.argsort(sur_obj) == np.argsort(sim_obj))),
            "same_best": bool(np.argmin(sur_obj) == np.argmin(sim_obj)),
            "surrogate_s": surrogate_s,
            "surrogate_compile_s": surrogate_compile_s,
            "simulator_warm_s": sim_warm_s,
            "simulator_first_call_s": sim_first_s,
            "speed_up": sim_warm_s / surrogate_s,
        },
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="ac,impact,impact_book,world")
    parser.add_argument("--book-metaorders", type=int, default=192)
    parser.add_argument("--book-updates", type=int, default=1000)
    parser.add_argument("--book-paths", type=int, default=16)
    parser.add_argument("--ac-updates", type=int, default=2500)
    parser.add_argument("--plan-steps", type=int, default=AlmgrenChrissWorldModel.plan_steps)
    parser.add_argument(
        "--ac-pretrained", action="store_true", help="score the packaged AC weights, no training"
    )
    parser.add_argument(
        "--ac-gamma-updates",
        type=int,
        default=0,
        help="with --ac-pretrained: train the gamma correction for this many updates",
    )
    parser.add_argument("--ac-gamma-lr", type=float, default=3e-3)
    parser.add_argument(
        "--ac-gamma-continue",
        action="store_true",
        help="with --ac-gamma-updates: start from the packaged gamma correction",
    )
    parser.add_argument("--ac-clip-norm", type=float, default=1.0, help="global gradient norm")
    parser.add_argument("--seed", type=int, default=4, help="training key of --ac-gamma-updates")
    parser.add_argument("--impact-updates", type=int, default=4000)
    parser.add_argument("--laws", default=",".join(IMPACT_LAWS), help="impact laws to train on")
    parser.add_argument("--world-updates", type=int, default=1500)
    parser.add_argument("--world-problems", type=int, default=4000)
    parser.add_argument("--world-pairs", type=int, default=200, help="pairs per contrast")
    parser.add_argument("--save-weights", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    out = {"load_average": os.getloadavg(), "cpus": os.cpu_count(), "devices": str(jax.devices())}
    parts = (
        ("ac", bench_ac),
        ("impact", bench_impact),
        ("impact_book", bench_impact_book),
        ("world", bench_world),
    )
    for part, fn in parts:
        if part in args.only.split(","):
            out[part] = fn(args)
            print(
                json.dumps({part: out[part]}, default=lambda x: np.asarray(x).tolist(), indent=1),
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, default=lambda x: np.asarray(x).tolist(), indent=1)
    return out


if __name__ == "__main__":
    main()
