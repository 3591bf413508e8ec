"""`wmjax market-make --market book`: market makers on the Hawkes book (helper of
`wmjax.cli._market_make`)."""

from __future__ import annotations

import numpy as np

from wmjax.cli._common import print_json, print_table, progress

BOOK_AGENTS = ("as", "glft", "cjp", "learned", "as-toxic", "as-toxic-hawkes")


def add_book_arguments(p) -> None:
    p.add_argument(
        "--market",
        choices=("model", "book"),
        default="model",
        help="model: the Avellaneda-Stoikov model market; book: the Hawkes order book",
    )
    p.add_argument(
        "--latency",
        default="co-lo",
        help="book: latency scenario (co-lo, proximity, cloud, retail)",
    )
    p.add_argument("--horizon-s", type=float, default=5.0, help="book: session, seconds (5)")
    p.add_argument("--decisions", type=int, default=50, help="book: decisions per session (50)")
    p.add_argument("--lot", type=float, default=100.0, help="book: shares per lot (one quote; 100)")
    p.add_argument(
        "--calibration-paths", type=int, default=64, help="book: paths to fit A, k, sigma (64)"
    )
    p.add_argument("--train-steps", type=int, default=30, help="book, learned: Adam steps (30)")
    p.add_argument("--train-paths", type=int, default=16, help="book, learned: batch (16)")


def _summary(final, args, tick, phi) -> dict:
    from wmjax.strategies import maker_summary

    r = maker_summary(final, args.horizon_s, tick, args.lot, phi)
    pnl = r.pop("pnl")
    obj = r.pop("objective")
    r.pop("adverse_share_ticks")
    worst = np.sort(pnl)[: max(1, int(np.ceil(0.01 * pnl.size)))]
    r.update(
        pnl_se=float(pnl.std(ddof=1) / np.sqrt(pnl.size)),
        sharpe_per_session=float(pnl.mean() / max(pnl.std(ddof=1), 1e-12)),
        cvar99_loss=float(-worst.mean()),
        objective_mean=float(obj.mean()),
    )
    return r


def run_book(args) -> int:
    import jax

    import wmjax.market as mk
    import wmjax.strategies as st
    from wmjax._checks import InputError, positive, positive_int

    unknown = [a for a in args.agent if a not in BOOK_AGENTS]
    if unknown:
        raise InputError(f"--agent {' '.join(unknown)}: on the book use one of {BOOK_AGENTS}")
    paths = positive_int("--paths", args.paths, minimum=2)
    n = positive_int("--decisions", args.decisions)
    h = positive("--horizon-s", args.horizon_s)
    positive_int("--calibration-paths", args.calibration_paths, minimum=2)
    market = mk.MarketMakingBook()
    params = mk.book_params(args.latency)
    tick, phi = float(params.tick_size), args.phi
    root = mk.book_key(args.seed)
    k_cal, k_train, k_eval = (jax.random.fold_in(root, i) for i in range(3))
    names = list(dict.fromkeys(args.agent))
    with progress(not args.json) as bar:
        task = bar.add_task("market making on the book", total=len(names) + 1)
        model = st.calibrate_quote_model(
            k_cal, market, mk.book_params("co-lo"), h, n, args.calibration_paths, args.lot
        )
        bar.advance(task)
        families = st.closed_form_makers(
            model, market, h, n, phi, (args.gamma,), (args.alpha,), args.lot
        )
        out = {}
        for name in names:
            if name == "learned":
                from wmjax.models import MakerPolicy, train_maker

                policy = MakerPolicy(market.n_offsets, lot_shares=args.lot)
                policy, trained = train_maker(
                    k_train,
                    market,
                    params,
                    h,
                    n,
                    phi=phi,
                    n_paths=positive_int("--train-paths", args.train_paths),
                    n_steps=positive_int("--train-steps", args.train_steps),
                    policy=policy,
                )
                agent = (policy, trained.params)
            elif name in ("as-toxic", "as-toxic-hawkes"):
                # the same widen, skew and threshold on the tape's VPIN or the flow's Hawkes score
                as_params = next(iter(families["as"].values()))[1]
                score = "hawkes" if name == "as-toxic-hawkes" else "vpin"
                agent = st.toxicity_aware_maker(
                    market, as_params, args.widen, args.skew, args.vpin_threshold, args.lot, score
                )
            else:
                agent = next(iter(families[name].values()))
            final = st.maker_paths(k_eval, market, params, *agent, h, n, paths).final_state
            out[name] = _summary(final, args, tick, phi)
            bar.advance(task)
    report = {
        "agents": out,
        "paths": paths,
        "market": "book",
        "latency": args.latency,
        "phi": phi,
        "model": model,
    }
    if args.json:
        print_json(report)
        return 0
    columns = ["agent", "P&L mean", "± SE", "P&L std", "P&L - phi risk", "fills lots/s"]
    columns += ["|q_T| lots", "adv.sel. ticks", "max DD", "CVaR99", "status"]
    keys = ["pnl_mean", "pnl_se", "pnl_std", "objective_mean", "fills_lots_per_s"]
    keys += ["mean_abs_final_inventory_lots", "adverse_selection_ticks", "max_drawdown_mean"]
    keys += ["cvar99_loss"]
    rows = [[a, *(r[k] for k in keys), r["status"]["result"]] for a, r in out.items()]
    title = f"Market making on the Hawkes book ({paths} sessions of {h:g} s, {args.latency})"
    print_table(title, columns, rows)
    return 0
