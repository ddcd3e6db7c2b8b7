"""The playground's web server: Starlette + uvicorn, one :class:`Session` per websocket.

``create_app()`` returns the ASGI app: ``/`` is the page, ``/static/...`` its files (shipped in
the package, no CDN), ``/ws`` the websocket. Each tab's websocket owns one session; training
runs in an asyncio task that takes a few optimizer steps in a worker thread and sends a frame,
up to ``MAX_FPS`` times per second while playing. Closing the tab ends the task and frees the
session. Starlette and uvicorn are imported here only, and this module is imported only by
``actlab playground`` (install them with ``pip install 'actlab[web]'``).
"""
from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

from .. import activations as _acts
from . import data as _data
from . import protocol as P
from .session import FRAME_BUDGET_S, Session

STATIC = Path(__file__).resolve().parent / "static"
MAX_FPS = 20
WS_MAX_SIZE = 1024 * 1024     # uvicorn drops anything bigger at the protocol level


def _require_web():
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"the playground needs {exc.name}: install the web extra with pip install 'actlab[web]'") from exc


def hello(session_id: str) -> dict[str, Any]:
    acts = []
    for name in P.hidden_activations():
        a = _acts.get(name)
        acts.append({"name": name, "formula": a.formula,
                     "params": {k: v for k, v in a.params.items() if k != "axis"}})
    return {
        "type": "hello", "session": session_id, "limits": P.limits(), "activations": acts,
        "initializers": list(P.INITIALIZERS), "optimizers": list(P.OPTIMIZERS),
        "datasets": {k: v[0] for k, v in _data.DATASETS.items()},
        "features": _data.FEATURE_LABELS, "defaults": P.DEFAULT_CONFIG, "thumbnails": _thumbnails(),
    }


def _thumbnails() -> dict[str, Any]:
    """120 points of every data set, for the data set buttons."""
    out = {}
    for name in _data.DATASETS:
        pts = _data.generate(name, 120, 0.0, 1)
        out[name] = {"x": [[round(float(a), 2), round(float(b), 2)] for a, b in pts.points],
                     "label": [round(float(v), 2) for v in pts.labels], "kind": pts.kind}
    return out


class RateLimiter:
    """A token bucket: ``rate`` messages per second sustained, ``burst`` at once."""

    def __init__(self, rate: float = P.MAX_MESSAGES_PER_SECOND, burst: int = P.RATE_BURST):
        self.rate, self.burst = float(rate), float(burst)
        self.tokens = float(burst)
        self.t = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.t) * self.rate)
        self.t = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Connection:
    """One tab: its session, its training task and a lock so frames and messages never overlap."""

    def __init__(self, websocket, session: Session):
        self.ws = websocket
        self.session = session
        self.lock = asyncio.Lock()
        self.send_lock = asyncio.Lock()
        self.wake = asyncio.Event()
        self.rate = RateLimiter()

    async def send(self, payload: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.ws.send_text(json.dumps(payload, separators=(",", ":"), allow_nan=False))

    async def error(self, message: str) -> None:
        await self.send({"type": "error", "message": message})

    async def run_training(self) -> None:
        try:
            await self._training_loop()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the tab has gone, or a bug: stop quietly, tell the tab if it is there
            self.session.playing = False
            try:
                await self.error(f"training stopped: {type(exc).__name__}: {exc}")
            except Exception:
                pass

    async def _training_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self.session.playing:
                self.wake.clear()
                await self.wake.wait()
                continue
            t0 = loop.time()
            async with self.lock:
                if not self.session.playing:
                    continue
                frame = await asyncio.to_thread(self._advance)
            await self.send(frame)
            await asyncio.sleep(max(0.0, 1.0 / MAX_FPS - (loop.time() - t0)))

    def _advance(self) -> dict[str, Any]:
        s = self.session
        t0 = time.perf_counter()
        for _ in range(s.steps_per_frame()):
            s.step(1)
            if time.perf_counter() - t0 > FRAME_BUDGET_S or not s.playing:
                break
        return s.frame()

    async def handle(self, msg: dict[str, Any]) -> None:
        kind = msg["type"]
        s = self.session
        async with self.lock:
            if kind == "config":
                await asyncio.to_thread(s.apply_config, msg["config"])
                replies = [s.network(), s.frame()]
            elif kind == "upload":
                try:
                    points = _data.parse_csv(msg["csv"])
                except ValueError as exc:
                    raise P.ProtocolError(f"bad CSV file: {exc}") from None
                await asyncio.to_thread(s.set_upload, points)
                replies = [s.network(), s.frame()]
            elif kind == "reset":
                await asyncio.to_thread(s.reset)
                replies = [s.network(), s.frame()]
            elif kind == "play":
                s.playing = True
                self.wake.set()
                replies = []
            elif kind == "pause":
                s.playing = False
                replies = [s.frame()]
            elif kind == "step":
                s.playing = False
                await asyncio.to_thread(s.step, msg["n"])
                replies = [s.frame()]
            else:  # export
                replies = [await asyncio.to_thread(s.export)]
        for r in replies:
            await self.send(r)


def create_app(max_sessions: int = P.MAX_SESSIONS):
    """The ASGI application (Starlette)."""
    _require_web()
    from starlette.applications import Starlette
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Mount, Route, WebSocketRoute
    from starlette.staticfiles import StaticFiles
    from starlette.websockets import WebSocketDisconnect

    sessions: dict[str, Connection] = {}

    async def index(request):
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def status(request):
        return JSONResponse({"sessions": len(sessions), "max_sessions": max_sessions})

    async def ws_endpoint(websocket):
        await websocket.accept()
        if len(sessions) >= max_sessions:
            await websocket.send_text(json.dumps({
                "type": "error", "fatal": True,
                "message": f"the server already has {len(sessions)} sessions (the limit): close a tab and reload"}))
            await websocket.close(code=1013)
            return
        sid = uuid.uuid4().hex[:12]
        conn = Connection(websocket, Session())
        sessions[sid] = conn
        task = asyncio.create_task(conn.run_training())
        try:
            await conn.send(hello(sid))
            await conn.send(conn.session.network())
            await conn.send(conn.session.frame())
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                raw = message.get("text")
                if raw is None:
                    raw = message.get("bytes") or b""
                if not conn.rate.allow():
                    await conn.error(f"too many messages: at most {P.MAX_MESSAGES_PER_SECOND} per second; "
                                     "this one was ignored")
                    continue
                try:
                    await conn.handle(P.decode(raw))
                except P.ProtocolError as exc:
                    await conn.error(str(exc))
                except ValueError as exc:      # the engine refused a combination: nothing changed
                    await conn.error(f"refused: {exc}")
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            task.cancel()
            sessions.pop(sid, None)

    app = Starlette(routes=[
        Route("/", index),
        Route("/api/status", status),
        WebSocketRoute("/ws", ws_endpoint),
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ])
    app.state.sessions = sessions
    return app


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False,
          log_level: str = "warning") -> None:
    """Run the playground until Ctrl-C."""
    _require_web()
    import uvicorn

    app = create_app()
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, ws="auto",
                            ws_max_size=WS_MAX_SIZE)
    server = uvicorn.Server(config)
    if open_browser:
        import threading
        import webbrowser

        def _open():
            for _ in range(100):
                if server.started:
                    webbrowser.open(url)
                    return
                time.sleep(0.05)
        threading.Thread(target=_open, daemon=True).start()
    print(f"actlab playground on {url} (Ctrl-C to stop)")
    server.run()
