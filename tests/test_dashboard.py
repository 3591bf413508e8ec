"""The dashboard served for real: a headless Chromium sees the IS trace, the band and an
injected staleness alert appear and update (screenshots under artifacts/); malformed requests
and a crashed session leave the server and the other sessions running; a restarted server
resumes from SQLite without losing a fill; Prometheus metrics; a tiny load run."""

import importlib.util
import json
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from wmjax.cli._main import main
from wmjax.live import DEFAULT_LIMITS, LiveSession, SessionConfig
from wmjax.live._server import BackgroundServer

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
N = 12
MAX_AGE_MS = 1000.0


def config(**kw):
    limits = json.dumps({**DEFAULT_LIMITS, "max_state_age_ms": MAX_AGE_MS}, sort_keys=True)
    base = {"n_steps": N, "horizon_s": 60.0 * N, "band_paths": 64, "limits": limits}
    return SessionConfig(**{**base, **kw})


def _load_benchmark():
    spec = importlib.util.spec_from_file_location("dashboard_load", ROOT / "benchmarks" /
                                                  "dashboard_load.py")  # fmt: skip
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH = _load_benchmark()


def wait(predicate, timeout_s, what):
    end = time.time() + timeout_s
    while time.time() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


@pytest.fixture(scope="module")
def browser():
    driver = BENCH.chromium(1280, 800)
    if driver is None:
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium "
                    "chromium-driver); .ci/run installs them")  # fmt: skip
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("dash") / "sessions.sqlite"
    LiveSession("warm", config()).step(time.time())  # compile once, before the clock runs
    with BackgroundServer(db) as srv:
        yield srv


def create(srv, **kw) -> str:
    r = httpx.post(f"{srv.url}/api/sessions", json=config(**kw).to_dict(), timeout=120)
    assert r.status_code == 200, r.text
    return r.json()["id"]


def card_state(driver, sid):
    return driver.execute_script(
        """const s = window.dash.S[arguments[0]]; if (!s) return null;
        const c = s.el.querySelector('.is-chart'), ctx = c.getContext('2d');
        const px = ctx.getImageData(0, 0, c.width, c.height).data;
        let band = 0, trace = 0;
        for (let i = 0; i < px.length; i += 4) {
          const [r, g, b, a] = [px[i], px[i+1], px[i+2], px[i+3]];
          if (a > 0 && b > r + 30 && b > g) band++;          // blue band
          if (a > 200 && r > 200 && g > 140 && g < 200 && b < 90) trace++;  // amber trace
        }
        return {ticks: s.ticks.length, isPoints: +c.dataset.isPoints || 0,
                bandPoints: +c.dataset.bandPoints || 0, band, trace, fills: s.fills,
                alerts: [...s.el.querySelectorAll('li.alert')].map(li => li.dataset.kind)};""",
        sid,
    )


