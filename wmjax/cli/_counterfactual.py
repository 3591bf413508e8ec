"""`wmjax counterfactual`: what the alternatives would have cost on the day of past orders."""

from __future__ import annotations

from pathlib import Path

from wmjax._checks import positive_int
from wmjax.cli._common import (
    add_json_flag,
    default_out,
    fmt,
    out_dir,
    print_json,
    print_table,
    progress,
)
from wmjax.cli._fills import add_fills_options, conditioned, load_day


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "counterfactual",
        help="what the alternatives would have cost on the day of historical orders",
        description=(
            "For each fills file (one historical parent order; arrival price, start and end from "
            "the options or a JSON sidecar FILLS.json), run TWAP, VWAP, AC-optimal, POV and "
            "aggressive on the same simulated paths of a market conditioned on the day (the "
            "LOBSTER file's volume profile over the order's window, volatility and spread), and "
            "place the realised IS within each alternative's distribution."
        ),
    )
    add_fills_options(p)
    p.add_argument(
        "--alternatives",
        default="twap,vwap,ac_optimal,pov_10,aggressive",
        help="comma separated: twap, vwap, ac_optimal, aggressive, pov_<percent>",
    )
    p.add_argument("--risk-aversion", type=float, default=0.0, help="for ac_optimal (0)")
    p.add_argument("--out", default=default_out("counterfactual"), help="folder for the PNG")
    p.add_argument("--no-plots", action="store_true", help="write no PNG")
    add_json_flag(p)
    p.set_defaults(run=run_counterfactual)


def run_counterfactual(args) -> int:
    import jax

    from wmjax.analytics import counterfactual, order_from_fills
    from wmjax.market import ImpactMarket

    names = tuple(a.strip() for a in args.alternatives.split(",") if a.strip())
    positive_int("--paths", args.paths, minimum=2)
    folder = None if args.no_plots else out_dir("--out", args.out)
    with progress(not args.json) as bar:
        task = bar.add_task("loading the day and conditioning the market", total=2)
        data, fills = load_day(args)
        params, infos = conditioned(data, fills, args.periods)
        bar.advance(task)
        orders = [order_from_fills(f, args.risk_aversion) for f in fills]
        report = counterfactual(
            orders,
            fills,
            ImpactMarket(),
            params,
            names,
            args.paths,
            jax.random.key(args.seed),
            keep_samples=not args.no_plots,
        )
        bar.advance(task)
    out = report.to_dict()
    for i, (o, info) in enumerate(zip(out["orders"], infos, strict=True)):
        o["fills_file"] = args.fills[i]
        o["conditioning"] = info
    if folder is not None:
        out["figures"] = [str(_counterfactual_figure(report, folder))]
    if args.json:
        print_json(out)
        return 0
    for i, o in enumerate(out["orders"]):
        print_table(
            f"{args.fills[i]}: realised IS {o['realised_bps']:.2f} bps; "
            + (
                f"best alternative: {o['best_alternative']}"
                if o["verdict"] == "best"
                else f"not distinguishable: {o['best_alternative']} and {o['runner_up']}"
            )
            + f" ({o['runner_up']} {o['difference_bps']:.3g} ± {o['difference_se_bps']:.2g} bps "
            "more on the same paths)",
            ["alternative", "mean bps ± SE", "std bps", "p05 bps", "p95 bps", "realised pct"],
            [
                (
                    n,
                    f"{fmt(a['mean_bps'])} ± {fmt(a['mean_se_bps'], 2)}",
                    a["std_bps"],
                    a["p05_bps"],
                    a["p95_bps"],
                    a["realised_percentile"],
                )
                for n, a in o["alternatives"].items()
            ],
        )
    for f in out.get("figures", []):
        print(f"wrote {f}")
    return 0


def _counterfactual_figure(report, folder: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from wmjax.cli._common import save_figure

    fig, ax = plt.subplots(figsize=(7, 4))
    for j, name in enumerate(report.alternatives):
        ax.hist(report.is_samples_bps[0, j], bins=60, histtype="step", density=True, label=name)
    ax.axvline(report.realised_bps[0], color="k", ls="--", label="realised")
    ax.set_xlabel("implementation shortfall, bps")
    ax.set_ylabel("density")
    ax.set_title("alternatives on common paths (first order)")
    ax.legend()
    return save_figure(fig, folder / "counterfactual.png")
