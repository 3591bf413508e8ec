"""Multi-scale regime detector vs a Gaussian HMM (EM) vs the majority class, on held-out paths of
the labelled regime-switching market (`wmjax.market.simulate_regimes`).

The detector (three GRUs on tick, minute and session features) trains on fresh simulated paths;
the HMM is fitted by EM to other paths' minute features and its states mapped to regimes on those
paths; all are scored by macro-F1 over the four regimes on test paths drawn from a third key,
with bootstrap SEs over test paths. Writes `regimes_simulated.json` to --out.

    python experiments/regimes_simulated.py                        # small, about a minute
    python experiments/regimes_simulated.py --updates 400 --batch 32 --sessions 4 \\
        --test-paths 64 --hmm-paths 64 --out out/regimes           # the README figures
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax

from wmjax.market import RegimeMarketConfig, regime_market_params
from wmjax.models import compare_regime_detectors


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--updates", type=int, default=150, help="detector training updates")
    p.add_argument("--batch", type=int, default=16, help="simulated paths per update")
    p.add_argument("--hidden", type=int, default=32, help="GRU width")
    p.add_argument("--sessions", type=int, default=2, help="sessions per path")
    p.add_argument("--minutes", type=int, default=60, help="minutes per session")
    p.add_argument("--ticks", type=int, default=8, help="tick slots per minute")
    p.add_argument("--hmm-paths", type=int, default=32, help="paths the HMM is fitted to")
    p.add_argument("--test-paths", type=int, default=32, help="held-out paths")
    p.add_argument("--boot", type=int, default=300, help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="wmjax-out/regimes_simulated")
    args = p.parse_args(argv)
    config = RegimeMarketConfig(args.sessions, args.minutes, args.ticks)
    result = compare_regime_detectors(
        jax.random.key(args.seed),
        regime_market_params(),
        config,
        n_hmm_train=args.hmm_paths,
        n_test=args.test_paths,
        n_boot=args.boot,
        hidden=args.hidden,
        batch=args.batch,
        n_updates=args.updates,
    )
    result["args"] = vars(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "regimes_simulated.json").write_text(json.dumps(result, indent=2))
    for name, f1 in result["macro_f1"].items():
        print(f"{name:14s} macro-F1 {f1:.3f} +- {result['se'][name]:.3f}")
    print(
        f"detector - hmm_smoothed {result['detector_minus_hmm_smoothed']:.3f} "
        f"+- {result['detector_minus_hmm_smoothed_se']:.3f}; "
        f"train {result['detector_train_s']:.1f} s (compile {result['detector_compile_s']:.1f} s)"
    )
    return result


if __name__ == "__main__":
    main()
