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
    ap.add_argument("--select-paths", type=int, default=256)
    ap.add_argument("--eval-paths", type=int, default=200)
    ap.add_argument("--train-paths", type=int, default=32)
    ap.add_argument("--train-steps", type=int, default=20)
    ap.add_argument("--learning-rate", type=float, default=0.01)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--gammas", default="0.03,0.1,0.3,1")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="wmjax-out/mm_book")
    args = ap.parse_args(argv)

    import wmjax.market as mk
    import wmjax.strategies as st
    from wmjax.models import train_maker

    market = mk.MarketMakingBook()
    root = mk.book_key(args.seed)
    k_cal, k_sel, k_train, k_eval = (jax.random.fold_in(root, i) for i in range(4))
    h, n, phi, lot = args.horizon_s, args.decisions, args.phi, 100.0
    base = mk.book_params("co-lo")
    tick = float(base.tick_size)
    t0 = time.perf_counter()
    model = st.calibrate_quote_model(k_cal, market, base, h, n, args.select_paths, lot)
    print("model", model, f"{time.perf_counter() - t0:.0f}s", flush=True)
    gammas = tuple(float(g) for g in args.gammas.split(","))
    families = st.closed_form_makers(model, market, h, n, phi, gammas)

    def run(key, params, policy, policy_params, paths):
        final = st.maker_paths(key, market, params, policy, policy_params, h, n, paths).final_state
        return st.maker_summary(final, h, tick, lot, phi)

    report = {"model": model, "scenarios": {}}
    for name in args.scenarios.split(","):
        params = mk.book_params(name)
        rows, chosen = {}, {}
        for family, candidates in families.items():
            scores = {
                c: run(k_sel, params, *pp, args.select_paths)["objective_mean"]
                for c, pp in candidates.items()
            }
            best = max(scores, key=scores.get)
            chosen[family] = best
            rows[family] = run(k_eval, params, *candidates[best], args.eval_paths)
        as_params = families["as"][chosen["as"]][1]
        rows["as-toxic"] = run(
            k_eval,
            params,
            *st.toxicity_aware_maker(market, as_params, 2.0, 1.0, 0.3, lot),
            args.eval_paths,
        )
        adv, adv_se = st.paired_difference(
            rows["as"]["adverse_share_ticks"], rows["as-toxic"]["adverse_share_ticks"]
        )
        out = {
            "chosen": chosen,
            "toxic_minus_as_adverse_share_ticks": adv,
            "toxic_minus_as_adverse_se": adv_se,
        }
        report["scenarios"][name] = (out, rows, params)
        print(name, json.dumps(out, default=float), flush=True)

    t0 = time.perf_counter()
    policy, trained = train_maker(
        k_train,
        market,
        base,
        h,
        n,
        phi=phi,
        n_paths=args.train_paths,
        n_steps=args.train_steps,
        learning_rate=args.learning_rate,
        callback=lambda i, loss: (
            print(f"train {i} {loss:.3f}", flush=True) if i % 10 == 0 else None
        ),
    )
    report["train_seconds"] = time.perf_counter() - t0
    report["losses"] = trained.losses.tolist()
    for name, (out, rows, params) in report["scenarios"].items():
        rows["learned"] = run(k_eval, params, policy, trained.params, args.eval_paths)
        best_cf = max(("as", "glft", "cjp"), key=lambda f: rows[f]["objective_mean"])
        gain, se = st.paired_difference(rows[best_cf]["objective"], rows["learned"]["objective"])
        out.update(best_closed_form=best_cf, learned_gain=gain, learned_gain_se=se)
        out["agents"] = {
            a: {k: v for k, v in r.items() if not isinstance(v, np.ndarray)}
            for a, r in rows.items()
        }
        report["scenarios"][name] = out
        print(name, "learned", gain, se, flush=True)
    path = Path(args.out)
    path.mkdir(parents=True, exist_ok=True)
    (path / "mm_book.json").write_text(json.dumps(report, indent=1, default=float))
    return report


if __name__ == "__main__":
    main()
