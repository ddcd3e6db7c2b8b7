"""The playground's web server: Starlette + uvicorn, one :class:`Session` per websocket.

``create_app()`` returns the ASGI app: ``/`` is the page, ``/static/...`` its files (shipped in
the package, no CDN), ``/ws`` the websocket. Each tab's websocket owns one session; training
runs in an asyncio task that takes a few optimizer steps and sends a frame, up to ``MAX_FPS``
times per second while playing. Closing the tab ends the task and frees the session.

The event loop only moves bytes: training steps, frames, network descriptions and their JSON
encoding run in worker threads (a small pool for training, another for the tabs' messages, so
that a new tab is served while others train), one job at a time per session, in order.

Every request and websocket passes :mod:`.security`'s Origin/Host checks (and the token when
the server listens beyond the loopback); a refused one gets 403 and the reason. A tab that
sends nothing for ``idle_timeout`` seconds is closed; a client address holds at most
``max_sessions_per_client`` sessions, the server ``max_sessions``; a refused tab is told which
limit and when a slot frees at the latest.

Starlette and uvicorn are imported here only, and this module is imported only by ``actlab
playground`` (install them with ``pip install 'actlab[web]'``).
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import os
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .. import activations as _acts
from . import data as _data
from . import protocol as P
from . import security
from .session import FRAME_BUDGET_S, Session

STATIC = Path(__file__).resolve().parent / "static"
MAX_FPS = 20
WS_MAX_SIZE = 1024 * 1024     # uvicorn drops anything bigger at the protocol level
TRAIN_THREADS = max(1, min(4, os.cpu_count() or 1))   # training jobs of all tabs share these
MESSAGE_THREADS = 2           # a tab's messages (config, reset, a new tab's first frame)
log = logging.getLogger("actlab.playground")


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


@functools.lru_cache(maxsize=1)
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

    def __init__(self, rate: float = P.MAX_MESSAGES_PER_SECOND, burst: int = P.RATE_BURST,
                 clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst = float(rate), float(burst)
        self.tokens = float(burst)
        self.clock = clock
        self.t = clock()

    def allow(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.t) * self.rate)
        self.t = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def duration(seconds: float) -> str:
    """``75`` -> ``"1 min 15 s"``, for messages."""
    seconds = max(0, math.ceil(seconds))
    m, s = divmod(seconds, 60)
    return f"{m} min {s} s" if m and s else f"{m} min" if m else f"{s} s"


class Connection:
    """One tab: its session, its training task, its idle watchdog, and a lock so that the
    session's jobs (training, messages) run one at a time, in order, and their replies leave
    in that order."""

    def __init__(self, websocket, session: Session, sid: str, client: str, *,
                 train_pool: ThreadPoolExecutor, message_pool: ThreadPoolExecutor,
                 idle_timeout: float | None, clock: Callable[[], float] = time.monotonic):
        self.ws = websocket
        self.session = session
        self.sid = sid
        self.client = client
        self.lock = asyncio.Lock()
        self.send_lock = asyncio.Lock()
        self.wake = asyncio.Event()
        self.rate = RateLimiter(clock=clock)
        self.train_pool, self.message_pool = train_pool, message_pool
        self.idle_timeout = idle_timeout
        self.clock = clock
        self.last_active = clock()
        self.closed = False
        self.tasks: list[asyncio.Task] = []

    # -- running jobs off the event loop -------------------------------------------------------
    async def work(self, fn, *args, pool: ThreadPoolExecutor | None = None):
        """``fn(*args)`` in a worker thread (the message pool unless told otherwise)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool or self.message_pool, functools.partial(fn, *args))

    async def send_text(self, text: str) -> None:
        async with self.send_lock:
            await self.ws.send_text(text)

    async def send(self, payload: dict[str, Any]) -> None:
        """A small message (errors): encoded here, on the loop."""
        await self.send_text(P.encode(payload))

    async def error(self, message: str, **extra) -> None:
        await self.send({"type": "error", "message": message, **extra})

    def start(self, on_idle: Callable[[Connection], None]) -> None:
        self.tasks.append(asyncio.create_task(self.run_training()))
        if self.idle_timeout:
            self.tasks.append(asyncio.create_task(self._watch_idle(on_idle)))

    def stop(self) -> None:
        self.closed = True
        self.session.playing = False
        current = asyncio.current_task()
        for t in self.tasks:
            if t is not current:
                t.cancel()

    def touch(self) -> None:
        self.last_active = self.clock()

    async def _watch_idle(self, on_idle: Callable[[Connection], None]) -> None:
        while True:
            left = self.last_active + self.idle_timeout - self.clock()
            if left <= 0:
                break
            await asyncio.sleep(left)
        on_idle(self)            # the slot is free from now on
        self.stop()
        try:
            await self.error(f"this tab sent nothing for {duration(self.idle_timeout)}, so the server closed "
                             "its session to free the slot: reload the page to start again", fatal=True)
            await self.ws.close(code=1000, reason="idle timeout")
        except Exception:        # the tab has gone already
            pass

    # -- training --------------------------------------------------------------------------------
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
                text = await self.work(self._advance, pool=self.train_pool)
                await self.send_text(text)
            await asyncio.sleep(max(0.0, 1.0 / MAX_FPS - (loop.time() - t0)))

    def _advance(self) -> str:
        """In a worker thread: up to one frame's worth of steps, then the frame, encoded."""
        s = self.session
        t0 = time.perf_counter()
        for _ in range(s.steps_per_frame()):
            s.step(1)
            if time.perf_counter() - t0 > FRAME_BUDGET_S or not s.playing or self.closed:
                break
        return P.encode(s.frame())

    # -- messages --------------------------------------------------------------------------------
    def opening(self) -> list[str]:
        """In a worker thread: what a new tab gets first (hello, the network, a frame)."""
        return [P.encode(hello(self.sid)), P.encode(self.session.network()), P.encode(self.session.frame())]

    async def handle(self, msg: dict[str, Any]) -> None:
        if msg["type"] == "pause":
            self.session.playing = False     # a frame being trained stops at its next step
        async with self.lock:
            texts = await self.work(self._apply, msg)
            for text in texts:
                await self.send_text(text)
            if msg["type"] == "play":
                self.wake.set()

    def _apply(self, msg: dict[str, Any]) -> list[str]:
        """In a worker thread: apply one validated message; the replies, encoded."""
        kind = msg["type"]
        s = self.session
        if kind == "config":
            s.apply_config(msg["config"])
            replies = [s.network(), s.frame()]
        elif kind == "upload":
            try:
                points = _data.parse_csv(msg["csv"])
            except ValueError as exc:
                raise P.ProtocolError(f"bad CSV file: {exc}") from None
            s.set_upload(points)
            replies = [s.network(), s.frame()]
        elif kind == "reset":
            s.reset()
            replies = [s.network(), s.frame()]
        elif kind == "play":
            s.playing = True
            replies = []
        elif kind == "pause":
            s.playing = False
            replies = [s.frame()]
        elif kind == "step":
            s.playing = False
            s.step(msg["n"])
            replies = [s.frame()]
        else:  # export
            replies = [s.export()]
        return [P.encode(r) for r in replies]


