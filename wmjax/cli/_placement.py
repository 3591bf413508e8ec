"""`wmjax train-placement`: train the order-placement policy on the book, then compare it with
the baselines on held-out paths of the exact simulator."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import numpy as np

from wmjax._checks import positive, positive_int
from wmjax.cli._common import (
    add_json_flag,
    default_out,
    fmt,
    out_dir,
    print_json,
    print_table,
    progress,
    save_figure,
)
from wmjax.market import LATENCY_PRESETS

TRADING_DAY_S = 23400.0


#: The per-strategy summary `compare_on_book` results are reported with (the JSON and tables).
SUMMARY_FIELDS = (
    "mean_is_bps",
    "mean_is_se_bps",
    "std_is_bps",
    "p95_is_bps",
    "fill_rate",
    "fill_rate_se",
    "passive_share",
    "passive_share_se",
    "objective",
    "objective_se",
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train-placement",
        help="train the order-placement policy on the simulated book and compare with baselines",
        description=(
            "Train a flax placement policy (market order, limit order, price level) on the "
            "Hawkes-driven book by differentiating the relaxed E[IS] + lambda Var[IS], then "
            "evaluate it and the baselines (TWAP market/limit, AC, POV, aggressive, passive) on "
            "held-out paths of the exact simulator."
        ),
    )
    p.add_argument("--latency", choices=sorted(LATENCY_PRESETS), default="co-lo")
    p.add_argument("--paths", type=int, default=128, help="training paths per step")
    p.add_argument("--steps", type=int, default=60, help="training steps (Adam)")
    p.add_argument("--eval-paths", type=int, default=2048, help="held-out evaluation paths")
    p.add_argument("--decisions", type=int, default=5, help="decision intervals")
    p.add_argument("--horizon-s", type=float, default=5.0, help="horizon, seconds")
    p.add_argument("--quantity", type=float, default=1000.0, help="shares to buy")
    p.add_argument("--risk-aversion", type=float, default=0.1, help="lambda, 1/bps")
    p.add_argument("--temperature", type=float, default=0.3, help="relaxation for training")
    p.add_argument("--learning-rate", type=float, default=0.03)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--out", default=default_out("train-placement"), help="folder for params and PNG"
    )
    add_json_flag(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from wmjax.execution import RolloutConfig, order
    from wmjax.market import BookMarket, book_key, book_params
    from wmjax.models import best_baseline, save_placement, train_placement

    n_paths = positive_int("--paths", args.paths)
    n_train = positive_int("--steps", args.steps)
    n_eval = positive_int("--eval-paths", args.eval_paths, minimum=2)
    n_dec = positive_int("--decisions", args.decisions)
    horizon_s = float(positive("--horizon-s", args.horizon_s))
    lam = float(positive("--risk-aversion", args.risk_aversion, allow_zero=True))
    out = out_dir("--out", args.out)  # checked (and created) before the training, not after
    # the flow buffer of one interval: ~40 events/s with bursts of several times that
    market = BookMarket(events_per_step=min(128, max(8, int(np.ceil(horizon_s / n_dec * 120)) + 8)))
    params = book_params(args.latency)
    parent = order(args.quantity, horizon_s / TRADING_DAY_S, "buy", risk_aversion=lam)
    config = RolloutConfig(n_paths=n_paths, n_steps=n_dec)
    key = book_key(args.seed)
    k_train, k_eval = jax.random.split(key)

    with progress(not args.json) as bar:
        task = bar.add_task(f"training ({args.latency})", total=n_train)
        policy, result = train_placement(
            k_train,
            market,
            params,
            parent,
            config,
            n_steps=n_train,
            learning_rate=float(positive("--learning-rate", args.learning_rate)),
            temperature=float(positive("--temperature", args.temperature)),
            callback=lambda i, loss: bar.update(task, completed=i + 1),
        )
        bar.add_task("evaluating on held-out paths", total=None)
        # the exact simulator's paths bit for bit, faster (not differentiable: no training)
        exact_market = dataclasses.replace(market, early_exit=True)
        results = compare_on_book(
            k_eval, exact_market, params, parent, n_dec, n_eval, {"policy": (policy, result.params)}
        )
    name, gain, se = best_baseline(results, lam)
    params_path = out / f"placement_{args.latency}.msgpack"
    save_placement(params_path, result.params)
    png = _learning_curve(result.losses, out / f"placement_{args.latency}_learning.png")
    summary = {
        "results": {k: {f: v[f] for f in SUMMARY_FIELDS} for k, v in results.items()},
        "best_baseline": name,
        "improvement": gain,
        "improvement_se": se,
        # the status channel (wmjax.market.BookStatus) of every strategy's held-out run
        "status": {k: v["status"] for k, v in results.items()},
    }
    if args.json:
        print_json(summary)
        return 0
    print_table(
        f"Placement on the book ({args.latency}, {n_eval} held-out paths, lambda={lam}/bps)",
        ["strategy", "mean IS bps ± SE", "std", "p95", "fill rate ± SE", "passive ± SE",
         "E+lam*V ± SE"],
        [(k, *with_se_columns(v)) for k, v in sorted(results.items(),
                                                      key=lambda kv: kv[1]["objective"])],
    )  # fmt: skip
    status = results["policy"]["status"]
    if status["result"] != "successful":
        print(f"note: book status of the policy's run: {status}")
    print(
        f"policy vs best baseline ({name}): improvement {gain:.4g} +- {se:.4g} (SE) = "
        f"{gain / se if se > 0 else float('inf'):.1f} SE; trained {result.n_done} steps in "
        f"{result.seconds:.1f} s ({result.skipped_steps} skipped: gradient not finite); params "
        f"{params_path}; learning curve {png}"
    )
    return 0


def compare_on_book(key, market, params, parent, n_dec: int, n_eval: int, extra=None) -> dict:
    """Every book baseline (and the `extra` strategies, name -> (policy, params)) on the same
    `n_eval` held-out paths of the exact simulator; each mean (IS, fill rate, passive share,
    objective) comes with its standard error; see `wmjax.models.evaluate_placement`."""
    from wmjax.execution import book_baselines, book_schedule_policy
    from wmjax.models import book_ac_eta, evaluate_placement

    horizon_s = float(parent.horizon_days) * market.trading_day_s
    lam = max(float(parent.risk_aversion), 1e-9)
    # AC needs sigma: measure it on the same held-out paths with TWAP market orders
    baselines = book_baselines(
        market, n_dec, horizon_s=horizon_s, risk_aversion=lam,
        sigma_bps_per_sqrt_s=1.0, eta_bps_s=1.0,
    )  # fmt: skip
    baselines.pop("ac_market")
    strategies = dict(extra or {})
    strategies |= {k: (book_schedule_policy, v) for k, v in baselines.items()}
    results = evaluate_placement(key, market, params, parent, n_dec, n_eval, strategies)
    sigma = _sigma_bps_per_sqrt_s(results["twap_market"], horizon_s)
    ac = book_baselines(
        market, n_dec, horizon_s=horizon_s, risk_aversion=lam, sigma_bps_per_sqrt_s=sigma,
        eta_bps_s=book_ac_eta(params, parent, horizon_s / n_dec),
    )["ac_market"]  # fmt: skip
    return results | evaluate_placement(
        key, market, params, parent, n_dec, n_eval, {"ac_market": (book_schedule_policy, ac)}
    )


def with_se_columns(r: dict) -> tuple:
    """Table cells of one `compare_on_book` result: each mean beside its standard error."""
    return (
        f"{fmt(r['mean_is_bps'])} ± {fmt(r['mean_is_se_bps'], 2)}",
        r["std_is_bps"],
        r["p95_is_bps"],
        f"{fmt(r['fill_rate'])} ± {fmt(r['fill_rate_se'], 2)}",
        f"{fmt(r['passive_share'])} ± {fmt(r['passive_share_se'], 2)}",
        f"{fmt(r['objective'])} ± {fmt(r['objective_se'], 2)}",
    )


def _sigma_bps_per_sqrt_s(twap: dict, horizon_s: float) -> float:
    """Mid volatility, bps per sqrt(s), backed out of TWAP's IS: with a straight-line schedule
    Var[IS] ~ sigma^2 T / 3 (AC 2000 eq. 17 for the linear trajectory)."""
    return float(np.std(twap["is_bps"], ddof=1) * np.sqrt(3.0 / horizon_s))


def _learning_curve(losses, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    losses = np.asarray(losses)
    ax.plot(losses, lw=0.8, alpha=0.5, label="relaxed E + lambda Var (per step)")
    if losses.size >= 5:
        w = max(losses.size // 10, 2)
        ax.plot(np.arange(w - 1, losses.size), np.convolve(losses, np.ones(w) / w, "valid"),
                label=f"moving average ({w})")  # fmt: skip
    ax.set_xlabel("training step")
    ax.set_ylabel("objective, bps")
    ax.legend()
    return save_figure(fig, path)
