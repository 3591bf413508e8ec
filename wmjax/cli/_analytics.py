"""`wmjax pretrade`, `wmjax counterfactual`, `wmjax tca`, `wmjax advise`: what a desk reads."""

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
    _register_pretrade(subparsers)
    _register_counterfactual(subparsers)
    _register_tca(subparsers)
    _register_advise(subparsers)


# ---------------------------------------------------------------------------------- pretrade
def _register_pretrade(subparsers) -> None:
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
    p.add_argument("--regime", default=None, help="calm or stressed (market-context line)")
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


# ---------------------------------------------------------------------------- counterfactual
def _add_fills_options(p) -> None:
    p.add_argument("fills", nargs="+", help="fills CSV(s): time,side,shares,price (one order each)")
    p.add_argument("--market", required=True, help="the day's LOBSTER message file")
    p.add_argument(
        "--orderbook",
        default=None,
        help="its order-book file (default: the message file's name "
        "with 'message' replaced by 'orderbook')",
    )
    p.add_argument("--arrival-price", type=float, default=None, help="overrides the sidecar")
    p.add_argument("--start", default=None, help="order start (s after midnight or HH:MM:SS)")
    p.add_argument("--end", default=None, help="order end (s after midnight or HH:MM:SS)")
    p.add_argument("--quantity", type=float, default=None, help="order size (default: filled)")
    p.add_argument("--end-price", type=float, default=None, help="mid at the end")
    p.add_argument("--periods", type=int, default=10, help="decision intervals (10)")
    p.add_argument("--paths", type=int, default=1000, help="paths per order, >= 2 (1000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument(
        "--allow-implausible-prices",
        action="store_true",
        help="accept fill prices more than 50%% away from the arrival price",
    )


def _load_day(args):
    from wmjax.cli._common import load_lobster_day
    from wmjax.data import load_fills

    data = load_lobster_day(args.market, args.orderbook)
    fills = [
        load_fills(
            f,
            arrival_price=args.arrival_price,
            start=args.start,
            end=args.end,
            quantity_shares=args.quantity,
            end_price=args.end_price,
            max_price_deviation=None if args.allow_implausible_prices else 0.5,
        )
        for f in args.fills
    ]
    return data, fills


def _conditioned(data, fills, periods):
    import jax

    from wmjax.analytics import day_market_params

    params, infos = [], []
    for f in fills:
        p, info = day_market_params(
            data, f.start_s, f.end_s, periods, arrival_price=f.arrival_price
        )
        params.append(p)
        infos.append(info)
    return jax.tree.map(lambda *xs: np.stack(xs), *params), infos


def _register_counterfactual(subparsers) -> None:
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
    _add_fills_options(p)
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
        data, fills = _load_day(args)
        params, infos = _conditioned(data, fills, args.periods)
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


# ------------------------------------------------------------------------------------- tca
def _register_tca(subparsers) -> None:
    p = subparsers.add_parser(
        "tca",
        help="simulator-backed TCA: realised vs simulated shortfall, drift alert, metrics",
        description=(
            "Each fills file is one window (one order): its realised IS against the simulated "
            "distribution of the same strategy on a market conditioned on the day; prints "
            "tca_divergence_v1 records, runs the drift monitor over the windows in order, and "
            "writes the metrics in Prometheus text format."
        ),
    )
    _add_fills_options(p)
    p.add_argument("--strategy", default="vwap", help="the strategy the order ran (vwap)")
    p.add_argument("--threshold-bps", type=float, default=10.0, help="drift threshold (10)")
    p.add_argument("--consecutive", type=int, default=3, help="windows over it to alert (3)")
    p.add_argument("--metrics-out", default=None, help="write Prometheus text metrics here")
    add_json_flag(p)
    p.set_defaults(run=run_tca)


def run_tca(args) -> int:
    import jax

    from wmjax.analytics import (
        DriftMonitor,
        counterfactual,
        order_from_fills,
        simulator_version,
        tca_divergence,
    )
    from wmjax.market import ImpactMarket

    monitor = DriftMonitor(args.threshold_bps, args.consecutive)
    with progress(not args.json) as bar:
        task = bar.add_task("simulating the expected shortfall", total=1)
        data, fills = _load_day(args)
        params, _ = _conditioned(data, fills, args.periods)
        report = counterfactual(
            [order_from_fills(f) for f in fills],
            fills,
            ImpactMarket(),
            params,
            (args.strategy,),
            args.paths,
            jax.random.key(args.seed),
            keep_samples=True,
        )
        bar.advance(task)
    version = simulator_version()
    windows = []
    for i, f in enumerate(fills):
        record = tca_divergence(report.realised_bps[i], report.is_samples_bps[i, 0], version)
        alert = monitor.update(record, notional=f.quantity_shares * f.arrival_price)
        windows.append({"fills_file": args.fills[i], **record, "drift_alert": alert})
    text = monitor.prometheus({"symbol": fills[0].symbol} if fills[0].symbol else None)
    if args.metrics_out:
        Path(args.metrics_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.metrics_out).write_text(text)
    out = {
        "windows": windows,
        "metrics": monitor.metrics(),
        "drift_alert": monitor.alert,
        "threshold_bps": monitor.threshold_bps,
        "consecutive": monitor.consecutive,
    }
    if args.json:
        print_json(out)
        return 0
    print_table(
        f"TCA against the simulator ({args.strategy}; drift alert after {args.consecutive} "
        f"windows over {args.threshold_bps:g} bps)",
        ["window", "realised bps", "sim p50 bps", "sim p95 bps", "divergence bps", "alert"],
        [
            (
                w["fills_file"],
                w["realized_shortfall_bps"],
                w["expected_shortfall_bps_p50"],
                w["expected_shortfall_bps_p95"],
                w["divergence_bps"],
                str(w["drift_alert"]),
            )
            for w in windows
        ],
    )
    print(text, end="")
    return 0


