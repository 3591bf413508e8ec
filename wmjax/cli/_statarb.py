"""`wmjax statarb`: walk-forward pairs trading on a daily close file, every rule after costs,
and the stat-arb world model's rule against the A&L rule."""

from __future__ import annotations

import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from wmjax._checks import positive, positive_int, require
from wmjax.cli._common import (
    add_json_flag,
    default_out,
    out_dir,
    print_json,
    print_table,
    progress,
    save_figure,
)

HEADLINE_RULE = "al"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "statarb",
        help="walk-forward pairs trading (A&L, Bertram, first-passage, world model) after costs",
        description=(
            "Select pairs by Engle-Granger on the formation window before each year, fit the "
            "A&L OU on a trailing 60-day window, trade the year out of sample with each rule, "
            "costs per side on the gross notional traded. The world model is trained on "
            "simulated baskets and on the real pairs of the first TRAIN_YEARS years only."
        ),
    )
    p.add_argument("prices", metavar="PRICES_CSV", help="Date,TICKER1,TICKER2,... daily closes")
    p.add_argument("--train-years", type=int, default=15, help="years before the first trade")
    p.add_argument("--formation-days", type=int, default=252, help="Engle-Granger window")
    p.add_argument("--cost-bps", type=float, default=5.0, help="cost per side, bps of notional")
    p.add_argument("--model-updates", type=int, default=300, help="world-model Adam updates")
    p.add_argument("--no-model", action="store_true", help="classic rules only")
    p.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples of Sharpe")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=default_out("statarb"), help="folder for the equity-curve PNG")
    add_json_flag(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from wmjax.data import load_prices
    from wmjax.strategies import WalkForwardConfig, calendar_layout, walk_forward

    prices = load_prices(args.prices)
    train_years = positive_int("--train-years", args.train_years)
    config = WalkForwardConfig(
        formation_days=positive_int("--formation-days", args.formation_days, minimum=30),
        cost_bps=float(positive("--cost-bps", args.cost_bps, allow_zero=True)),
    )
    positive_int("--bootstrap", args.bootstrap, minimum=10)
    years = prices.dates.astype("datetime64[Y]").astype(int) + 1970
    first_trade = years[0] + train_years
    require(
        first_trade <= years[-1],
        f"--train-years {train_years}: the file ends in {years[-1]}, nothing left to trade",
    )
    folder = out_dir("--out", args.out)  # before the backtest
    # every year with a full formation window before it: the training years' blocks feed the
    # world model, the others are traded; one vmapped call for all of them
    skip = int(np.ceil(config.formation_days / 252))
    require(
        skip < train_years,
        f"--train-years {train_years} must exceed the formation window "
        f"({config.formation_days} days); raise it or lower --formation-days",
    )
    layout = calendar_layout(prices.dates, skip, config)
    timings = {}
    with progress(not args.json) as bar:
        bar.add_task(
            f"backtest: {len(prices.tickers)} assets, {layout.label.size} years", total=None
        )
        start = time.perf_counter()
        blocks, results = walk_forward(prices.log_prices, layout, config)
        jax.block_until_ready(results)
        timings["backtest_s"] = time.perf_counter() - start
        trade = layout.label >= first_trade
        model_rule = None
        if not args.no_model:
            model_rule, timings["model_train_s"] = _world_model_rule(
                args, bar, blocks, layout, trade, config
            )
    summary = _summary(prices, layout, config, blocks, results, model_rule, trade, args)
    summary["seconds"] = timings
    summary["png"] = str(_plot(summary.pop("_curves"), folder / "statarb_equity.png"))
    if args.json:
        print_json(summary)
        return 0
    _print(summary)
    return 0


def _world_model_rule(args, bar, blocks, layout, trade, config):
    """Train the world model on the training years' selected pairs (and simulations), then run
    the A&L bands on its z-score, opening only where it calls the spread reverting."""
    from wmjax.models import forward_targets, model_signals, pair_features, train_statarb_model
    from wmjax.strategies import al_bands, select_blocks, signal_rule_result

    n_updates = positive_int("--model-updates", args.model_updates)
    train_idx = np.nonzero(~trade)[0]
    k_idx, p_idx = np.nonzero(np.asarray(blocks.selected)[train_idx])
    pick = lambda a: a[train_idx[k_idx], p_idx]  # noqa: E731
    w = config.window_days
    last = w + layout.block_days[train_idx[k_idx]] - 1
    spread, legs, fit = (
        pick(blocks.spread),
        pick(blocks.leg_returns),
        jax.tree.map(pick, blocks.fit),
    )
    feats = jax.vmap(pair_features)(spread, legs, fit)
    targets = jax.vmap(forward_targets)(spread, jnp.asarray(last))
    task = bar.add_task(f"world model: {spread.shape[0]} real pair-years", total=n_updates)
    model, result = train_statarb_model(
        jax.random.key(args.seed), feats, targets, n_days=spread.shape[1], n_updates=n_updates,
        callback=lambda i, loss: bar.update(task, completed=i + 1),
    )  # fmt: skip
    traded = select_blocks(blocks, np.nonzero(trade)[0])
    k, p, s = traded.spread.shape
    flat = lambda a: a.reshape(k * p, *a.shape[2:])  # noqa: E731
    signals = model_signals(
        model, result.params, flat(traded.spread), flat(traded.leg_returns),
        jax.tree.map(flat, traded.fit),
    )  # fmt: skip
    z = signals.z_score.reshape(k, p, s)
    reverting = signals.p_reverting.reshape(k, p, s) > 0.5
    never = jnp.full(z.shape, jnp.inf)
    rule = signal_rule_result(traded, z, reverting, al_bands(), never, config.cost_bps)
    return rule, result.seconds


def _summary(prices, layout, config, blocks, results, model_rule, trade, args) -> dict:
    from wmjax.strategies import block_series, performance, select_blocks, sharpe_difference

    k_trade = np.nonzero(trade)[0]
    trade_layout = select_blocks(layout, k_trade)
    rules = {name: select_blocks(r, k_trade) for name, r in results.items()}
    if model_rule is not None:
        rules["world_model"] = model_rule
    by_rule, curves = {}, {}
    for name, r in rules.items():
        daily = block_series(r.daily_return, trade_layout, config)
        stats = performance(daily, block_series(r.daily_turnover, trade_layout, config))
        by_rule[name] = {"pairs_traded": int(np.asarray(r.traded).any(0).sum()), **stats}
        curves[name] = daily
    head = by_rule[HEADLINE_RULE]
    summary = {
        "pairs_traded": head["pairs_traded"],
        "annual_return": head["annual_return"],
        "sharpe": head["sharpe"],
        "max_drawdown": head["max_drawdown"],
        "turnover": head["turnover"],
        "headline_rule": HEADLINE_RULE,
        "by_rule": by_rule,
        "cost_bps_per_side": config.cost_bps,
        "trade_years": [int(trade_layout.label[0]), int(trade_layout.label[-1])],
        "train_years": args.train_years,
        "formation_days": config.formation_days,
        "pairs_selected_per_year": dict(
            zip(
                (int(y) for y in trade_layout.label),
                np.asarray(blocks.selected)[k_trade].sum(1).tolist(),
                strict=True,
            )
        ),
        "_curves": curves,
    }
    if model_rule is not None:
        diff, se = sharpe_difference(
            curves["world_model"], curves[HEADLINE_RULE], n_boot=args.bootstrap, seed=args.seed
        )
        summary["world_model_vs_al"] = {"sharpe_difference": diff, "bootstrap_se": se}
    return summary


def _print(summary: dict) -> None:
    first, last = summary["trade_years"]
    rows = [
        [name, r["pairs_traded"], r["annual_return"], r["annual_vol"], r["sharpe"],
         r["max_drawdown"], r["turnover"]]
        for name, r in summary["by_rule"].items()
    ]  # fmt: skip
    print_table(
        f"Walk-forward pairs trading {first}-{last}, out of sample, "
        f"{summary['cost_bps_per_side']} bps per side",
        ["rule", "pairs traded", "annual return", "annual vol", "Sharpe", "max drawdown",
         "turnover /yr"],
        rows,
    )  # fmt: skip
    if "world_model_vs_al" in summary:
        d = summary["world_model_vs_al"]
        print(
            f"world model - A&L Sharpe: {d['sharpe_difference']:.3f} +- {d['bootstrap_se']:.3f} "
            "(paired block bootstrap SE, 21-day blocks)"
        )
    print(f"equity curves: {summary['png']}")


def _plot(curves: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    for name, daily in curves.items():
        ax.plot(np.cumprod(1 + daily), label=name)
    ax.set_xlabel("trading day (out of sample)")
    ax.set_ylabel("equity (after costs)")
    ax.legend()
    return save_figure(fig, path)
