"""`wmjax ac` (the Almgren-Chriss closed form) and `wmjax optimize` (the gradient-optimised
schedule next to TWAP and AC-optimal, on held-out paths)."""

from __future__ import annotations

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

IMPACTS = ("linear", "sqrt", "transient")


def _add_ac_flags(p) -> None:
    # defaults: Almgren & Chriss (2000), section 3.4 (their Table 1 example)
    p.add_argument("--shares", type=float, default=1e6, help="order size X, shares")
    p.add_argument("--horizon", type=float, default=5.0, help="horizon T, days")
    p.add_argument("--periods", type=int, default=5, help="number of periods N")
    p.add_argument("--sigma", type=float, default=0.95, help="volatility, price / sqrt(day)")
    p.add_argument("--eta", type=float, default=2.5e-6, help="temporary impact, price/(share/day)")
    p.add_argument("--gamma", type=float, default=2.5e-7, help="permanent impact, price / share")
    p.add_argument("--epsilon", type=float, default=0.0625, help="fixed cost per share, price")
    p.add_argument(
        "--risk-aversion", type=float, default=1e-6, help="lambda, per currency unit (E + lambda V)"
    )
    p.add_argument("--price", type=float, default=50.0, help="arrival price (optimize only)")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "ac",
        help="Almgren-Chriss optimal execution in closed form",
        description="The exact discrete-time Almgren & Chriss (2000) solution: kappa, holdings, "
        "trade list, expected cost E and variance V (defaults: the paper's example).",
    )
    _add_ac_flags(p)
    p.add_argument("--frontier", action="store_true", help="add the efficient frontier (and PNG)")
    p.add_argument("--out", default=default_out("ac"), help="folder for the frontier PNG")
    add_json_flag(p)
    p.set_defaults(run=run_ac)

    p = subparsers.add_parser(
        "optimize",
        help="gradient-optimise a schedule against TWAP and AC-optimal",
        description="Optimise the free schedule by gradient descent on E + lambda V of IS "
        "(antithetic paths, fixed keys), then compare it with TWAP and the linear AC-optimal "
        "schedule on held-out paths.",
    )
    _add_ac_flags(p)
    p.add_argument("--impact", choices=IMPACTS, default="linear", help="impact model")
    p.add_argument("--daily-volume", type=float, default=5e6, help="market volume, shares/day")
    p.add_argument("--sqrt-coefficient", type=float, default=0.7, help="Y of Y sigma sqrt(q/V)")
    p.add_argument("--transient-strength", type=float, default=1e-6, help="G(0), price/share")
    p.add_argument("--resilience", type=float, default=2.0, help="resilience rho, per day")
    p.add_argument("--paths", type=int, default=4096, help="Monte Carlo paths (even)")
    p.add_argument("--iterations", type=int, default=300, help="gradient steps")
    p.add_argument("--learning-rate", type=float, default=0.1, help="Adam learning rate")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    add_json_flag(p)
    p.set_defaults(run=run_optimize)


def _check_ac_flags(args) -> None:
    """Clear errors, in the flags' own names, before any work."""
    for name in ("shares", "horizon", "sigma", "price"):
        positive(f"--{name}", getattr(args, name))
    for name in ("eta", "gamma", "epsilon", "risk_aversion"):
        positive(f"--{name.replace('_', '-')}", getattr(args, name), allow_zero=True)
    positive_int("--periods", args.periods)


def _closed_form(args):
    """The Almgren-Chriss solution for the market flags shared by `ac` and `optimize`."""
    from wmjax.execution import almgren_chriss

    _check_ac_flags(args)
    return almgren_chriss(
        args.shares,
        args.horizon,
        args.periods,
        args.sigma,
        args.eta,
        args.gamma,
        args.epsilon,
        args.risk_aversion,
    )


def run_ac(args) -> int:
    from wmjax.execution import efficient_frontier

    sol = _closed_form(args)
    folder = out_dir("--out", args.out) if args.frontier else None
    out = {
        "kappa": sol.kappa,
        "trajectory": sol.holdings,
        "trades": sol.trades,
        "expected_cost": sol.expected_cost,
        "variance": sol.variance,
    }
    frontier = None
    if args.frontier:
        frontier = efficient_frontier(
            args.shares, args.horizon, args.periods, args.sigma, args.eta, args.gamma, args.epsilon
        )
        out["frontier"] = frontier
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 4))
        ax.plot(frontier["variance"], frontier["expected_cost"], "-")
        ax.plot([sol.variance], [sol.expected_cost], "o", label=f"lambda = {sol.risk_aversion:g}")
        ax.set_xlabel("variance V (currency^2)")
        ax.set_ylabel("expected cost E (currency)")
        ax.set_title("Almgren-Chriss efficient frontier")
        ax.legend()
        out["frontier_png"] = str(save_figure(fig, folder / "ac_frontier.png"))
    if args.json:
        print_json(out)
        return 0
    print_table(
        "Almgren-Chriss closed form",
        ["quantity", "value"],
        [
            ("kappa (1/day)", sol.kappa),
            ("kappa * T", sol.kappa * args.horizon),
            ("expected cost E", sol.expected_cost),
            ("std sqrt(V)", float(np.sqrt(sol.variance))),
            ("E + lambda V", sol.objective),
        ],
    )
    print_table(
        "Trajectory",
        ["period k", "time (days)", "holdings x_k", "trade n_k"],
        [
            (str(k), sol.times[k], sol.holdings[k], sol.trades[k - 1] if k else float("nan"))
            for k in range(len(sol.holdings))
        ],
    )
    if frontier is not None:
        print(f"frontier: {len(frontier['variance'])} points, plot in {out['frontier_png']}")
    return 0


