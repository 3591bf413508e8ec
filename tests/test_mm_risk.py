"""Tick-level risk of market makers: the drawdown figures against hand-computed values, and the
drawdown experiment (adverse-flow scenarios, with and without the kill switch) with the
kill-switch bound checked on every killed path."""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from wmjax.analytics import drawdown_summary


def test_drawdown_summary_by_hand():
    mtm = np.zeros((100, 5))
    mtm[0] = [0.0, 2.0, 1.0, 3.0, -1.0]  # drawdown 4; under water at steps 2 and 4
    pnl = mtm[:, -1]
    paths = SimpleNamespace(mark_to_market=mtm, pnl=pnl, killed=np.arange(100) < 3)
    out = drawdown_summary(paths)
    assert out["max_drawdown_mean"] == pytest.approx(4 / 100)
    assert out["max_drawdown_p99"] == pytest.approx(np.quantile([4.0] + [0.0] * 99, 0.99))
    assert out["time_under_water"] == pytest.approx(2 / 500)
    assert out["cvar99_loss"] == pytest.approx(1.0) and out["worst_loss"] == pytest.approx(1.0)
    assert out["killed"] == pytest.approx(0.03)
    below = np.full((100, 3), -1.0)  # a session that starts at its peak (0) and stays below it
    below[:, 0] = 0.0
    out = drawdown_summary(SimpleNamespace(mark_to_market=below, pnl=below[:, -1], killed=pnl > 1))
    assert out["time_under_water"] == pytest.approx(2 / 3)


def test_drawdown_experiment_smoke(tmp_path):
    script = Path(__file__).resolve().parents[1] / "experiments" / "mm_drawdowns.py"
    spec = importlib.util.spec_from_file_location("mm_drawdowns", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # 500 steps: the bursts' order rate (140 + 280 per unit time) needs dt <= 1/420
    result = module.main(["--out", str(tmp_path), "--paths", "200", "--steps", "500"])
    assert (tmp_path / "mm_drawdowns.json").stat().st_size > 0
    assert len(result["table"]) == 4 * 3 * 2
    assert result["killed_paths"] > 0 and result["bound_violations"] == 0
    shock = result["table"]["volatility shock | as-symmetric | none"]
    capped = result["table"]["volatility shock | as-symmetric | limits"]
    assert capped["worst_loss"] < shock["worst_loss"]