class Guard:
    """ASGI middleware: every HTTP request and websocket handshake passes :func:`security.check`
    (and the token when there is one) or is refused with 403 and the reason."""

    def __init__(self, app, *, loopback: bool, token: str | None, port: int | None):
        self.app, self.loopback, self.token, self.port = app, loopback, token, port

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        from starlette.requests import HTTPConnection

        conn = HTTPConnection(scope)
        server = scope.get("server")
        port = server[1] if server and server[1] else self.port
        headers = conn.headers
        reason = security.check(host_header=headers.get("host"), origin=headers.get("origin"), port=port,
                                loopback=self.loopback, scheme=scope.get("scheme", "http"))
        cookie = None
        if reason is None and self.token:
            given, where = security.request_token(scope.get("query_string", b""), conn.cookies,
                                                  headers.get("authorization"), port)
            if not security.token_matches(given, self.token):
                reason = ("this playground listens beyond the loopback and needs its token: open the URL "
                          "that `actlab playground` printed (it ends in ?token=...)"
                          + (" - the token given is wrong" if given else ""))
            elif where == "query":
                cookie = (f"{security.cookie_name(port)}={self.token}; Path=/; HttpOnly; SameSite=Strict")
        if reason is not None:
            client = scope.get("client") or ("?", 0)
            log.warning("playground: refused %s %s from %s: %s", scope["type"], scope.get("path"), client[0], reason)
            return await self._deny(scope, receive, send, reason)
        if cookie and scope["type"] == "http":
            async def send_with_cookie(message):
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", []),
                                                      (b"set-cookie", cookie.encode("latin-1"))]}
                await send(message)
            return await self.app(scope, receive, send_with_cookie)
        return await self.app(scope, receive, send)

    @staticmethod
    async def _deny(scope, receive, send, reason: str):
        from starlette.responses import PlainTextResponse

        response = PlainTextResponse(f"403 Forbidden: {reason}\n", status_code=403)
        if scope["type"] == "http":
            return await response(scope, receive, send)
        from starlette.websockets import WebSocket

        ws = WebSocket(scope, receive, send)
        if "websocket.http.response" in scope.get("extensions", {}):
            await ws.send_denial_response(response)       # the handshake is answered 403 + reason
        else:
            await ws.close(code=1008)                     # servers answer 403 without a body


