"""`wmjax evaluate`: the desk's evaluation report for the standard strategies on a desk market."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wmjax.cli._common import (
    add_json_flag,
    default_out,
    out_dir,
    print_json,
    print_table,
    progress,
    save_figure,
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="evaluation report: execution quality (with SEs) and model forecast accuracy",
        description=(
            "Run TWAP, VWAP, AC-optimal, POV and aggressive on common paths of a desk market "
            "(ATHL 2005 impact laws) and report IS vs arrival and vs VWAP, participation CV, "
            "timing alpha, impact vs the square-root law, reversion capture (with --post), "
            "each with its standard error; the pre-trained execution world model's shortfall "
            "bias and impact RMSE against the same paths; and the volume-profile MAE."
        ),
    )
    p.add_argument("--side", default="buy", help="buy or sell (buy)")
    p.add_argument("--shares", type=float, default=2e5, help="order size, shares (200000)")
    p.add_argument("--adv", type=float, default=5e6, help="average daily volume (5e6)")
    p.add_argument("--horizon", type=float, default=0.5, help="time allowed, days (0.5)")
    p.add_argument("--volatility", type=float, default=0.02, help="daily volatility (0.02)")
    p.add_argument("--spread-bps", type=float, default=2.0, help="quoted spread, bps (2)")
    p.add_argument("--risk-aversion", type=float, default=0.5, help="lambda on std (0.5)")
    p.add_argument("--paths", type=int, default=2000, help="paths per strategy (2000)")
    p.add_argument("--post", type=int, default=0, help="idle intervals after the horizon")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=default_out("evaluate"), help="folder for the PNG")
    p.add_argument("--no-plots", action="store_true", help="write no PNG")
    add_json_flag(p)
    p.set_defaults(run=run_evaluate)


def run_evaluate(args) -> int:
    import jax

    from wmjax.analytics import desk_market_params, evaluation_report, standard_strategies
    from wmjax.execution import order
    from wmjax.models import ExecutionWorldModel, load_execution_world

    o = order(args.shares, args.horizon, args.side, risk_aversion=args.risk_aversion)
    folder = None if args.no_plots else out_dir("--out", args.out)  # before the simulating
    n_steps = 10  # the pre-trained execution world model's intervals
    params = desk_market_params(
        n_steps,
        args.horizon,
        daily_volume_shares=args.adv,
        daily_volatility=args.volatility,
        spread_bps=args.spread_bps,
    )
    model = ExecutionWorldModel()
    with progress(not args.json) as bar:
        task = bar.add_task("simulating strategies", total=1)
        out = evaluation_report(
            o,
            params,
            standard_strategies(o, params),
            args.paths,
            jax.random.key(args.seed),
            n_post=args.post,
            world_model=model,
            world_params=load_execution_world(model=model, n_steps=n_steps),
        )
        bar.advance(task)
    if folder is not None:
        out["figures"] = [str(_figure(out, folder))]
    if args.json:
        print_json(out)
        return 0
    metrics = [
        ("is_vs_arrival_bps", "IS arrival bps"),
        ("is_vs_vwap_bps", "IS VWAP bps"),
        ("participation_cv", "part. CV"),
        ("timing_alpha_bps", "timing bps"),
        ("impact_vs_sqrt_law", "IS / sqrt law"),
        ("reversion_capture", "reversion"),
    ]
    shown = [(k, h) for k, h in metrics if all(k in m for m in out["strategies"].values())]
    pm = lambda d: f"{d['mean']:.3g} ± {d['se']:.2g}"  # noqa: E731
    print_table(
        f"Execution quality ({args.paths:,} common paths; mean ± SE)",
        ["strategy", *(h for _, h in shown)],
        [(name, *(pm(m[k]) for k, _ in shown)) for name, m in out["strategies"].items()],
    )
    print_table(
        "Execution world model vs the simulator (same paths)",
        ["strategy", "predicted IS bps", "shortfall bias bps", "impact RMSE bps"],
        [
            (n, p["predicted_is_bps"], pm(p["shortfall_bias_bps"]), p["impact_rmse_bps"]["mean"])
            for n, p in out["prediction"].items()
        ],
    )
    print(f"volume-profile MAE: {pm(out['volume_profile_mae'])} (share of the order's volume)")
    print("dark-pool fill-rate accuracy: n/a (the impact market has no dark venue)")
    for f in out.get("figures", []):
        print(f"wrote {f}")
    return 0


def _figure(out: dict, folder: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(out["strategies"])
    mean = np.array([out["strategies"][n]["is_vs_arrival_bps"]["mean"] for n in names])
    se = np.array([out["strategies"][n]["is_vs_arrival_bps"]["se"] for n in names])
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(names, mean, yerr=2 * se, label="simulator (± 2 SE)", alpha=0.7)
    if out["prediction"]:
        ax.plot(
            names,
            [out["prediction"][n]["predicted_is_bps"] for n in names],
            "ko",
            label="world model",
        )
    ax.set_ylabel("IS vs arrival, bps")
    ax.legend()
    return save_figure(fig, folder / "evaluate_is.png")
