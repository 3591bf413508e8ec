"""`wmjax pretrade`: cost and risk of the standard strategies on common paths, with PNGs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wmjax._checks import positive_int
from wmjax.cli._common import (
    add_json_flag,
    default_out,
    fmt,
    out_dir,
    parse_numbers,
    print_json,
    print_table,
    progress,
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "pretrade",
        help="pre-trade report: cost and risk of TWAP, VWAP, AC-optimal, POV, aggressive",
        description=(
            "Simulate the standard strategies on common paths of an impact-level market set to "
            "the Almgren-Thum-Hauptmann-Li (2005) impact laws for the stock's ADV, volatility and "
            "spread; report mean, std and p95 IS (bps), completion, participation, the "
            "recommended strategy (lowest mean + risk aversion * std), a sensitivity grid over "
            "volatility, volume and liquidity regime, and the ATHL and Kissell I-Star estimates."
        ),
    )
    p.add_argument("--side", required=True, help="buy or sell")
    p.add_argument("--shares", type=float, required=True, help="order size, shares")
    p.add_argument("--adv", type=float, required=True, help="average daily volume, shares")
    p.add_argument("--horizon", type=float, required=True, help="time allowed, trading days")
    p.add_argument("--price", type=float, default=50.0, help="arrival price (default 50)")
    p.add_argument(
        "--volatility", type=float, default=0.02, help="daily volatility, fraction (0.02)"
    )
    p.add_argument("--spread-bps", type=float, default=2.0, help="quoted spread, bps (2)")
    p.add_argument("--periods", type=int, default=13, help="decision intervals (13)")
    p.add_argument("--paths", type=int, default=10_000, help="paths per strategy (10000)")
    p.add_argument("--risk-aversion", type=float, default=0.5, help="lambda on std, (0.5)")
    p.add_argument("--pov", default="0.1", help="POV rates, comma separated (0.1)")
    p.add_argument(
        "--max-participation",
        type=float,
        default=0.3,
        help="the order's participation cap: a strategy must stay under it (0.3)",
    )
    p.add_argument(
        "--min-on-time",
        type=float,
        default=0.95,
        help="share of paths a recommended strategy must complete within the cap (0.95)",
    )
    p.add_argument("--shares-outstanding", type=float, default=None, help="for ATHL turnover")
    p.add_argument("--volume-noise", type=float, default=0.25, help="volume noise std (0.25)")
    p.add_argument("--sensitivity-paths", type=int, default=1000, help="paths per scenario")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument(
        "--regime",
        default=None,
        help="calm or stressed: scales sigma and eta by the regime model's multipliers",
    )
    p.add_argument("--out", default=default_out("pretrade"), help="folder for the PNGs")
    p.add_argument("--no-plots", action="store_true", help="write no PNGs")
    add_json_flag(p)
    p.set_defaults(run=run_pretrade)


def run_pretrade(args) -> int:
    import jax

    from wmjax.analytics import (
        context_line,
        desk_market_params,
        pretrade,
        pretrade_extras,
        regime_market_params,
        standard_strategies,
    )
    from wmjax.execution import order
    from wmjax.market import ImpactMarket

    positive_int("--paths", args.paths, minimum=2)
    positive_int("--sensitivity-paths", args.sensitivity_paths, minimum=2)
    folder = None if args.no_plots else out_dir("--out", args.out)
    o = order(args.shares, args.horizon, args.side, risk_aversion=args.risk_aversion)
    params = desk_market_params(
        args.periods,
        args.horizon,
        price=args.price,
        daily_volume_shares=args.adv,
        daily_volatility=args.volatility,
        spread_bps=args.spread_bps,
        volume_noise=args.volume_noise,
        shares_outstanding=args.shares_outstanding,
    )
    rates = np.atleast_1d(parse_numbers("--pov", args.pov)).tolist()
    extra, context = pretrade_extras(o, params, args.risk_aversion, args.regime)
    # the simulation holds the named regime over the horizon (its sigma / eta multipliers)
    params = regime_market_params(params, args.regime)
    with progress(not args.json) as bar:
        task = bar.add_task("simulating strategies and scenarios", total=1)
        report = pretrade(
            o,
            ImpactMarket(),
            params,
            standard_strategies(o, params, pov_rates=rates) + extra,
            n_paths=args.paths,
            key=jax.random.key(args.seed),
            pov_rates=rates,
            max_participation=args.max_participation,
            min_on_time_prob=args.min_on_time,
            sensitivity_paths=args.sensitivity_paths,
            shares_outstanding=args.shares_outstanding,
        )
        bar.advance(task)
    out = report.to_dict()
    out["market_context"] = context
    if folder is not None:
        out["figures"] = [str(p) for p in _pretrade_figures(report, folder)]
    if args.json:
        print_json(out)
        return 0
    print_table(
        f"Pre-trade: {out['order']['side']} {args.shares:,.0f} shares over {args.horizon:g} days "
        f"({100 * args.shares / args.adv:.2g}% ADV), {args.paths:,} common paths",
        [
            "strategy",
            "mean bps",
            "std bps",
            "p95 bps",
            "completion",
            "on time",
            "peak part. p95",
            "objective ± SE",
        ],
        [
            (
                ("* " if n == report.recommended else "") + n + ("" if s["eligible"] else " (x)"),
                s["mean_bps"],
                s["std_bps"],
                s["p95_bps"],
                s["completion_prob"],
                s["on_time_prob"],
                s["peak_participation_p95"],
                f"{fmt(s['objective_bps'])} ± {fmt(s['objective_se_bps'], 2)}",
            )
            for n, s in out["strategies"].items()
        ],
    )
    ind = out["industry"]
    print_table(
        "Industry models (expected cost, bps, half spread included)",
        ["model", "cost bps", "note"],
        [
            (
                "Almgren-Thum-Hauptmann-Li 2005",
                ind["athl_2005"]["total_bps"],
                f"turnover factor {ind['athl_2005']['turnover_factor']:.3g}",
            ),
            (
                "Kissell I-Star",
                ind["istar_kissell"]["total_bps"],
                f"POV {ind['istar_kissell']['pov']:.3g}",
            ),
        ],
    )
    sens = out["sensitivity"]
    rec = out["recommended"] or report.strategies[int(np.argmin(report.objective_bps))]
    axes = sens["axes"]
    grid = np.asarray(sens["mean_bps"][rec])
    rows = []
    for i, v in enumerate(axes["volatility"]):
        for j, w in enumerate(axes["volume"]):
            rows.append((f"vol x{v:g}, volume x{w:g}", *grid[i, j]))
    print_table(
        f"Sensitivity of {rec}: mean IS bps by liquidity regime",
        ["scenario", *axes["regime"]],
        rows,
    )
    print(context_line(context))
    ranking = report.ranking
    print(
        f"{ranking.verdict}: {ranking.note} (objective = mean + {out['risk_aversion']:g} * std; "
        f"(x) = breaks the {100 * args.max_participation:g}% participation cap on more than "
        f"{100 * (1 - args.min_on_time):g}% of paths)"
    )
    for f in out.get("figures", []):
        print(f"wrote {f}")
    return 0


def _pretrade_figures(report, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from wmjax.cli._common import save_figure

    paths = []
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, samples in zip(report.strategies, report.is_samples_bps, strict=True):
        ax.hist(samples, bins=80, histtype="step", density=True, label=name)
    ax.set_xlabel("implementation shortfall, bps")
    ax.set_ylabel("density")
    ax.set_title("IS distribution on common paths")
    ax.legend()
    paths.append(save_figure(fig, folder / "pretrade_is_distribution.png"))

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    for name, part, hold in zip(
        report.strategies, report.participation, report.holdings_frac, strict=True
    ):
        a1.plot(np.arange(1, part.size + 1), part, marker="o", label=name)
        a2.plot(np.arange(hold.size), hold, label=name)
    a1.set_xlabel("interval")
    a1.set_ylabel("mean participation")
    a2.set_xlabel("interval")
    a2.set_ylabel("fraction of order left")
    a1.legend()
    paths.append(save_figure(fig, folder / "pretrade_participation.png"))

    if report.sensitivity is not None:
        axes = report.sensitivity["axes"]
        i = report.strategies.index(report.recommended)
        grid = report.sensitivity["mean_bps"][i]
        fig, axs = plt.subplots(1, grid.shape[-1], figsize=(4 * grid.shape[-1], 3.6))
        axs = np.atleast_1d(axs)
        for k, ax in enumerate(axs):
            im = ax.imshow(grid[..., k], origin="lower", cmap="viridis")
            ax.set_xticks(range(len(axes["volume"])), [f"x{v:g}" for v in axes["volume"]])
            ax.set_yticks(range(len(axes["volatility"])), [f"x{v:g}" for v in axes["volatility"]])
            ax.set_xlabel("volume")
            ax.set_ylabel("volatility")
            ax.set_title(f"{report.recommended}: {axes['regime'][k]}")
            fig.colorbar(im, ax=ax, label="mean IS bps")
        paths.append(save_figure(fig, folder / "pretrade_sensitivity.png"))
    return paths