def _market_for(args):
    from wmjax._checks import require
    from wmjax.market import impact_params

    _check_ac_flags(args)
    positive("--daily-volume", args.daily_volume)
    positive("--sqrt-coefficient", args.sqrt_coefficient, allow_zero=True)
    positive("--transient-strength", args.transient_strength, allow_zero=True)
    positive("--resilience", args.resilience, allow_zero=True)
    positive_int("--paths", args.paths, minimum=2)
    positive_int("--iterations", args.iterations)
    positive("--learning-rate", args.learning_rate)
    kw = dict(
        arrival_price=args.price,
        sigma=args.sigma,
        daily_volume_shares=args.daily_volume,
        gamma=args.gamma,
        epsilon=args.epsilon,
        eta=args.eta,
    )
    if args.impact == "sqrt":
        kw.update(eta=0.0, sqrt_coefficient=args.sqrt_coefficient)
        # the linear AC baseline uses the eta that gives the same cost at the TWAP rate
        ac_eta = args.sqrt_coefficient * args.sigma * np.sqrt(args.shares / args.daily_volume)
        ac_eta *= args.horizon / args.shares
    else:
        ac_eta = args.eta
    if args.impact == "transient":
        kw.update(transient_strength=args.transient_strength, transient_resilience=args.resilience)
    require(args.paths % 2 == 0, f"--paths must be even (antithetic pairs), got {args.paths}")
    return impact_params(args.periods, **kw), ac_eta


def run_optimize(args) -> int:
    import jax

    from wmjax.execution import (
        RolloutConfig,
        ac_optimal,
        evaluate_strategies,
        free_schedule_policy,
        holdings_from_trades,
        optimize_schedule,
        order,
        rank_strategies,
        schedule_policy,
        twap,
    )
    from wmjax.market import ImpactMarket

    params, ac_eta = _market_for(args)
    o = order(args.shares, args.horizon, "sell", args.risk_aversion)
    config = RolloutConfig(n_paths=args.paths, n_steps=args.periods, antithetic=True)
    market = ImpactMarket()
    key_train, key_test = jax.random.split(jax.random.key(args.seed))
    ac_fr = ac_optimal(
        args.periods, args.horizon, args.sigma, ac_eta, args.gamma, args.risk_aversion
    )
    with progress(not args.json) as bar:
        task = bar.add_task("optimising the schedule", total=args.iterations)
        result = optimize_schedule(
            key_train,
            market,
            params,
            o,
            config,
            n_updates=args.iterations,
            learning_rate=args.learning_rate,
            callback=lambda i, loss: bar.advance(task),
        )
    strategies = {
        "optimised": (free_schedule_policy, result.params),
        "twap": (schedule_policy, twap(args.periods)),
        "ac_optimal": (schedule_policy, ac_fr),
    }
    stats = evaluate_strategies(key_test, market, params, strategies, o, config)
    ranking = rank_strategies(stats, o, config)
    out = {
        "strategies": {
            name: {k: s[k] for k in ("mean", "std", "objective", "objective_se", "trajectory")}
            for name, s in stats.items()
        },
        "recommendation": ranking.to_dict(),
        "impact": args.impact,
        "iterations": result.n_done,
        "train_seconds": result.seconds,
    }
    if args.impact == "linear":
        sol = _closed_form(args)
        found = np.asarray(
            holdings_from_trades(jax.nn.softmax(result.params) * args.shares, args.shares)
        )
        out["closed_form_trajectory"] = sol.holdings
        out["max_deviation_frac"] = float(np.abs(found - sol.holdings).max() / args.shares)
    if args.json:
        print_json(out)
        return 0
    print_table(
        f"Held-out paths ({args.paths}), {args.impact} impact, lambda = {args.risk_aversion:g}",
        ["strategy", "mean IS", "std IS", "E + lambda V ± SE", "mean IS (bps)"],
        [
            (
                n,
                s["mean"],
                s["std"],
                f"{fmt(s['objective'])} ± {fmt(s['objective_se'], 2)}",
                s["mean_is_bps"],
            )
            for n, s in stats.items()
        ],
    )
    print(f"{ranking.verdict}: {ranking.note}")
    rows = [
        [str(k)] + [float(stats[n]["trajectory"][k]) for n in stats]
        for k in range(args.periods + 1)
    ]
    print_table("Holdings (mean over paths)", ["period", *stats], rows)
    if "max_deviation_frac" in out:
        print(
            f"largest deviation from the closed form: {100 * out['max_deviation_frac']:.3f}% of X"
        )
    return 0
