"""`wmjax statarb` in-process: JSON schema, table, PNG and exit code 2 on bad input."""

import gzip
import json

import pytest
from _shared import shared_file

from wmjax.cli._main import main

TICKERS = ("KO", "PEP", "XOM", "CVX", "JPM")


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    """Five real tickers, 1990-1995 (the shared 20-stock file, columns and years cut)."""
    with gzip.open(shared_file("prices", "sp500_20_stocks_daily.csv.gz"), "rt") as fh:
        rows = [line.rstrip("\n").split(",") for line in fh]
    cols = [0] + [rows[0].index(t) for t in TICKERS]
    keep = [rows[0]] + [r for r in rows[1:] if r[0] < "1996"]
    path = tmp_path_factory.mktemp("prices") / "five.csv"
    path.write_text("\n".join(",".join(r[c] for c in cols) for r in keep) + "\n")
    return path


@pytest.mark.slow  # trains the world model (a few updates, but one GRU compile)
def test_statarb_json_schema_after_costs(small_csv, tmp_path, capsys):
    argv = ["statarb", str(small_csv), "--train-years", "3", "--model-updates", "2",
            "--bootstrap", "20", "--out", str(tmp_path), "--json"]  # fmt: skip
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("pairs_traded", "annual_return", "sharpe", "max_drawdown", "turnover"):
        assert key in out
    assert set(out["by_rule"]) == {"al", "bertram", "first_passage", "world_model"}
    assert out["trade_years"] == [1993, 1995]
    assert out["cost_bps_per_side"] == 5.0
    assert 0 <= out["pairs_traded"] <= 10
    assert out["by_rule"]["al"]["sharpe"] == out["sharpe"]
    assert set(out["world_model_vs_al"]) == {"sharpe_difference", "bootstrap_se"}
    assert (tmp_path / "statarb_equity.png").stat().st_size > 1000


def test_statarb_table_without_model(small_csv, tmp_path, capsys):
    argv = ["statarb", str(small_csv), "--train-years", "3", "--no-model", "--out", str(tmp_path)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "Walk-forward pairs trading 1993-1995" in text and "bertram" in text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--train-years", "9"], "nothing left to trade"),
        (["--cost-bps", "-1"], "--cost-bps"),
        (["--train-years", "3", "--out", __file__], "is a file"),  # before the backtest
    ],
)
def test_statarb_bad_input_exits_2_with_one_line(small_csv, capsys, extra, message):
    assert main(["statarb", str(small_csv), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_statarb_missing_file_exits_2(tmp_path, capsys):
    assert main(["statarb", str(tmp_path / "none.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