# ---------------------------------------------------------------------------------- advise
def _read_json(path: Path, what: str):
    import json

    from wmjax._checks import InputError

    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputError(f"{what} {path} is not valid JSON: {err}") from err


def _register_advise(subparsers) -> None:
    p = subparsers.add_parser(
        "advise",
        help="bounded execution advice for the next child orders from a microstructure state",
        description=(
            "Read a microstructure_state_v1 JSON and an execution_limits_v1 policy file; "
            "evaluate candidate participation rates, order types and quote offsets on paths of "
            "a market calibrated to the state; intersect the best with the limits and the "
            "regime controller's budget; print execution_advice_v1. A missing or stale state "
            "gives the policy's baseline with the reason; --memory keeps the hysteresis "
            "between calls."
        ),
    )
    p.add_argument("state", help="microstructure_state_v1 JSON (a missing file: baseline)")
    p.add_argument("--policy", required=True, help="execution_limits_v1 JSON (the limits)")
    p.add_argument("--now", default=None, help="current time, ISO 8601 (default: the clock)")
    p.add_argument("--memory", default=None, help="JSON file read and updated (hysteresis)")
    p.add_argument("--side", default="buy", help="the parent order's side (buy)")
    p.add_argument("--target-participation", type=float, default=0.1, help="schedule rate")
    p.add_argument("--adv-usd", type=float, default=5e8, help="average daily value, USD")
    p.add_argument("--volatility", type=float, default=0.02, help="daily volatility (0.02)")
    p.add_argument("--paths", type=int, default=256, help="paths per candidate (256)")
    p.add_argument("--seed", type=int, default=0)
    add_json_flag(p)
    p.set_defaults(run=run_advise)


def run_advise(args) -> int:
    import jax

    from wmjax._checks import InputError
    from wmjax.analytics import AdvisorConfig, AdvisorMemory, advise
    from wmjax.analytics._schema import parse_timestamp

    side = args.side.lower()
    if side not in ("buy", "sell"):
        raise InputError(f'--side must be "buy" or "sell", got {args.side!r}')
    config = AdvisorConfig(
        side=1.0 if side == "buy" else -1.0,
        target_participation=args.target_participation,
        adv_usd=args.adv_usd,
        daily_volatility=args.volatility,
        n_paths=args.paths,
    )
    policy_path = Path(args.policy)
    if not policy_path.is_file():
        raise InputError(f"--policy {policy_path} does not exist")
    limits = _read_json(policy_path, "policy")
    state_path = Path(args.state)
    state = _read_json(state_path, "state") if state_path.is_file() else None
    memory = None
    if args.memory and Path(args.memory).is_file():
        memory = AdvisorMemory.from_dict(_read_json(Path(args.memory), "memory"))
    now = None if args.now is None else parse_timestamp(args.now, "--now")
    advice, memory = advise(
        state, limits, now=now, memory=memory, key=jax.random.key(args.seed), config=config
    )
    if args.memory:
        import json

        Path(args.memory).write_text(json.dumps(memory.to_dict()))
    if args.json:
        print_json(advice)
        return 0
    prov = advice["provenance"]
    print_table(
        f"Execution advice for {advice['symbol'] or '(no state)'}",
        ["field", "value"],
        [
            ("urgency tier", advice["urgency_tier"]),
            ("max participation rate", advice["max_participation_rate"]),
            ("preferred order type", advice["preferred_order_type"]),
            ("quote offset bps", advice["quote_offset_bps"]),
            ("adverse selection risk", advice["adverse_selection_risk"]),
            ("regime", prov["regime"]),
            ("fallback", prov["fallback_reason"] or "no"),
            ("override", "; ".join(prov["override_reasons"]) or "no"),
            ("simulator", prov["simulator_version"]),
        ],
    )
    return 0
