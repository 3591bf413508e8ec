"""`wmjax market-make`: closed-form market makers on the model market, side by side on common
random numbers."""

from __future__ import annotations

import numpy as np

from wmjax.cli._common import add_json_flag, print_json, print_table
from wmjax.cli._market_make_book import add_book_arguments, run_book

AGENTS = ("as", "as-symmetric", "glft", "cjp", "as-toxic", "as-toxic-hawkes", "learned")
DEFAULT_AGENTS = ("as", "as-symmetric", "glft", "cjp")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "market-make",
        help="run market makers on the Avellaneda-Stoikov model market or the Hawkes book",
        description=(
            "Simulate market makers on the model market (Brownian mid, Poisson market orders "
            "filling a quote at depth d with probability exp(-k d); Avellaneda & Stoikov 2008) "
            "on common random numbers and report P&L, inventory, fills, adverse selection and "
            "drawdown per agent. Optional toxic flow: information events during which informed "
            "market orders arrive on one side and the mid drifts their way; as-toxic widens and "
            "skews the AS quotes with the tape's VPIN (Easley, Lopez de Prado & O'Hara 2012)."
        ),
    )
    p.add_argument(
        "--agent",
        choices=AGENTS,
        nargs="+",
        default=None,
        help="agents (default: the closed-form ones; as-toxic = AS widened/skewed by VPIN; "
        "as-toxic-hawkes: by the flow's Hawkes intensity imbalance and learned: a flax maker "
        "trained through the relaxed book, --market book only)",
    )
    p.add_argument("--gamma", type=float, default=0.1, help="risk aversion (default 0.1)")
    p.add_argument("--sigma", type=float, default=2.0, help="mid volatility (default 2)")
    p.add_argument("--mo-rate", type=float, default=140.0, help="market orders per side (140)")
    p.add_argument("--decay-k", type=float, default=1.5, help="fill decay per price unit (1.5)")
    p.add_argument("--jump", type=float, default=0.0, help="mid move per market order (0)")
    p.add_argument("--phi", type=float, default=0.05, help="CJP running penalty (default 0.05)")
    p.add_argument("--alpha", type=float, default=0.01, help="CJP terminal penalty (0.01)")
    p.add_argument("--informed-rate", type=float, default=0.0, help="informed orders (0)")
    p.add_argument("--info-start-rate", type=float, default=0.0, help="info events start (0)")
    p.add_argument("--info-end-rate", type=float, default=0.0, help="info events end (0)")
    p.add_argument("--info-drift", type=float, default=0.0, help="mid drift in an event (0)")
    p.add_argument("--vpin-bucket", type=float, default=10.0, help="orders per bucket (10)")
    p.add_argument("--vpin-window", type=int, default=10, help="buckets in VPIN (10)")
    p.add_argument("--widen", type=float, default=2.0, help="as-toxic: depth per VPIN (2)")
    p.add_argument("--skew", type=float, default=0.5, help="as-toxic: shift per imbalance (0.5)")
    p.add_argument("--vpin-threshold", type=float, default=0.2, help="as-toxic: threshold (0.2)")
    p.add_argument("--markout-steps", type=int, default=1, help="adverse-selection horizon (1)")
    p.add_argument("--steps", type=int, default=200, help="steps of dt (default 200)")
    p.add_argument("--dt", type=float, default=0.005, help="step length (default 0.005)")
    p.add_argument("--paths", type=int, default=2000, help="simulated paths (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_book_arguments(p)
    add_json_flag(p)
    p.set_defaults(run=run)


def _strategy(name, args, config):
    from wmjax import strategies as st

    if name in ("as", "as-symmetric", "as-toxic"):
        agent = st.avellaneda_stoikov(args.gamma, args.sigma, args.decay_k)
        if name == "as-toxic":
            params = st.toxicity_aware(agent, args.widen, args.skew, args.vpin_threshold)
            return st.toxicity_aware_strategy(st.as_inventory_quotes), params
        return (st.as_inventory_quotes if name == "as" else st.as_symmetric_quotes), agent
    if name == "glft":
        table = st.glft_table(args.gamma, args.sigma, args.mo_rate, args.decay_k, config)
        return st.table_quotes, table
    table = st.cjp_table(
        args.decay_k, args.mo_rate, args.mo_rate, args.phi, args.alpha, config, jump=args.jump
    )
    return st.table_quotes, table


def summary(paths, horizon: float, markout_steps: int = 1) -> dict:
    """P&L and risk figures of one agent's paths (price units; fills per unit time); the
    drawdown figures are `wmjax.analytics.drawdown_summary`'s."""
    from wmjax.analytics import drawdown_summary
    from wmjax.market import markout

    pnl = np.asarray(paths.pnl, dtype=float)
    fills = float(np.asarray(paths.fills).sum())
    return {
        "pnl_std": pnl.std(ddof=1),
        "sharpe_per_session": pnl.mean() / max(pnl.std(ddof=1), 1e-12),
        "mean_abs_inventory": float(np.abs(np.asarray(paths.inventory)).mean()),
        "final_inventory_std": float(np.asarray(paths.final_inventory).std(ddof=1)),
        "fill_rate": fills / (len(pnl) * horizon),
        "adverse_selection_per_fill": float(np.asarray(paths.adverse_selection).sum())
        / max(fills, 1.0),
        "markout_per_fill": float(np.asarray(markout(paths, markout_steps)).sum()) / max(fills, 1),
        "inventory_std": float(np.asarray(paths.inventory).std(axis=-1).mean()),
        **drawdown_summary(paths),
    }


def run(args) -> int:
    import jax

    from wmjax._checks import InputError, positive_int
    from wmjax.market import quote_config, quote_market_params
    from wmjax.strategies import simulate_quotes

    if args.market == "book":
        args.agent = args.agent or ["as", "glft", "cjp"]
        return run_book(args)
    args.agent = args.agent or list(DEFAULT_AGENTS)
    for book_only in ("learned", "as-toxic-hawkes"):
        if book_only in args.agent:
            raise InputError(f"--agent {book_only} runs on the book only: add --market book")
    paths = positive_int("--paths", args.paths, minimum=2)
    markout_steps = positive_int("--markout-steps", args.markout_steps)
    config = quote_config(args.steps, args.dt, args.vpin_bucket, args.vpin_window)
    params = quote_market_params(
        sigma=args.sigma,
        mo_rate=args.mo_rate,
        decay_k=args.decay_k,
        jump=args.jump,
        informed_rate=args.informed_rate,
        info_start_rate=args.info_start_rate,
        info_end_rate=args.info_end_rate,
        info_drift=args.info_drift,
    )
    key = jax.random.key(args.seed)
    out, runs = {}, {}
    for name in args.agent:
        strategy, agent = _strategy(name, args, config)
        runs[name] = simulate_quotes(key, params, strategy, agent, config, paths)
        out[name] = summary(runs[name], config.horizon, markout_steps)
    report = {"agents": out, "paths": paths, "market": "model"}
    if "as" in runs and "as-toxic" in runs:
        from wmjax.analytics import paired_market_making

        report["as_toxic_minus_as"] = paired_market_making(
            runs["as"], runs["as-toxic"], markout_steps
        )
    if args.json:
        print_json(report)
    else:
        columns = ["agent", "P&L mean", "± SE", "P&L std", "mean |q|", "fills/time", "adv.sel."]
        columns.append(f"markout {markout_steps}")
        keys = ["pnl_mean", "pnl_se", "pnl_std", "mean_abs_inventory", "fill_rate"]
        keys += ["adverse_selection_per_fill", "markout_per_fill"]
        rows = [[name, *(r[k] for k in keys)] for name, r in out.items()]
        print_table(f"Market making on the model market ({paths} paths)", columns, rows)
        if "as_toxic_minus_as" in report:
            paired = report["as_toxic_minus_as"]
            metrics = ("pnl", "adverse_selection", "inventory_std", "fills")
            rows = [
                [m, *(paired[m][k] for k in ("base", "new", "difference", "se"))] for m in metrics
            ]
            print_table(
                "as-toxic minus as, per path (paired)",
                ["metric", "as", "as-toxic", "diff", "SE"],
                rows,
            )
    return 0
