"""VWAP forecasting speed: every method on every test day of AAPL and GE (64 days each, 26 bins),
first call (compile included) and second call (run only), the world model's training (it
compiles its training step on every fit), and the execution replays; wall and process CPU time.

    python benchmarks/vwap.py [--paths 256]

Prints one row per stage and the run/compile ratio; writes nothing.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import jax
import numpy as np

from wmjax.calibrate import (
    bdf_beliefs,
    fit_power_curve,
    kalman_beliefs,
    power_curve,
    power_curve_beliefs,
    rolling_mean_beliefs,
)
from wmjax.data import load_volume_bins
from wmjax.execution import replay_vwap_days
from wmjax.models import fit_vwap_world_model, world_model_beliefs, world_model_prior

VOLUME_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "volume"
TEST_START, WINDOW, MIN_TRAIN = 60, 21, 5


def classical(vol, dates):
    test = np.arange(TEST_START, vol.shape[0])
    curve = fit_power_curve(vol, np.arange(WINDOW, TEST_START), dates, WINDOW)
    return jax.block_until_ready(
        {
            "rolling_mean": rolling_mean_beliefs(vol, test, WINDOW),
            "power_curve": power_curve_beliefs(vol, test, dates, curve),
            "bdf": bdf_beliefs(vol, test, WINDOW),
            "bdf_dynamic": bdf_beliefs(vol, test, WINDOW, dynamic=True),
            "kalman": kalman_beliefs(vol, test, WINDOW),
            "kalman_dynamic": kalman_beliefs(vol, test, WINDOW, True),
        }
    )


def world_model(vol, dates):
    test = np.arange(TEST_START, vol.shape[0])
    train = np.arange(MIN_TRAIN, TEST_START)
    curve = fit_power_curve(vol, np.arange(WINDOW, TEST_START), dates, WINDOW)
    prior_train = world_model_prior(
        vol, train, TEST_START, curve=power_curve(vol, train, dates, curve)
    )
    prior_test = world_model_prior(
        vol, test, TEST_START, curve=power_curve(vol, test, dates, curve)
    )
    model, params, _ = fit_vwap_world_model(jax.random.key(0), vol, train, dates, prior_train)
    return jax.block_until_ready(
        {
            "world_model": world_model_beliefs(model, params, vol, test, dates, prior_test),
            "world_model_dynamic": world_model_beliefs(
                model, params, vol, test, dates, prior_test, True
            ),
        }
    )


def timed(fn):
    """(result, wall seconds, process CPU seconds)."""
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - t0, time.process_time() - c0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--paths", type=int, default=256)
    args = p.parse_args(argv)
    data = {}
    for ticker in ("AAPL", "GE"):
        bins = load_volume_bins(VOLUME_DIR / f"{ticker}_15min_volume.csv")
        data[ticker] = (bins.volume_shares[bins.complete], bins.days[bins.complete])
    rows = []
    for attempt in ("first (compile + run)", "second (run)"):
        beliefs, *secs = timed(lambda: {t: classical(v, d) for t, (v, d) in data.items()})
        rows.append((f"classical forecasts, 6 x 2 tickers, {attempt}", *secs))
    for attempt in ("first", "second"):
        learned, *secs = timed(lambda: {t: world_model(v, d) for t, (v, d) in data.items()})
        rows.append((f"world model fit + 2 forecasts x 2 tickers, {attempt}", *secs))
    for t in data:
        beliefs[t].update(learned[t])

    def replays():
        out = []
        for ticker, (vol, _) in data.items():
            test = np.arange(TEST_START, vol.shape[0])
            cs = np.concatenate([[0.0], np.cumsum(vol.sum(1))])
            adv = (cs[test] - cs[test - WINDOW]) / WINDOW
            key = jax.random.key(1)
            for b in beliefs[ticker].values():
                out.append(replay_vwap_days(key, vol[test], b, adv, n_paths=args.paths))
        return jax.block_until_ready(out)

    for attempt in ("first (compile + run)", "second (run)"):
        _, *secs = timed(replays)
        rows.append((f"replays, 16 x 64 days x {args.paths} paths, {attempt}", *secs))
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs, jax {jax.__version__}")
    print(f"{'stage':62s} {'wall s':>8s} {'CPU s':>8s}")
    for name, wall, cpu in rows:
        print(f"{name:62s} {wall:8.2f} {cpu:8.2f}")
    print(f"classical forecasts run/first (wall) {rows[1][1] / rows[0][1]:.3f}")


if __name__ == "__main__":
    main()
