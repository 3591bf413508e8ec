"""`wmjax worldmodel fit`: the issue's --json schema, a checkpoint that reloads, the learning-curve
PNG, and exit code 2 with one line on bad input."""

import json
from pathlib import Path

import numpy as np
import pytest

from wmjax.cli._main import main
from wmjax.models import load_world_model

DATA = Path(__file__).resolve().parent / "data"
MSG = str(DATA / "AMZN_2012-06-21_message_1_first800rows.csv")
BOOK = str(DATA / "AMZN_2012-06-21_orderbook_1_first800rows.csv")


@pytest.mark.slow
def test_fit_json_schema_checkpoint_png(tmp_path, capsys):
    args = ["worldmodel", "fit", MSG, "--orderbook", BOOK, "--test-start", "09:33",
            "--epochs", "1", "--out", str(tmp_path), "--json"]  # fmt: skip
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    test = out["test"]
    for key in ("nll_10s", "nll_unconditional", "nll_ewma"):
        assert np.isfinite(test[key])
    assert set(test["macro_f1_raw"]) == {"10", "20", "50", "100"}
    assert all(0 <= v <= 1 for v in test["macro_f1_raw"].values())
    assert test["n_test"] > 0 and out["train_seconds"] > 0
    assert out["split_gap_s"] > 0
    assert Path(out["learning_curve_png"]).read_bytes()[:4] == b"\x89PNG"
    fit = load_world_model(out["checkpoint"])
    assert fit.model_config.lob_dim == 4 and fit.data_config.horizons == (10, 20, 50, 100)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--test-start", "25:00"], "not a time of day"),
        (["--test-start", "9h30"], "HH:MM"),
        (["--test-start", "11:00"], "pick a time inside"),
        (["--epochs", "0"], "--epochs"),
    ],
)
def test_bad_input_exits_2_with_one_line(extra, message, capsys, tmp_path):
    args = ["worldmodel", "fit", MSG, "--orderbook", BOOK, "--out", str(tmp_path), *extra]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_missing_file_exits_2(capsys, tmp_path):
    args = ["worldmodel", "fit", MSG + ".nope", "--orderbook", BOOK, "--out", str(tmp_path)]
    assert main(args) == 2
    assert "does not exist" in capsys.readouterr().err