def create_app(max_sessions: int = P.MAX_SESSIONS, *, max_sessions_per_client: int = P.MAX_SESSIONS_PER_CLIENT,
               idle_timeout: float | None = P.IDLE_TIMEOUT_S, loopback: bool = True, token: str | None = None,
               port: int | None = None, clock: Callable[[], float] = time.monotonic):
    """The ASGI application (Starlette), every request through :class:`Guard`.

    ``idle_timeout``: seconds without a message after which a tab's session is closed (``None``
    or 0: never). ``loopback``: the server listens on a loopback address only (the ``Host``
    check is on); ``token``: the secret every request must carry (for non-loopback binds);
    ``port``: the port served, when the ASGI server does not say (``scope["server"]``).
    """
    _require_web()
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Mount, Route, WebSocketRoute
    from starlette.staticfiles import StaticFiles
    from starlette.websockets import WebSocketDisconnect

    sessions: dict[str, Connection] = {}
    pools: dict[str, ThreadPoolExecutor] = {}

    def pool(name: str, threads: int) -> ThreadPoolExecutor:
        if name not in pools:
            pools[name] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"playground-{name}")
        return pools[name]

    @contextlib.asynccontextmanager
    async def lifespan(app):
        try:
            yield
        finally:
            for p in pools.values():
                p.shutdown(wait=False, cancel_futures=True)
            pools.clear()

    async def index(request):
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def status(request):
        return JSONResponse({"sessions": len(sessions), "max_sessions": max_sessions,
                             "max_sessions_per_client": max_sessions_per_client,
                             "idle_timeout_s": idle_timeout or None})

    def refusal(client: str) -> dict[str, Any] | None:
        """Why a new tab of ``client`` gets no session, and when to try again (``None``: it gets one)."""
        mine = [c for c in sessions.values() if c.client == client]
        if len(mine) >= max_sessions_per_client:
            held, what = mine, (f"this client ({client}) already has {len(mine)} playground sessions "
                                f"(the limit per client)")
        elif len(sessions) >= max_sessions:
            held, what = list(sessions.values()), f"the server already has {len(sessions)} sessions (the limit)"
        else:
            return None
        if not idle_timeout:
            return {"message": f"{what}: close a tab and reload", "retry_after": None}
        wait = max(0.0, min(c.last_active for c in held) + idle_timeout - clock())
        return {"message": (f"{what}: close a tab, or reload in {duration(wait)} - a session that receives no "
                            f"message for {duration(idle_timeout)} is closed, and the longest idle of them "
                            f"is closed by then unless it is used again"),
                "retry_after": math.ceil(wait)}

    def forget(conn: Connection) -> None:
        if sessions.get(conn.sid) is conn:
            del sessions[conn.sid]

    async def ws_endpoint(websocket):
        await websocket.accept()
        client = websocket.client.host if websocket.client else "unknown"
        refused = refusal(client)
        if refused is not None:
            await websocket.send_text(P.encode({"type": "error", "fatal": True, **refused}))
            await websocket.close(code=1013)     # try again later
            return
        sid = uuid.uuid4().hex[:12]
        conn = Connection(websocket, Session(), sid, client, train_pool=pool("train", TRAIN_THREADS),
                          message_pool=pool("messages", MESSAGE_THREADS), idle_timeout=idle_timeout, clock=clock)
        sessions[sid] = conn
        conn.start(on_idle=forget)
        try:
            async with conn.lock:
                for text in await conn.work(conn.opening):
                    await conn.send_text(text)
            while not conn.closed:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect" or conn.closed:
                    break
                conn.touch()
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
                except (WebSocketDisconnect, asyncio.CancelledError):
                    raise
                except Exception as exc:      # a bug: say so, keep the tab
                    log.exception("playground: message %r failed", str(raw)[:200])
                    await conn.error(f"internal error ({type(exc).__name__}: {exc}); the message was not applied")
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            conn.stop()
            forget(conn)

    app = Starlette(routes=[
        Route("/", index),
        Route("/api/status", status),
        WebSocketRoute("/ws", ws_endpoint),
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ], middleware=[Middleware(Guard, loopback=loopback, token=token, port=port)], lifespan=lifespan)
    app.state.sessions = sessions
    return app


