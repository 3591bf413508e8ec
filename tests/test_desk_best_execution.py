"""The best-execution report against figures computed by hand on a three-order fixture
(tests/data/best_execution: a VWAP buy in two fills on two venues with quotes, a partly filled
TWAP sell that traded outside the quote, a plain VWAP buy on the next day), and its command."""

import json
from pathlib import Path

import pytest

from wmjax import InputError
from wmjax.cli._main import main
from wmjax.data import load_fills
from wmjax.desk import best_execution_report, report_html, size_bucket

FIXTURE = Path(__file__).parent / "data" / "best_execution"
FILES = sorted(FIXTURE.glob("*.csv"))


@pytest.fixture(scope="module")
def report():
    orders = [load_fills(f) for f in FILES]
    return best_execution_report(orders, "day", names=[f.stem for f in FILES])


def test_totals_strategies_and_buckets_by_hand(report):
    day1, day2 = report["periods"]
    assert (day1["period"], day2["period"]) == ("2026-11-02", "2026-11-03")
    t = day1["totals"]
    # A: (400 * 100.02 + 600 * 100.05 - 1000 * 100) / (1000 * 100) = 3.8 bps
    # B: -(2000 * 49.95 - 2000 * 50 + 1000 * (49.90 - 50)) / (3000 * 50) = 13.33 bps
    a_is, b_is = 3.8, 200 / 150_000 * 1e4
    assert (t["orders"], t["quantity_shares"], t["filled_shares"]) == (2, 4000, 3000)
    assert t["fill_rate"] == pytest.approx(0.75)
    assert t["is_vs_arrival_bps"] == pytest.approx((38 + 200) / 250_000 * 1e4)  # 9.52
    assert t["is_vs_arrival_mean_bps"] == pytest.approx((a_is + b_is) / 2)
    a_vwap = (100.038 / 100.05 - 1) * 1e4  # B traded at the VWAP: 0
    assert t["vs_vwap_bps"] == pytest.approx(a_vwap * 100_038 / (100_038 + 99_900))
    assert day1["by_strategy"]["vwap"]["is_vs_arrival_bps"] == pytest.approx(a_is)
    assert day1["by_strategy"]["twap"]["is_vs_arrival_bps"] == pytest.approx(b_is)
    assert day1["by_strategy"]["twap"]["fill_rate"] == pytest.approx(2 / 3)
    assert list(day1["by_size_bucket"]) == ["500-1999", "2000-4999"]
    assert day2["totals"]["is_vs_arrival_bps"] == pytest.approx(5.0)  # 0.01 / 20
    assert day2["totals"]["vs_vwap_bps"] is None and day2["venues"] is None
    assert day2["price_improvement"] is None
    assert [size_bucket(q) for q in (99, 100, 499, 500, 9999, 10_000)] == [
        "0-99",
        "100-499",
        "100-499",
        "500-1999",
        "5000-9999",
        ">= 10000",
    ]


def test_venues_quotes_and_handling_by_hand(report):
    day1 = report["periods"][0]
    xnas, arcx = day1["venues"]
    assert (xnas["venue"], xnas["shares"], arcx["venue"], arcx["shares"]) == (
        "XNAS",
        2400,
        "ARCX",
        600,
    )
    assert xnas["volume_share"] == pytest.approx(0.8) and xnas["orders_share"] == 1.0
    assert xnas["passive_share"] == pytest.approx(400 / 2400)
    assert arcx["orders_share"] == 0.5 and arcx["aggressive_share"] == 1.0
    q = day1["price_improvement"]
    assert q["price_improved_share"] == pytest.approx(400 / 3000)  # A's 400 at 100.02 < 100.04
    assert q["at_quote_share"] == pytest.approx(600 / 3000)  # A's 600 at the ask
    assert q["outside_quote_share"] == pytest.approx(2000 / 3000)  # B sold below the bid
    assert q["improvement_per_improved_share"] == pytest.approx(0.02)
    assert q["outside_per_share"] == pytest.approx(0.01)
    # effective spread 2 s (p - mid): 0 (400), 0.02 (600), 0.04 (2000)
    assert q["effective_spread"] == pytest.approx((600 * 0.02 + 2000 * 0.04) / 3000)
    h = day1["order_handling"]
    assert h["order_type_share"] == {"limit": 0.5, "market": 0.5}
    assert h["time_to_execution_s"] == pytest.approx((400 * 900 + 600 * 2700 + 2000 * 3600) / 3000)
    assert h["time_to_first_fill_mean_s"] == pytest.approx((900 + 3600) / 2)
    assert h["fully_filled_share"] == 0.5


def test_periods_and_html(report):
    orders = [load_fills(f) for f in FILES]
    month = best_execution_report(orders, "month")["periods"]
    assert [p["period"] for p in month] == ["2026-11"] and month[0]["totals"]["orders"] == 3
    page = report_html(report)
    assert page.startswith("<!DOCTYPE html>") and "Period 2026-11-02" in page
    assert "XNAS" in page and "Rule 605" in page
    with pytest.raises(InputError, match="--period"):
        best_execution_report(orders, "year")


def test_bad_fields_name_the_file_and_line(tmp_path):
    bad = tmp_path / "o.csv"
    bad.write_text("time,side,shares,price,liquidity\n10:00:00,buy,10,20,sometimes\n")
    sidecar = {"arrival_price": 20, "start": "09:30:00", "end": "10:30:00"}
    (tmp_path / "o.json").write_text(json.dumps(sidecar))
    with pytest.raises(InputError, match=r"o\.csv line 2 field liquidity"):
        load_fills(bad)
    bad.write_text("time,side,shares,price\n10:00:00,buy,10,20\n")
    (tmp_path / "o.json").write_text(json.dumps({**sidecar, "order_type": "iceberg"}))
    with pytest.raises(InputError, match="order_type"):
        load_fills(bad)


def test_best_execution_cli(tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["best-execution", str(FIXTURE), "--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [p["period"] for p in printed["periods"]] == ["2026-11-02", "2026-11-03"]
    assert out.read_text().startswith("<!DOCTYPE html>")
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved["periods"][0]["totals"]["orders"] == 2
    assert main(["best-execution", *map(str, FILES), "--out", str(out), "--period", "all"]) == 0
    assert "Best execution per all (3 orders)" in capsys.readouterr().out
    assert main(["best-execution", str(FIXTURE), "--period", "year"]) == 2
    assert "--period" in capsys.readouterr().err
    assert main(["best-execution", str(tmp_path / "none.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
