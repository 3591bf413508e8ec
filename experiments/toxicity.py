"""Order-flow toxicity: VPIN of the AMZN LOBSTER day (bulk classification against the true
aggressor sides), VPIN and the Hawkes-intensity imbalance on simulated toxic flow (the Hawkes
model fitted on the tape of training key 0), and the toxicity-aware market makers (on either
score) against the plain Avellaneda-Stoikov one on common random numbers of held-out key
`--seed`. Writes toxicity.json and toxicity.png.

    python experiments/toxicity.py --out out/toxicity --paths 4000
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax
import numpy as np

from wmjax.analytics import (
    fit_tape_hawkes,
    lobster_trades,
    paired_market_making,
    roc_auc,
    vpin_day,
)
from wmjax.data import load_lobster
from wmjax.market import poisson_flow_model, quote_config, quote_market_params
from wmjax.strategies import (
    as_inventory_quotes,
    avellaneda_stoikov,
    simulate_quotes,
    toxicity_aware,
    toxicity_aware_strategy,
)

AMZN = "lobster/AMZN_2012-06-21_34200000_57600000_message_1.csv"
# (widen, skew): picked on seed 0 (a small grid), reported on other seeds.
VARIANTS = {"widen": (2.0, 0.0), "widen_skew": (2.0, 0.5)}
SCORES = ("vpin", "hawkes")  # the Hawkes variants reuse the VPIN variants' widen and skew


def amzn(data_dir: Path) -> dict:
    trades = lobster_trades(load_lobster(data_dir / AMZN))
    out = {}
    for bar_s in (1.0, 10.0, 60.0):
        day = vpin_day(*trades, bar_s=bar_s)
        out[f"{bar_s:g}s"] = {k: v for k, v in day.items() if np.ndim(v) == 0}
        out[f"{bar_s:g}s"]["series"] = day["series"]
    return out


def simulated(args) -> dict:
    config = quote_config(args.steps, 1.0 / args.steps, vpin_bucket=20.0, vpin_window=5)
    agent = avellaneda_stoikov(0.1, 2.0, 1.5)
    markets = {
        "toxic": quote_market_params(
            informed_rate=280.0, info_start_rate=1.0, info_end_rate=2.0, info_drift=20.0
        ),
        "clean": quote_market_params(),
    }
    key = jax.random.key(args.seed)
    out = {}
    for market, params in markets.items():
        # the Hawkes model of the flow, fitted on the tape of training key 0 (not `--seed`)
        # (--fit-paths 0: no fit, the Poisson flow model, whose imbalance is 0)
        model, row = poisson_flow_model(params), {}
        if args.fit_paths:
            train = simulate_quotes(
                jax.random.key(0), params, as_inventory_quotes, agent, config, args.fit_paths
            )
            model, fit = fit_tape_hawkes(train.buy_orders, train.sell_orders, config.dt)
            row["hawkes_fit"] = {
                "mu": model.mu.tolist(),
                "alpha": model.alpha.tolist(),
                "beta": model.beta[0].tolist(),
                "events": fit.n_events,
                "converged": fit.converged,
            }
        plain = simulate_quotes(
            key, params, as_inventory_quotes, agent, config, args.paths, None, model
        )
        row["plain_pnl_std"] = float(np.asarray(plain.pnl).std(ddof=1))
        if market == "toxic":
            info = np.asarray(plain.informed) != 0
            skip = config.n_steps // 5
            hawkes = np.abs(np.asarray(plain.hawkes_imbalance))
            row["vpin_auc_informed"] = roc_auc(np.asarray(plain.vpin)[:, skip:], info[:, skip:])
            row["hawkes_auc_informed"] = roc_auc(hawkes[:, skip:], info[:, skip:])
            row["vpin_mean_informed"] = float(np.asarray(plain.vpin)[info].mean())
            row["vpin_mean_uninformed"] = float(np.asarray(plain.vpin)[~info].mean())
            row["hawkes_mean_informed"] = float(hawkes[info].mean())
            row["hawkes_mean_uninformed"] = float(hawkes[~info].mean())
            row["example"] = {
                "vpin": plain.vpin[0].tolist(),
                "hawkes": plain.hawkes_imbalance[0].tolist(),
                "informed": info[0].tolist(),
            }
        for score in SCORES:
            aware = toxicity_aware_strategy(as_inventory_quotes, score)
            for name, (widen, skew) in VARIANTS.items():
                aware_params = toxicity_aware(agent, widen, skew, 0.2)
                paths = simulate_quotes(
                    key, params, aware, aware_params, config, args.paths, None, model
                )
                tag = name if score == "vpin" else f"hawkes_{name}"
                row[tag] = paired_market_making(plain, paths, args.markout_steps)
        out[market] = row
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="wmjax-out/toxicity", help="output folder")
    parser.add_argument("--data", default="../shared/data", help="the shared data folder")
    parser.add_argument("--paths", type=int, default=1000, help="simulated paths")
    parser.add_argument("--steps", type=int, default=500, help="steps in the unit horizon")
    parser.add_argument("--markout-steps", type=int, default=50, help="adverse-selection horizon")
    parser.add_argument(
        "--fit-paths", type=int, default=50, help="paths of the Hawkes fit (0: none)"
    )
    parser.add_argument("--seed", type=int, default=1, help="held-out key (0 is the fit's)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"amzn": amzn(Path(args.data)), "simulated": simulated(args)}
    for bar, row in result["amzn"].items():
        print("AMZN", bar, {k: round(v, 3) for k, v in row.items() if k != "series"})
    for market, row in result["simulated"].items():
        for name in [*VARIANTS, *(f"hawkes_{v}" for v in VARIANTS)]:
            diff = {m: (round(v["difference"], 3), round(v["se"], 3)) for m, v in
                    row[name].items() if isinstance(v, dict) and "se" in v}  # fmt: skip
            print(market, name, diff)
    (out / "toxicity.json").write_text(json.dumps(result, indent=1))
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5))
    series = result["amzn"]["1s"]["series"]
    a.plot(series["bulk"], label="bulk classification (1 s bars)")
    a.plot(series["true_sides"], label="true aggressor sides")
    a.set_xlabel("volume bucket (1/200 of the day)")
    a.set_ylabel("VPIN (50 buckets)")
    a.set_title("AMZN 2012-06-21")
    a.legend(fontsize=8)
    example = result["simulated"]["toxic"]["example"]
    t = np.arange(len(example["vpin"])) / args.steps
    b.plot(t, example["vpin"], label="VPIN the maker sees")
    b.plot(t, np.abs(example["hawkes"]), label="|Hawkes-intensity imbalance|", lw=0.8)
    b.fill_between(
        t, 0, np.asarray(example["informed"], float), alpha=0.2, label="information event"
    )
    b.set_xlabel("time")
    b.set_title("simulated toxic flow, one path")
    b.legend(fontsize=8)
    fig.savefig(out / "toxicity.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return result


if __name__ == "__main__":
    main()
