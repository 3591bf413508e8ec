"""The dashboard server (Starlette + uvicorn): live sessions run as asyncio tasks, their events
are persisted (`SessionStore`), counted into Prometheus metrics and pushed to browsers by
server-sent events.

Routes: `GET /` the page; `GET /api/sessions` every session's frame and its ticks, fills and
alerts so far (a reload redraws from it) with `last_seq`; `GET /api/stream?after=SEQ` (or the
`Last-Event-ID` header) the page's events (session, tick, fill, alert) after SEQ, then every
event live; `POST /api/sessions` a new session
(a `SessionConfig` JSON object); `POST /api/sessions/{id}/state` an external
`microstructure_state_v1` message; `POST /api/sessions/{id}/faults` fault injection
(`{"stall_state_s": s}`); `POST /api/latency` the page's event-to-screen latencies (ms);
`GET /api/latency` their summary; `GET /metrics` Prometheus text; `GET /healthz`.

A session that raises is marked `error` and the others run on; a malformed request gets a
4xx with the reason and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from importlib import resources

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from wmjax._checks import InputError
from wmjax.live._config import SessionConfig
from wmjax.live._metrics import LiveMetrics
from wmjax.live._session import LiveSession
from wmjax.live._store import SessionStore

log = logging.getLogger("wmjax.live")
SNAPSHOT_TYPES = ("session", "tick", "alert", "fill")
QUEUE_SIZE = 50_000
WATCH_S = 0.1


class Hub:
    """Sessions, their tasks, the event history and the browsers' subscriptions."""

    def __init__(self, store: SessionStore, controls=None):
        self.store, self.controls = store, controls
        self.metrics = LiveMetrics()
        self.live: dict[str, LiveSession] = {}
        self.status: dict[str, str] = {}
        self.frames: dict[str, dict] = {}
        self.snapshot: dict[str, list] = {}
        self.history: list[dict] = []
        self.subscribers: set[asyncio.Queue] = set()
        self.tasks: dict[str, asyncio.Task] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.latency_ms: list[float] = []
        self.lag_ms: list[float] = []  # how late each interval ran behind its schedule
        # intervals compute on worker threads so the event loop keeps streaming meanwhile
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wmjax-live")

    def close_streams(self) -> None:
        """End every open event stream (on shutdown; a browser would reconnect and resume)."""
        for q in list(self.subscribers):
            self.subscribers.discard(q)
            with contextlib.suppress(asyncio.QueueFull):
                q.put_nowait(None)

    def publish(self, sid: str, events: list[dict]) -> None:
        events = self.store.append(sid, [e for e in events if e is not None])
        session = self.live.get(sid)
        now_ms = time.time() * 1e3
        for e in events:
            e["emit_ms"] = now_ms
            if session is not None:
                self.metrics.observe(session.feed.symbol, session.strategy, e)
            if e["type"] in SNAPSHOT_TYPES:  # what a page draws: kept for reloads, reconnects
                self.snapshot.setdefault(sid, []).append(e)
                self.history.append(e)
            for q in list(self.subscribers):
                try:
                    q.put_nowait(e)
                except asyncio.QueueFull:  # a stalled browser reconnects and resumes by seq
                    self.subscribers.discard(q)

    async def create(self, config: SessionConfig, sid: str | None = None) -> str:
        sid = sid or uuid.uuid4().hex[:8]
        session = await asyncio.to_thread(LiveSession, sid, config, self.controls)
        self.store.add_session(sid, config.to_dict())
        self.live[sid], self.status[sid] = session, "running"
        self.frames[sid] = session.header()
        self.publish(sid, [dict(self.frames[sid])])
        self.tasks[sid] = asyncio.create_task(self._run(sid))
        return sid

    async def resume_all(self) -> None:
        """Reload every persisted session; unfinished ones continue where they stopped."""
        for sid, cfg, status in self.store.sessions():
            events = self.store.events(sid)
            self.snapshot[sid] = [e for e in events if e["type"] in SNAPSHOT_TYPES]
            self.history.extend(self.snapshot[sid])
            frames = [e for e in events if e["type"] == "session"]
            self.frames[sid] = frames[0] if frames else {}
            self.status[sid] = status
            if status != "running":
                continue
            try:
                session = await asyncio.to_thread(
                    LiveSession, sid, SessionConfig.from_dict(cfg), self.controls
                )
                await asyncio.to_thread(session.resume, events)
            except Exception as e:
                log.exception("session %s could not resume", sid)
                self._fail(sid, e)
                continue
            self.live[sid] = session
            self.tasks[sid] = asyncio.create_task(self._run(sid))
        self.history.sort(key=lambda e: e["seq"])

    def _fail(self, sid: str, error: Exception) -> None:
        self.status[sid] = "error"
        self.store.set_status(sid, "error")
        msg = f"session stopped: {type(error).__name__}: {error}"
        self.publish(
            sid, [{"type": "alert", "kind": "session_error", "active": True, "message": msg}]
        )

    async def _run(self, sid: str) -> None:
        session = self.live[sid]
        wall_step = session.feed.interval_s / session.config.speed
        t0 = time.time() - session.k * wall_step
        try:
            while not session.done:
                now = time.time()
                due = t0 + session.k * wall_step
                if now >= due:
                    self.lag_ms.append((now - due) * 1e3)
                    loop = asyncio.get_running_loop()
                    self.publish(sid, await loop.run_in_executor(self.pool, session.step, now))
                else:
                    self.publish(sid, session.watch(now))
                    await asyncio.sleep(min(due - now, WATCH_S))
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # one session's failure must not stop the server
            log.exception("session %s failed", sid)
            self._fail(sid, e)
            return
        self.status[sid] = "done"
        self.store.set_status(sid, "done")

    async def stop(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        for task in self.tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.pool.shutdown(wait=True)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json_body(request: Request):
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(f"request body is not JSON: {e}") from None


def build_app(hub: Hub, initial: list[SessionConfig] = ()) -> Starlette:
    """The Starlette app serving `hub`; `initial` sessions start with the server."""
    page = resources.files("wmjax.live").joinpath("static", "dashboard.html").read_text()
    script = resources.files("wmjax.live").joinpath("static", "dashboard.js").read_text()

    async def index(_):
        return Response(page, media_type="text/html")

    async def js(_):
        return Response(script, media_type="text/javascript")

    async def sessions(_):
        out = [
            {
                "id": sid,
                "status": hub.status.get(sid),
                "frame": hub.frames.get(sid, {}),
                "events": hub.snapshot.get(sid, []),
            }
            for sid in hub.frames
        ]
        return JSONResponse({"sessions": out, "last_seq": hub.store.last_seq})

    async def create(request: Request):
        try:
            config = SessionConfig.from_dict(await _json_body(request))
            sid = await hub.create(config)
        except InputError as e:
            return _error(400, str(e))
        return JSONResponse({"id": sid})

    def _session(request: Request) -> LiveSession:
        sid = request.path_params["sid"]
        if sid not in hub.live:
            raise KeyError(sid)
        return hub.live[sid]

    async def state(request: Request):
        sid = request.path_params["sid"]
        if sid not in hub.live:
            return _error(404, f"no running session {sid!r}")
        session = hub.live[sid]
        try:
            error, events = session.push_state(await _json_body(request))
        except InputError as e:
            error = str(e)
            events = [session.alerts.set("malformed", True, f"state message rejected: {e}")]
        hub.publish(sid, events)
        return _error(422, error) if error else JSONResponse({"ok": True})

    async def faults(request: Request):
        sid = request.path_params["sid"]
        if sid not in hub.live:
            return _error(404, f"no running session {sid!r}")
        try:
            seconds = float((await _json_body(request))["stall_state_s"])
        except (InputError, KeyError, TypeError, ValueError) as e:
            return _error(400, f'faults: {e}; expected {{"stall_state_s": seconds}}')
        hub.live[sid].stall_state(time.time(), seconds)
        return JSONResponse({"ok": True})

    async def stream(request: Request):
        # a reconnecting EventSource sends Last-Event-ID: it wins over the first ?after=
        raw = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
        try:
            after = int(raw)
        except ValueError:
            return _error(400, f"after must be an integer event number, got {raw!r}")
        queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_SIZE)
        hub.subscribers.add(queue)
        backlog = [e for e in hub.history if e["seq"] > after]

        async def events():
            last = after
            try:
                for e in backlog:
                    last = e["seq"]
                    yield f"id: {last}\ndata: {json.dumps({**e, 'replayed': True})}\n\n"
                while queue in hub.subscribers or not queue.empty():
                    try:
                        e = await asyncio.wait_for(queue.get(), 5.0)
                    except TimeoutError:
                        yield ": ping\n\n"
                        continue
                    if e is None:
                        break
                    if e["seq"] > last:
                        last = e["seq"]
                        yield f"id: {last}\ndata: {json.dumps(e)}\n\n"
            finally:
                hub.subscribers.discard(queue)

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    async def latency_post(request: Request):
        try:
            body = await _json_body(request)
            samples = [float(x) for x in body["samples_ms"]]
        except (InputError, KeyError, TypeError, ValueError) as e:
            return _error(400, f'latency: {e}; expected {{"samples_ms": [...]}}')
        hub.latency_ms.extend(samples)
        return JSONResponse({"ok": True})

    async def latency_get(_):
        x = np.asarray(hub.latency_ms, float)
        if x.size == 0:
            return JSONResponse({"n": 0})
        p50, p99 = np.percentile(x, [50, 99])
        return JSONResponse({"n": int(x.size), "p50_ms": p50, "p99_ms": p99, "max_ms": x.max()})

    async def metrics(_):
        return Response(hub.metrics.render(), media_type="text/plain; version=0.0.4")

    async def health(_):
        return JSONResponse({"ok": True, "sessions": hub.status})

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        hub.loop = asyncio.get_running_loop()
        await hub.resume_all()
        for config in initial if not hub.frames else ():  # a restart resumes instead
            await hub.create(config)
        yield
        await hub.stop()

    routes = [
        Route("/", index),
        Route("/static/dashboard.js", js),
        Route("/api/sessions", sessions, methods=["GET"]),
        Route("/api/sessions", create, methods=["POST"]),
        Route("/api/sessions/{sid}/state", state, methods=["POST"]),
        Route("/api/sessions/{sid}/faults", faults, methods=["POST"]),
        Route("/api/stream", stream),
        Route("/api/latency", latency_post, methods=["POST"]),
        Route("/api/latency", latency_get, methods=["GET"]),
        Route("/metrics", metrics),
        Route("/healthz", health),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


class BackgroundServer:
    """The dashboard served by uvicorn on a thread of this process (tests, benchmarks, the
    CLI's --run-for-s): `with BackgroundServer(db, configs) as srv: srv.url ...`."""

    def __init__(self, db, configs=(), *, port: int = 0, host: str = "127.0.0.1", controls=None):
        import socket

        import uvicorn

        if port == 0:
            with socket.socket() as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
        self.store = SessionStore(db)
        self.hub = Hub(self.store, controls)
        app = build_app(self.hub, list(configs))
        # open event streams would hold a graceful shutdown forever: give them one second
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.url = f"http://{host}:{port}"
        self._thread = None

    def __enter__(self):
        import threading

        self._thread = threading.Thread(target=self.server.run, daemon=True)
        self._thread.start()
        deadline = time.time() + 120
        while not self.server.started:
            if not self._thread.is_alive() or time.time() > deadline:
                raise RuntimeError(f"the dashboard server did not start on {self.url}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        if self.hub.loop is not None:
            self.hub.loop.call_soon_threadsafe(self.hub.close_streams)
            time.sleep(0.2)
        self.server.should_exit = True
        self._thread.join(timeout=30)
        self.store.close()
