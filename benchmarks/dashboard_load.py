"""Load on the live dashboard: N concurrent simulated orders streaming for S seconds to a real
headless Chromium, with no fill dropped and the event-to-screen latency measured.

Each order steps once per `--step-s` wall seconds (a 60-s market interval at speed
60 / step_s), so it streams `seconds / step_s` intervals (advice, child, fill, tick events and
any alerts). The page (the real dashboard) reports, for every live event, the time from the
server publishing it to the frame that drew it (`Date.now()` after the draw minus the server's
`emit_ms`; one machine, one clock). At the end the fills every card counted are compared with
the fills in the SQLite store (dropped = stored - shown), and the server's step lag (how late an
interval ran behind its schedule) and its CPU time per interval (this process: sessions, server,
SQLite; the browser is another process) are reported.

    python benchmarks/dashboard_load.py                       # 50 orders x 300 s (issue 15)
    python benchmarks/dashboard_load.py --sessions 50 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np


def chromium(width: int = 1280, height: int = 800):
    """A headless Chromium driven by Selenium (Debian's `chromium` and `chromium-driver`);
    None when they are not installed."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        return None
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 f"--window-size={width},{height}"):  # fmt: skip
        opts.add_argument(flag)
    opts.binary_location = binary
    browser = webdriver.Chrome(options=opts, service=Service(driver))
    # the page's viewport itself is width x height (the window size includes no chrome here,
    # but headless builds differ: set the metrics explicitly)
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    return browser


def _shown(browser, ids) -> int:
    counts = browser.execute_script(
        "return Object.fromEntries(Object.entries(window.dash.S).map(([k, s]) => [k, s.fills]))"
    )
    return int(sum(counts.get(i, 0) for i in ids))


def run(
    sessions: int,
    seconds: float,
    step_s: float,
    browser=None,
    band_paths: int = 512,
    grace_s: float = 120.0,
) -> dict:
    """Serve `sessions` orders of `seconds / step_s` intervals to `browser` (default: a new
    headless Chromium) and measure; returns the figures as a dict."""
    from wmjax.live import SessionConfig
    from wmjax.live._server import BackgroundServer

    n_steps = max(2, round(seconds / step_s))
    configs = [
        SessionConfig(
            symbol=f"L{i:02d}",
            seed=i,
            n_steps=n_steps,
            horizon_s=60.0 * n_steps,
            speed=60.0 / step_s,
            quantity_shares=2000.0 * n_steps,
            strategy=("twap", "advisor", "vwap", "pov_5")[i % 4],
            band_paths=band_paths,
        )
        for i in range(sessions)
    ]
    tmp = tempfile.mkdtemp(prefix="wmjax-load-")
    db = os.path.join(tmp, "load.sqlite")
    own = browser is None
    browser = chromium() if own else browser
    if browser is None:
        raise SystemExit("dashboard_load: needs chromium and chromedriver (apt-get install "
                         "chromium chromium-driver)")  # fmt: skip
    with BackgroundServer(db) as srv:
        browser.get(srv.url)
        t_compile = time.time()
        with httpx.Client(base_url=srv.url, timeout=600) as client:
            ids = [client.post("/api/sessions", json=c.to_dict()).json()["id"] for c in configs]
        t_start, cpu_start = time.time(), time.process_time()
        deadline = t_start + seconds + grace_s
        while time.time() < deadline and any(srv.hub.status[i] == "running" for i in ids):
            time.sleep(0.5)
        t_end, cpu_end = time.time(), time.process_time()
        status = {i: srv.hub.status[i] for i in ids}
        # past the deadline the orders still running are stopped; then the page gets the time
        # to draw what was streamed before the shown and stored fills are compared
        asyncio.run_coroutine_threadsafe(srv.hub.stop(), srv.hub.loop).result(120)
        n_stored = sum(len(srv.store.events(i, ("fill",))) for i in ids)
        settle = time.time() + 30
        while time.time() < settle and _shown(browser, ids) < n_stored:
            time.sleep(0.5)
        time.sleep(1.5)  # the page posts its latencies every second
        shown = browser.execute_script(
            "return Object.fromEntries(Object.entries(window.dash.S).map(([k, s]) => [k, s.fills]))"
        )
        stored = {i: len(srv.store.events(i, ("fill",))) for i in ids}
        screenshot = os.path.join(tmp, "load.png")
        browser.save_screenshot(screenshot)
        lat = np.asarray(srv.hub.latency_ms, float)
        lag = np.asarray(srv.hub.lag_ms, float)
        browser.get("about:blank")  # close the event stream before the server stops
    if own:
        browser.quit()
    q = lambda x, p: float(np.percentile(x, p)) if x.size else float("nan")  # noqa: E731
    return {
        "sessions": sessions,
        "seconds": seconds,
        "step_s": step_s,
        "intervals_per_session": n_steps,
        "setup_s": t_start - t_compile,
        "streaming_s": t_end - t_start,
        "done": sum(s == "done" for s in status.values()),
        "intervals_scheduled": sessions * n_steps,
        "intervals_run": len(lag),
        "fills_stored": sum(stored.values()),
        "fills_shown": int(sum(shown.get(i, 0) for i in ids)),
        "dropped_fills": int(sum(stored[i] - shown.get(i, 0) for i in ids)),
        "latency_events": int(lat.size),
        "latency_p50_ms": q(lat, 50),
        "latency_p99_ms": q(lat, 99),
        "latency_max_ms": float(lat.max()) if lat.size else float("nan"),
        "server_cpu_s": cpu_end - cpu_start,
        "server_cpu_ms_per_interval": (cpu_end - cpu_start) / max(lag.size, 1) * 1e3,
        "step_lag_p50_ms": q(lag, 50),
        "step_lag_p99_ms": q(lag, 99),
        "load_average": os.getloadavg(),
        "screenshot": screenshot,
    }


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=50)
    p.add_argument("--seconds", type=float, default=300.0)
    p.add_argument("--step-s", type=float, default=1.0, help="wall seconds per interval")
    p.add_argument("--grace-s", type=float, default=120.0, help="extra time for late orders")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    out = run(args.sessions, args.seconds, args.step_s, grace_s=args.grace_s)
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:>24}: {v}")
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
