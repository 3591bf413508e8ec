"""Spoofing detection on the Hawkes book flow: ROC AUC (mean and SE over held-out days) and false
alarms per clean day of the window score and the classifier, across spoof sizes; then the
detectors' alarms on the AMZN LOBSTER day. Writes spoofing_detection.json and a PNG.

An episode: a limit order of m times the mean limit-order size placed 2 ticks behind the touch
(or at it), two market orders hitting that side while it rests, its cancellation 4 s later.

    python experiments/spoofing_detection.py --out out/spoofing
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax

from wmjax.analytics import spoofing_alarms, spoofing_study, stream_from_lobster
from wmjax.data import load_lobster
from wmjax.market import book_params

AMZN = "lobster/AMZN_2012-06-21_34200000_57600000_{}_1.csv"
AMZN_DAY_S = 23400.0


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="wmjax-out/spoofing", help="output folder")
    parser.add_argument("--data", default="../shared/data", help="the shared data folder")
    parser.add_argument("--multiples", default="2,3,5,10", help="spoof sizes / mean order size")
    parser.add_argument("--train-days", type=int, default=6)
    parser.add_argument("--test-days", type=int, default=8)
    parser.add_argument("--day-s", type=float, default=600.0, help="seconds per simulated day")
    parser.add_argument("--capacity", type=int, default=65536, help="events per simulated day")
    parser.add_argument("--placements", default="behind,at_touch", help="where spoofs rest")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    book = book_params()
    days = dict(train_days=args.train_days, test_days=args.test_days, capacity=args.capacity)
    key = jax.random.key(args.seed)
    data = load_lobster(
        Path(args.data) / AMZN.format("message"), Path(args.data) / AMZN.format("orderbook")
    )
    amzn = stream_from_lobster(data)
    rows, studies = {}, {}
    placements = {
        "behind": dict(depth_ticks=2, min_depth_ticks=1),
        "at_touch": dict(depth_ticks=0, min_depth_ticks=0),
    }
    for where in args.placements.split(","):
        placement = placements[where]
        for m in [float(x) for x in args.multiples.split(",")]:
            if where == "at_touch" and m != max(float(x) for x in args.multiples.split(",")):
                continue  # at the touch: the largest size only (its detector scores AMZN)
            study = spoofing_study(
                key, book.flow, book.seed_book, args.day_s, spoof_multiple=m, **placement, **days
            )
            studies[where] = study
            rows[f"{where} {m:g}x"] = {k: study[k] for k in ("score", "classifier")}
            print(where, m, rows[f"{where} {m:g}x"])
    result = {
        "simulated": rows,
        "windows_per_day": int(args.day_s / 10.0),
        "amzn_alarms": {
            where: spoofing_alarms(amzn, AMZN_DAY_S, 10.0, study)
            for where, study in studies.items()
        },
        "amzn_windows": int(AMZN_DAY_S / 10.0),
    }
    print("AMZN alarms (of 2340 windows):", result["amzn_alarms"])
    (out / "spoofing_detection.json").write_text(json.dumps(result, indent=1))
    import matplotlib.pyplot as plt

    behind = {k: v for k, v in rows.items() if k.startswith("behind")}
    sizes = [float(k.split()[1][:-1]) for k in behind]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name in ("score", "classifier"):
        auc = [v[name]["roc_auc"] for v in behind.values()]
        se = [v[name]["roc_auc_se"] for v in behind.values()]
        ax.errorbar(sizes, auc, yerr=[2 * s for s in se], fmt="o-", capsize=3, label=name)
    ax.axhline(0.9, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("spoof order size / mean limit-order size")
    ax.set_ylabel("ROC AUC, held-out days (± 2 SE)")
    ax.legend()
    fig.savefig(out / "spoofing_detection.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return result


if __name__ == "__main__":
    main()