def bind(host: str, port: int):
    """A listening socket on ``host:port`` (IPv6 when the address has a colon); ``OSError``
    says why not (the port is taken, the address is not this machine's)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)                   # connections wait from now on, until uvicorn serves them
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False,
          log_level: str = "warning", *, idle_timeout: float | None = P.IDLE_TIMEOUT_S,
          max_sessions: int = P.MAX_SESSIONS, max_sessions_per_client: int = P.MAX_SESSIONS_PER_CLIENT) -> None:
    """Run the playground until Ctrl-C.

    On a loopback address (the default) the Origin/Host checks guard it; on any other address
    it prints a warning and requires a per-launch token, shown in the URL(s) it prints.
    """
    _require_web()
    import uvicorn

    loopback = security.is_loopback(host)
    token = None if loopback else security.new_token()
    sock = bind(host, port)                 # bound now, so that port 0 prints the real port
    port = sock.getsockname()[1]
    app = create_app(max_sessions, max_sessions_per_client=max_sessions_per_client,
                     idle_timeout=idle_timeout, loopback=loopback, token=token, port=port)
    # no per-message deflate: compressing every frame would cost the event loop more than it saves
    config = uvicorn.Config(app, log_level=log_level, ws="auto", ws_max_size=WS_MAX_SIZE,
                            ws_per_message_deflate=False)
    server = uvicorn.Server(config)
    urls = security.urls(host, port, token)
    url = urls[-1] if not loopback and host in ("0.0.0.0", "::") else urls[0]
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
    if not loopback:
        print(f"actlab playground: WARNING: listening on {host}, not on the loopback: anyone who can reach "
              f"this machine on port {port} and has the token can train here (over plain, unencrypted HTTP). "
              "Keep the token secret; use --host 127.0.0.1 unless you mean to share it.", file=sys.stderr)
        print("actlab playground on (Ctrl-C to stop):\n" + "\n".join(f"    {u}" for u in urls))
    else:
        print(f"actlab playground on {url} (Ctrl-C to stop)")
    server.run(sockets=[sock])
