"""`wmjax demo`: a pre-trade comparison of execution strategies on the same simulated paths."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

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


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo",
        help="pre-trade comparison: TWAP, VWAP, POV, AC-optimal, aggressive, optimised",
        description=(
            "Sell a parent order of a few percent of daily volume in a liquid stock over one day "
            "(square-root impact, U-shaped intraday volume and volatility, cloud latency). TWAP, "
            "VWAP, POV-10%, AC-optimal, a front-loaded aggressive schedule and the "
            "gradient-optimised schedule run on the same held-out paths; the recommended one "
            "has the lowest mean + risk-aversion * std of IS (bps)."
        ),
    )
    p.add_argument("--shares", type=float, default=3e5, help="parent order, shares")
    p.add_argument("--daily-volume", type=float, default=1e7, help="average daily volume, shares")
    p.add_argument("--price", type=float, default=50.0, help="arrival price")
    p.add_argument("--daily-vol", type=float, default=0.02, help="daily volatility, fraction")
    p.add_argument("--half-spread-bps", type=float, default=2.0, help="half spread + fees, bps")
    p.add_argument("--sqrt-coefficient", type=float, default=0.7, help="Y of the square-root law")
    p.add_argument("--periods", type=int, default=13, help="decision intervals over the day")
    p.add_argument("--risk-aversion", type=float, default=0.5, help="bps of mean per bps of std")
    p.add_argument("--latency", default="cloud", help="co-lo, proximity, cloud or retail")
    p.add_argument("--paths", type=int, default=4096, help="held-out paths (even)")
    p.add_argument("--iterations", type=int, default=150, help="gradient steps of the optimiser")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument(
        "--book-paths",
        type=int,
        default=256,
        help="held-out paths of the order-book section (0 skips it)",
    )
    p.add_argument("--out", default=default_out("demo"), help="folder for the PNGs")
    add_json_flag(p)
    p.set_defaults(run=run)


def _plots(stats, times, out_dir: Path, recommended: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, s in stats.items():
        traj = s["trajectory"] / s["trajectory"][0]
        ax.step(times, traj, where="post", label=name, lw=2.5 if name == recommended else 1.2)
    ax.set_xlabel("time (fraction of the day)")
    ax.set_ylabel("shares left (fraction of the order)")
    ax.set_title("Schedules (mean over paths)")
    ax.legend(fontsize=8)
    paths = [str(save_figure(fig, out_dir / "schedules.png"))]

    fig, ax = plt.subplots(figsize=(6, 4))
    lo = min(np.percentile(s["is_bps"], 0.5) for s in stats.values())
    hi = max(np.percentile(s["is_bps"], 99.5) for s in stats.values())
    bins = np.linspace(lo, hi, 80)
    for name, s in stats.items():
        ax.hist(s["is_bps"], bins=bins, histtype="step", density=True, label=name)
    ax.set_xlabel("implementation shortfall (bps)")
    ax.set_ylabel("density")
    ax.set_title("IS distributions on the same paths")
    ax.legend(fontsize=8)
    paths.append(str(save_figure(fig, out_dir / "is_distributions.png")))
    return paths


_BOOK_ORDER_SHARES, _BOOK_HORIZON_S, _BOOK_DECISIONS = 1000.0, 5.0, 5


def _book_section(args) -> dict:
    """The baselines on the Hawkes-driven order book (same held-out paths for all): a child-order
    problem at the book's own scale, since a parent order of the impact-level size would empty
    it. Trained placement policies come from `wmjax train-placement`."""

    from wmjax.cli._placement import SUMMARY_FIELDS, compare_on_book
    from wmjax.execution import objective_covariance, order, rank
    from wmjax.market import BookMarket, book_key, book_params

    market = BookMarket()
    parent = order(
        _BOOK_ORDER_SHARES, _BOOK_HORIZON_S / market.trading_day_s, "buy", risk_aversion=0.1
    )
    key = book_key(args.seed + 1)
    results = compare_on_book(
        key, market, book_params(args.latency), parent, _BOOK_DECISIONS, args.book_paths
    )
    fields = (*SUMMARY_FIELDS, "status")
    names = list(results)
    samples = np.stack([results[k]["is_bps"] for k in names])
    ranking = rank(names, *objective_covariance(samples, 0.1, "mean_variance"), units=" bps")
    return {name: {f: r[f] for f in fields} for name, r in results.items()}, ranking


def run(args) -> int:
    import jax

    from wmjax._checks import positive, require
    from wmjax.execution import (
        RolloutConfig,
        ac_optimal,
        aggressive,
        evaluate_strategies,
        free_schedule_policy,
        optimize_schedule,
        order,
        pov,
        pov_policy,
        rank_strategies,
        schedule_policy,
        twap,
        vwap,
    )
    from wmjax.market import (
        ImpactMarket,
        impact_params,
        latency_scenario,
        u_shaped_profile,
        volatility_multipliers,
    )

    start = time.perf_counter()
    for name in ("shares", "daily_volume", "price", "daily_vol", "sqrt_coefficient"):
        positive(f"--{name.replace('_', '-')}", getattr(args, name))
    positive("--half-spread-bps", args.half_spread_bps, allow_zero=True)
    positive("--risk-aversion", args.risk_aversion, allow_zero=True)
    require(args.paths % 2 == 0 and args.paths >= 2, f"--paths must be even, got {args.paths}")
    require(
        args.book_paths == 0 or args.book_paths >= 2,
        f"--book-paths must be 0 (skip) or >= 2, got {args.book_paths}",
    )
    folder = out_dir("--out", args.out)
    n = args.periods
    profile = u_shaped_profile(n)
    sigma = args.daily_vol * args.price
    params = impact_params(
        n,
        arrival_price=args.price,
        sigma=sigma,
        daily_volume_shares=args.daily_volume,
        volume_frac=profile,
        vol_mult=volatility_multipliers(profile),
        volume_noise=0.3,
        epsilon=args.half_spread_bps * 1e-4 * args.price,
        gamma=0.1 * sigma / args.daily_volume,
        sqrt_coefficient=args.sqrt_coefficient,
        latency=latency_scenario(args.latency),
    )
    o = order(args.shares, 1.0, "sell", args.risk_aversion)
    market = ImpactMarket()
    # AC baseline: eta matching the square-root cost at the TWAP rate; the currency lambda that
    # matches mean + a * std at TWAP's risk, lambda = a / (2 std)
    eta = args.sqrt_coefficient * sigma * np.sqrt(args.shares / args.daily_volume) / args.shares
    twap_std = sigma * np.sqrt(np.sum((args.shares * (1 - np.arange(1, n + 1) / n)) ** 2) / n)
    bps = args.shares * args.price * 1e-4
    lam = args.risk_aversion * bps / (2.0 * max(twap_std, 1e-12))
    key_train, key_test = jax.random.split(jax.random.key(args.seed))
    train_cfg = RolloutConfig(n_paths=max(2, args.paths // 4 // 2 * 2), n_steps=n, antithetic=True)
    with progress(not args.json) as bar:
        task = bar.add_task("optimising the schedule", total=args.iterations)
        result = optimize_schedule(
            key_train,
            market,
            params,
            o,
            train_cfg,
            objective="mean_std_bps",
            n_updates=args.iterations,
            learning_rate=0.1,
            callback=lambda i, loss: bar.advance(task),
        )
        strategies = {
            "TWAP": (schedule_policy, twap(n)),
            "VWAP": (schedule_policy, vwap(profile)),
            "POV-10%": (pov_policy, pov(0.10, finish_at_end=False)),
            "AC-optimal": (schedule_policy, ac_optimal(n, 1.0, sigma, eta, 0.0, lam)),
            "aggressive": (schedule_policy, aggressive(n, decay=0.7)),
            "optimised": (free_schedule_policy, result.params),
        }
        task = bar.add_task("evaluating on held-out paths", total=None)
        cfg = RolloutConfig(n_paths=args.paths, n_steps=n, antithetic=True)
        stats = evaluate_strategies(
            key_test, market, params, strategies, o, cfg, objective="mean_std_bps"
        )
        bar.update(task, total=1, completed=1)
        book, book_ranking = {}, None
        if args.book_paths:
            task = bar.add_task("order book: baselines on held-out paths", total=None)
            book, book_ranking = _book_section(args)
            bar.update(task, total=1, completed=1)
    ranking = rank_strategies(stats, o, cfg, objective="mean_std_bps")
    recommended = ranking.recommended
    pngs = _plots(stats, np.linspace(0, 1, n + 1), folder, recommended)
    seconds = time.perf_counter() - start
    table = {
        name: {
            "mean_is_bps": s["mean_is_bps"],
            "std_is_bps": s["std_is_bps"],
            "p95_is_bps": s["p95_is_bps"],
            "completion": s["completion"],
            "peak_participation_p95": s["peak_participation_p95"],
            "objective": s["objective"],
            "objective_se": s["objective_se"],
        }
        for name, s in stats.items()
    }
    if args.json:
        summary = {
            "strategies": table,
            "recommended": recommended,
            "recommendation": ranking.to_dict(),
            "plots": pngs,
        }
        if book:
            summary["order_book"] = {
                "strategies": book,
                "recommended": book_ranking.recommended,
                "recommendation": book_ranking.to_dict(),
            }
        print_json(summary | {"seconds": seconds})
        return 0
    print(
        f"Sell {args.shares:,.0f} shares ({100 * args.shares / args.daily_volume:.1f}% of daily "
        f"volume) over one day in {n} intervals; square-root impact, {args.latency} latency; "
        f"{args.paths:,} held-out paths."
    )
    print_table(
        f"Pre-trade comparison (objective = mean + {args.risk_aversion:g} * std, bps)",
        ["strategy", "mean IS", "std IS", "p95 IS", "completion", "peak part.", "objective ± SE"],
        [
            (
                ("* " if k == recommended else "") + k,
                v["mean_is_bps"],
                v["std_is_bps"],
                v["p95_is_bps"],
                v["completion"],
                v["peak_participation_p95"],
                f"{fmt(v['objective'])} ± {fmt(v['objective_se'], 2)}",
            )
            for k, v in table.items()
        ],
    )
    print(f"{ranking.verdict}: {ranking.note}   plots: {', '.join(pngs)}")
    if book:
        from wmjax.cli._placement import with_se_columns

        print_table(
            f"Order book: buy {_BOOK_ORDER_SHARES:,.0f} shares over {_BOOK_HORIZON_S:g} s in "
            f"{_BOOK_DECISIONS} decisions, Hawkes-driven book, {args.latency} latency, "
            f"{args.book_paths} held-out paths (objective = E + 0.1 Var, bps)",
            ["strategy", "mean IS ± SE", "std IS", "p95 IS", "fill rate ± SE", "passive ± SE",
             "objective ± SE"],
            [
                (("* " if k == book_ranking.recommended else "") + k, *with_se_columns(v))
                for k, v in sorted(book.items(), key=lambda kv: kv[1]["objective"])
            ],
        )  # fmt: skip
        print(f"{book_ranking.verdict}: {book_ranking.note}")
        print("a trained placement policy: wmjax train-placement --latency " + args.latency)
    print(f"({seconds:.1f} s)")
    return 0
