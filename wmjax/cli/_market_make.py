"""`wmjax market-make`: closed-form market makers on the model market, side by side on common
random numbers."""

from __future__ import annotations

import numpy as np

from wmjax.cli._common import add_json_flag, print_json, print_table

AGENTS = ("as", "as-symmetric", "glft", "cjp")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "market-make",
        help="run closed-form market makers on the Avellaneda-Stoikov model market",
        description=(
            "Simulate market makers on the model market (Brownian mid, Poisson market orders "
            "filling a quote at depth d with probability exp(-k d); Avellaneda & Stoikov 2008) "
            "on common random numbers and report P&L, inventory, fills, adverse selection and "
            "drawdown per agent."
        ),
    )
    p.add_argument(
        "--agent", choices=AGENTS, nargs="+", default=list(AGENTS), help="agents (default: all)"
    )
    p.add_argument("--gamma", type=float, default=0.1, help="risk aversion (default 0.1)")
    p.add_argument("--sigma", type=float, default=2.0, help="mid volatility (default 2)")
    p.add_argument("--mo-rate", type=float, default=140.0, help="market orders per side (140)")
    p.add_argument("--decay-k", type=float, default=1.5, help="fill decay per price unit (1.5)")
    p.add_argument("--jump", type=float, default=0.0, help="mid move per market order (0)")
    p.add_argument("--phi", type=float, default=0.05, help="CJP running penalty (default 0.05)")
    p.add_argument("--alpha", type=float, default=0.01, help="CJP terminal penalty (0.01)")
    p.add_argument("--steps", type=int, default=200, help="steps of dt (default 200)")
    p.add_argument("--dt", type=float, default=0.005, help="step length (default 0.005)")
    p.add_argument("--paths", type=int, default=2000, help="simulated paths (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_json_flag(p)
    p.set_defaults(run=run)


def _strategy(name, args, config):
    from wmjax import strategies as st

    if name in ("as", "as-symmetric"):
        agent = st.avellaneda_stoikov(args.gamma, args.sigma, args.decay_k)
        return (st.as_inventory_quotes if name == "as" else st.as_symmetric_quotes), agent
    if name == "glft":
        table = st.glft_table(args.gamma, args.sigma, args.mo_rate, args.decay_k, config)
        return st.table_quotes, table
    table = st.cjp_table(
        args.decay_k, args.mo_rate, args.mo_rate, args.phi, args.alpha, config, jump=args.jump
    )
    return st.table_quotes, table


def summary(paths, horizon: float) -> dict:
    """P&L and risk figures of one agent's paths (price units; fills per unit time)."""
    from wmjax.market import max_drawdown

    pnl = np.asarray(paths.pnl, dtype=float)
    worst = np.sort(pnl)[: max(1, len(pnl) // 100)]
    fills = float(np.asarray(paths.fills).sum())
    return {
        "pnl_mean": pnl.mean(),
        "pnl_se": pnl.std(ddof=1) / np.sqrt(len(pnl)),
        "pnl_std": pnl.std(ddof=1),
        "sharpe_per_session": pnl.mean() / max(pnl.std(ddof=1), 1e-12),
        "mean_abs_inventory": float(np.abs(np.asarray(paths.inventory)).mean()),
        "final_inventory_std": float(np.asarray(paths.final_inventory).std(ddof=1)),
        "fill_rate": fills / (len(pnl) * horizon),
        "adverse_selection_per_fill": float(np.asarray(paths.adverse_selection).sum())
        / max(fills, 1.0),
        "max_drawdown_mean": float(np.asarray(max_drawdown(paths.mark_to_market)).mean()),
        "cvar99_loss": -worst.mean(),
    }


def run(args) -> int:
    import jax

    from wmjax._checks import positive_int
    from wmjax.market import quote_config, quote_market_params, simulate_quotes

    paths = positive_int("--paths", args.paths, minimum=2)
    config = quote_config(args.steps, args.dt)
    params = quote_market_params(
        sigma=args.sigma, mo_rate=args.mo_rate, decay_k=args.decay_k, jump=args.jump
    )
    simulate = jax.jit(simulate_quotes, static_argnums=(2, 4, 5))
    key = jax.random.key(args.seed)
    out = {}
    for name in args.agent:
        strategy, agent = _strategy(name, args, config)
        out[name] = summary(simulate(key, params, strategy, agent, config, paths), config.horizon)
    if args.json:
        print_json({"agents": out, "paths": paths, "market": "model"})
    else:
        columns = ["agent", "P&L mean", "± SE", "P&L std", "mean |q|", "fills/time", "adv.sel."]
        keys = ["pnl_mean", "pnl_se", "pnl_std", "mean_abs_inventory", "fill_rate"]
        rows = [
            [name, *(r[k] for k in keys), r["adverse_selection_per_fill"]]
            for name, r in out.items()
        ]
        print_table(f"Market making on the model market ({paths} paths)", columns, rows)
    return 0