def test_browser_shows_the_trace_the_band_and_an_injected_alert(server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    # 0.5 s per interval: 6 s of streaming, long enough to watch it update
    aaa = create(server, symbol="AAA", seed=0, speed=120.0)
    bbb = create(server, symbol="BBB", seed=1, speed=120.0, strategy="advisor")
    browser.get(server.url)
    first = wait(lambda: (s := card_state(browser, aaa)) and s["isPoints"] >= 2 and s, 60,
                 "the IS trace")  # fmt: skip
    assert first["bandPoints"] == N and first["band"] > 500 and first["trace"] > 20
    t_fault = time.time()
    r = httpx.post(f"{server.url}/api/sessions/{aaa}/faults", json={"stall_state_s": 4.0})
    assert r.status_code == 200
    seen = wait(lambda: "stale" in (card_state(browser, aaa) or {"alerts": []})["alerts"], 15,
                "the staleness alert")  # fmt: skip
    # fallback within the state-age limit, plus one check period and one frame
    assert seen and time.time() - t_fault < MAX_AGE_MS / 1e3 + 2.0
    later = card_state(browser, aaa)
    assert later["isPoints"] > first["isPoints"] and later["trace"] > 0
    assert "stale" not in card_state(browser, bbb)["alerts"]  # the other order is unaffected
    browser.save_screenshot(str(ARTIFACTS / "dashboard_alert.png"))
    layout = browser.execute_script(
        "const r = document.querySelector('.card').getBoundingClientRect();"
        "return [document.documentElement.scrollWidth, window.innerWidth, r.width, r.height];"
    )
    assert layout[0] <= layout[1] <= 1280 and layout[2] >= 380 and layout[3] < 800
    browser.refresh()  # a reload keeps the sessions and their history
    # drawn, not just fetched: the canvas is redrawn on the animation frame after the fetch
    again = wait(lambda: (s := card_state(browser, aaa)) and s["isPoints"] >= later["isPoints"]
                 and s, 30, "the session after a reload")  # fmt: skip
    assert again["bandPoints"] == N and again["band"] > 500 and again["trace"] > 20
    wait(lambda: all(v == "done" for v in server.hub.status.values()), 60, "the orders to end")
    # the last fills reach the page over the stream; wait for them, then check none repeats
    wait(lambda: card_state(browser, aaa)["fills"] >= N, 30, "the last fills on the page")
    time.sleep(0.5)
    final = card_state(browser, aaa)
    assert final["fills"] == len(server.store.events(aaa, ("fill",))) == N
    browser.save_screenshot(str(ARTIFACTS / "dashboard_done.png"))


def test_malformed_requests_and_a_crashed_session_leave_the_rest_running(server):
    with httpx.Client(base_url=server.url, timeout=120) as c:
        assert c.post("/api/sessions", content=b"{not json").status_code == 400
        r = c.post("/api/sessions", json={"strategy": "fast"})
        assert r.status_code == 400 and "strategy" in r.json()["error"]
        assert c.post("/api/sessions/nope/state", json={}).status_code == 404
        sid, other = (
            create(server, symbol="CCC", seed=2),
            create(server, symbol="DDD", seed=3, speed=240.0),
        )
        r = c.post(f"/api/sessions/{sid}/state", content=b"\xff\xfe")
        assert r.status_code == 422
        r = c.post(f"/api/sessions/{sid}/state", json={"schema_version": "microstructure_state_v1"})
        assert r.status_code == 422 and "symbol" in r.json()["error"]
        assert c.post(f"/api/sessions/{sid}/faults", json={"stall": 1}).status_code == 400

        def crash(now_s):
            raise RuntimeError("injected crash of the whole session")

        server.hub.live[sid].step = crash
        wait(lambda: server.hub.status[sid] == "error", 30, "the crashed session's status")
        wait(lambda: server.hub.status[other] == "done", 60, "the other session to finish")
        assert c.get("/healthz").json()["ok"]
        assert len(server.store.events(other, ("fill",))) == N
        alerts = server.store.events(sid, ("alert",))
        assert any(a["kind"] == "session_error" for a in alerts)
        assert any(a["kind"] == "malformed" for a in alerts)
        text = c.get("/metrics").text
    for name in ("execution_slippage_bps{", "execution_shortfall_notional{",
                 "execution_adverse_selection_flag_total", "tca_simulator_divergence_bps{",
                 "execution_policy_override_total"):  # fmt: skip
        assert name in text


def test_a_restarted_server_resumes_without_losing_fills(tmp_path):
    db = tmp_path / "restart.sqlite"
    cfg = config(symbol="RRR", seed=5, speed=240.0)  # 0.25 s per interval
    with BackgroundServer(db, [cfg]) as srv:
        (sid,) = list(srv.hub.frames)
        wait(lambda: len(srv.store.events(sid, ("fill",))) >= 3, 30, "three fills")
    with BackgroundServer(db) as srv:  # no configs: it resumes what the store holds
        wait(lambda: srv.hub.status.get(sid) == "done", 30, "the resumed order to end")
        fills = srv.store.events(sid, ("fill",))
        assert 3 <= len(srv.store.events(sid, ("tick",))) and len(srv.hub.frames) == 1
    whole = LiveSession("w", cfg)
    expected = [e for k in range(N) for e in whole.step(1.8e9 + k) if e["type"] == "fill"]
    assert [f["step"] for f in fills] == list(range(N))
    np.testing.assert_allclose([f["shares"] for f in fills], [e["shares"] for e in expected])


def test_cli_runs_the_dashboard_for_a_while(tmp_path, capsys):
    code = main(["dashboard", "--simulate", "--port", "0", "--steps", str(N), "--horizon-s",
                 str(60.0 * N), "--speed", "600", "--db", str(tmp_path / "c.sqlite"),
                 "--band-paths", "64", "--run-for-s", "3", "--json"])  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["orders"][0]["intervals"] >= 1
    assert main(["dashboard", "--replay", str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_tiny_load_run_drops_no_fill(browser):
    out = BENCH.run(sessions=5, seconds=3.0, step_s=0.25, browser=browser, band_paths=64)
    assert out["done"] == 5 and out["dropped_fills"] == 0 and out["fills_stored"] == 5 * N
    assert out["latency_events"] > 0 and out["latency_p50_ms"] < 5000
