"""Market making on the Hawkes book: closed-form agents vs a learned maker, four latencies.

1. Calibrate the closed-form agents' model (fill intensity A·exp(-k·delta), sigma) on the book.
2. Per latency scenario, pick the best AS / GLFT (risk aversion) and CJP (terminal penalty) on
   selection keys; evaluate them on held-out keys (the same for every agent: paired).
3. Train the learned maker (`wmjax.models.train_maker`) on the relaxed co-location book and
   judge it on the exact book on the held-out keys of every scenario.
4. The toxicity-aware AS (widened / skewed by VPIN) against the plain AS: adverse selection.

Objective per path: P&L - phi x integral of inventory² dt (lots² s); "gain" = learned minus the
best closed-form agent on the held-out keys, with the SE of the paired difference.

    python experiments/mm_book.py --eval-paths 2000 --train-steps 150
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import numpy as np

SCENARIOS = ("co-lo", "proximity", "cloud", "retail")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--horizon-s", type=float, default=5.0)
    ap.add_argument("--decisions", type=int, default=50)
    ap.add_argument("--phi", type=float, default=0.05, help="price units per lot² per s")
    ap.add_argument("--select-paths", type=int, default=64)
    ap.add_argument("--eval-paths", type=int, default=200)
    ap.add_argument("--train-paths", type=int, default=16)
    ap.add_argument("--train-steps", type=int, default=20)
    ap.add_argument("--learning-rate", type=float, default=0.01)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--gammas", default="0.1,0.3,1")
    ap.add_argument(
        "--part",
        choices=("all", "closed", "learned", "combine"),
        default="all",
        help="closed and learned can run as two processes; combine pairs their paths",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="wmjax-out/mm_book")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.part in ("all", "closed"):
        _closed(args, out)
    if args.part in ("all", "learned"):
        _learned(args, out)
    if args.part in ("all", "combine"):
        return _combine(out)
    return {}


def _setup(args):
    import wmjax.market as mk
    import wmjax.strategies as st

    market = mk.MarketMakingBook()
    root = mk.book_key(args.seed)
    keys = [jax.random.fold_in(root, i) for i in range(4)]  # calibrate, select, train, eval
    h, n, phi, lot = args.horizon_s, args.decisions, args.phi, 100.0
    tick = float(mk.book_params().tick_size)

    def run(key, params, policy, policy_params, paths):
        final = st.maker_paths(key, market, params, policy, policy_params, h, n, paths).final_state
        return st.maker_summary(final, h, tick, lot, phi)

    return market, keys, run


def _save(out: Path, name: str, rows: dict, extra: dict) -> None:
    arrays = {
        f"{scenario}/{agent}/{k}": v
        for scenario, agents in rows.items()
        for agent, r in agents.items()
        for k, v in r.items()
        if isinstance(v, np.ndarray)
    }
    np.savez(out / f"{name}.npz", **arrays)
    summary = {
        scenario: {
            agent: {k: v for k, v in r.items() if not isinstance(v, np.ndarray)}
            for agent, r in agents.items()
        }
        for scenario, agents in rows.items()
    }
    (out / f"{name}.json").write_text(json.dumps({"agents": summary, **extra}, default=float))


def _closed(args, out: Path) -> None:
    import wmjax.market as mk
    import wmjax.strategies as st

    market, (k_cal, k_sel, _, k_eval), run = _setup(args)
    h, n = args.horizon_s, args.decisions
    t0 = time.perf_counter()
    model = st.calibrate_quote_model(k_cal, market, mk.book_params(), h, n, args.select_paths)
    print("model", model, f"{time.perf_counter() - t0:.0f}s", flush=True)
    gammas = tuple(float(g) for g in args.gammas.split(","))
    families = st.closed_form_makers(model, market, h, n, args.phi, gammas)
    rows, chosen = {}, {}
    for name in args.scenarios.split(","):
        params = mk.book_params(name)
        rows[name], chosen[name] = {}, {}
        for family, candidates in families.items():
            scores = {
                c: run(k_sel, params, *pp, args.select_paths)["objective_mean"]
                for c, pp in candidates.items()
            }
            best = max(scores, key=scores.get)
            chosen[name][family] = best
            rows[name][family] = run(k_eval, params, *candidates[best], args.eval_paths)
        as_params = families["as"][chosen[name]["as"]][1]
        toxic = st.toxicity_aware_maker(market, as_params, 2.0, 1.0, 0.3)
        rows[name]["as-toxic"] = run(k_eval, params, *toxic, args.eval_paths)
        print(name, chosen[name], {a: r["objective_mean"] for a, r in rows[name].items()})
    _save(out, "closed", rows, {"model": model, "chosen": chosen})


def _learned(args, out: Path) -> None:
    import wmjax.market as mk
    from wmjax.models import train_maker

    market, (_, _, k_train, k_eval), run = _setup(args)
    t0 = time.perf_counter()
    policy, trained = train_maker(
        k_train,
        market,
        mk.book_params("co-lo"),
        args.horizon_s,
        args.decisions,
        phi=args.phi,
        n_paths=args.train_paths,
        n_steps=args.train_steps,
        learning_rate=args.learning_rate,
        callback=lambda i, loss: print(f"train {i} {loss:.3f}", flush=True),
    )
    seconds = time.perf_counter() - t0
    rows = {}
    for name in args.scenarios.split(","):
        rows[name] = {
            "learned": run(k_eval, mk.book_params(name), policy, trained.params, args.eval_paths)
        }
        print(name, "learned", rows[name]["learned"]["objective_mean"], flush=True)
    extra = {"train_seconds": seconds, "losses": trained.losses.tolist()}
    _save(out, "learned", rows, extra)


def _combine(out: Path) -> dict:
    import wmjax.strategies as st

    closed = json.loads((out / "closed.json").read_text())
    learned = json.loads((out / "learned.json").read_text())
    arrays = {**np.load(out / "closed.npz"), **np.load(out / "learned.npz")}
    report = {"model": closed["model"], "train_seconds": learned["train_seconds"]}
    report["scenarios"] = {}
    for name, agents in closed["agents"].items():
        agents = {**agents, **learned["agents"][name]}
        best = max(("as", "glft", "cjp"), key=lambda a: agents[a]["objective_mean"])
        gain, se = st.paired_difference(
            arrays[f"{name}/{best}/objective"], arrays[f"{name}/learned/objective"]
        )
        adv, adv_se = st.paired_difference(
            arrays[f"{name}/as/adverse_share_ticks"], arrays[f"{name}/as-toxic/adverse_share_ticks"]
        )
        report["scenarios"][name] = {
            "chosen": closed["chosen"][name],
            "best_closed_form": best,
            "learned_gain": gain,
            "learned_gain_se": se,
            "toxic_minus_as_adverse_share_ticks": adv,
            "toxic_minus_as_adverse_se": adv_se,
            "agents": agents,
        }
        print(name, best, f"gain {gain:.3f} ± {se:.3f}", f"toxic adverse {adv:.1f} ± {adv_se:.1f}")
    (out / "mm_book.json").write_text(json.dumps(report, indent=1, default=float))
    return report


if __name__ == "__main__":
    main()
