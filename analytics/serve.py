"""Several app processes behind one address: `python -m analytics serve --processes N --port 8501`.

A Streamlit process runs page scripts largely one at a time, so on a machine with several cores one
process leaves most of them idle. `serve` starts N `streamlit run app.py` processes on internal ports
of 127.0.0.1, each opening the database read-only ($CHANNEL_PROCESSES=N, analytics.store.store:
several processes may read one DuckDB file at once), and answers on --port itself with a small reverse
proxy (an ASGI app under uvicorn, httpx for HTTP and `websockets` for the app's websocket: all already
installed with Streamlit, no server to configure). The proxy keeps each browser on one process: a
cookie names it at the first request, and a websocket stays with the process it was opened to,
because a Streamlit session (and its uploads and downloads) lives in that one process.

Writes still work in every process, slower: a process that writes (an upload, a rollback, a saved
review) takes the file in turn as the command line does (Store.writing()), and a command-line load
leaves its note beside the file, so every process lets go and waits, as one process does today.
The background score refresher does not run in the app processes (N of them would fit the same model
N times over); this process checks every REFRESH_EVERY seconds and brings the stored scores up to date
itself, taking the file in turn only to write them.

Without sign-in every visitor is admin, so until sign-in is configured ([auth] in
.streamlit/secrets.toml) `serve` answers on 127.0.0.1 only and refuses another address. Its responses
forbid framing by other sites (X-Frame-Options and CSP frame-ancestors), which `streamlit run` alone
cannot add.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from collections.abc import Callable
from http.cookies import SimpleCookie
from pathlib import Path

from analytics.store.store import PROCESSES_ENV, PROJECT_ROOT, Store, StoreError

__all__ = ["serve", "StickyProxy", "REFRESH_EVERY", "BACKEND_COOKIE", "FRAME_HEADERS", "sign_in_configured",
           "listen_address"]

BACKEND_COOKIE = "channel_backend"  # which app process a browser is kept on
REFRESH_EVERY = 30.0  # seconds between this process's looks at whether the stored scores are current
# Only this site may show the app in a frame (clickjacking: a page of another site framing the app's buttons).
FRAME_HEADERS = [(b"x-frame-options", b"SAMEORIGIN"), (b"content-security-policy", b"frame-ancestors 'self'")]
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def sign_in_configured(root: Path = PROJECT_ROOT) -> bool:
    """Tell whether sign-in is set up: an [auth] table in the project's or the user's .streamlit/secrets.toml.

    The same files Streamlit reads for st.login (views/auth.py asks st.secrets; this process has no Streamlit).
    """
    for secrets in (root / ".streamlit" / "secrets.toml", Path.home() / ".streamlit" / "secrets.toml"):
        try:
            if "auth" in tomllib.loads(secrets.read_text(encoding="utf-8")):
                return True
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
    return False


def listen_address(requested: str | None, signed_in: bool) -> str:
    """Give the interface to answer on: all once sign-in is set, else 127.0.0.1; refuse an open one without sign-in."""
    if requested is None:
        return "0.0.0.0" if signed_in else "127.0.0.1"
    if requested not in LOOPBACK and not signed_in:
        raise ValueError(
            f"--address {requested} would let anyone on the network in as admin: no sign-in is configured "
            "(no [auth] in .streamlit/secrets.toml), so the app answers on 127.0.0.1 only. Set up sign-in "
            "(see .streamlit/secrets.toml.example), then serve with --address 0.0.0.0.")
    return requested


# Headers of one hop only (RFC 9110 7.6.1), never passed on; host is set per request.
_HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer",
               b"transfer-encoding", b"upgrade", b"proxy-connection"}
# The websocket client makes these itself for the handshake to the app process.
_HANDSHAKE = {b"host", b"origin", b"user-agent", b"sec-websocket-key", b"sec-websocket-version",
              b"sec-websocket-extensions", b"sec-websocket-protocol", b"content-length"}


class StickyProxy:
    """An ASGI reverse proxy to several app processes on 127.0.0.1: HTTP and websockets, each browser kept on one."""

    def __init__(self, ports: list[int]):
        self.ports = ports
        self._turn = itertools.cycle(range(len(ports)))
        self._client = None  # an httpx.AsyncClient, made in the server's event loop

    def _backend(self, headers: dict[bytes, bytes]) -> tuple[int, bool]:
        """Give the index of the app process for this request, and whether it was chosen now (no valid cookie)."""
        cookie = SimpleCookie()
        with contextlib.suppress(Exception):
            cookie.load(headers.get(b"cookie", b"").decode("latin-1"))
        chosen = cookie.get(BACKEND_COOKIE)
        if chosen is not None and chosen.value.isdigit() and int(chosen.value) < len(self.ports):
            return int(chosen.value), False
        return next(self._turn), True

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)

    async def _lifespan(self, receive, send) -> None:
        import httpx

        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # No timeout: a page's upload or a long download may take minutes; the app answers or closes.
                self._client = httpx.AsyncClient(timeout=None, follow_redirects=False)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope, receive, send) -> None:
        headers = dict(scope["headers"])
        index, chosen_now = self._backend(headers)
        target = f"http://127.0.0.1:{self.ports[index]}{scope['raw_path'].decode('latin-1')}"
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode("latin-1")
        forwarded = [(k, v) for k, v in scope["headers"] if k not in _HOP_BY_HOP]

        async def body():
            while True:
                message = await receive()
                if message.get("body"):
                    yield message["body"]
                if not message.get("more_body"):
                    return

        request = self._client.build_request(scope["method"], target, headers=forwarded, content=body())
        try:
            response = await self._client.send(request, stream=True)
        except Exception:  # the app process is gone or not up yet: say so rather than hang
            await send({"type": "http.response.start", "status": 502,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
            await send({"type": "http.response.body", "body": b"The app process behind this address is not "
                                                              b"answering; try again in a moment."})
            return
        try:
            out = [(k, v) for k, v in response.headers.raw
                   if k.lower() not in _HOP_BY_HOP and k.lower() not in dict(FRAME_HEADERS)]
            out += FRAME_HEADERS
            if chosen_now:
                out.append((b"set-cookie", f"{BACKEND_COOKIE}={index}; Path=/; HttpOnly; SameSite=Lax".encode()))
            await send({"type": "http.response.start", "status": response.status_code, "headers": out})
            async for chunk in response.aiter_raw():  # as the app sent it (compressed or not), headers match
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()

    async def _websocket(self, scope, receive, send) -> None:
        from websockets.asyncio.client import connect
        from websockets.typing import Origin, Subprotocol

        headers = dict(scope["headers"])
        index, _ = self._backend(headers)
        if (await receive())["type"] != "websocket.connect":
            return
        host = headers.get(b"host", f"127.0.0.1:{self.ports[index]}".encode()).decode("latin-1")
        path = scope["raw_path"].decode("latin-1") + ("?" + scope["query_string"].decode("latin-1")
                                                       if scope["query_string"] else "")
        offered = [p.strip() for p in headers.get(b"sec-websocket-protocol", b"").decode("latin-1").split(",")]
        origin = headers.get(b"origin")
        extra = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
                 if k not in _HOP_BY_HOP and k not in _HANDSHAKE]
        try:
            # The URL keeps the browser's Host (the app checks Origin against it); the socket goes to the process.
            upstream = await connect(
                f"ws://{host}{path}", host="127.0.0.1", port=self.ports[index],
                subprotocols=[Subprotocol(p) for p in offered] if offered != [""] else None,
                origin=Origin(origin.decode("latin-1")) if origin else None,
                additional_headers=extra, user_agent_header=headers.get(b"user-agent", b"").decode("latin-1") or None,
                max_size=None, ping_interval=None, compression=None)
        except Exception:
            await send({"type": "websocket.close", "code": 1011})
            return
        await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})

        async def to_app() -> None:
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    return
                data = message.get("bytes")
                await upstream.send(data if data is not None else message.get("text", ""))

        async def to_browser() -> None:
            async for data in upstream:
                key = "bytes" if isinstance(data, bytes) else "text"
                await send({"type": "websocket.send", key: data})

        tasks = [asyncio.create_task(to_app()), asyncio.create_task(to_browser())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await upstream.close()
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": 1000})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(port: int, process: subprocess.Popen, timeout: float = 120.0) -> None:
    """Wait until the app process on `port` answers its health check; raise StoreError naming it if it ends first."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        if process.poll() is not None:
            raise StoreError(f"The app process for port {port} ended (exit code {process.returncode}) before it "
                             "answered; its output is above.")
        if time.monotonic() > deadline:
            raise StoreError(f"The app process for port {port} did not answer within {timeout:.0f} s.")
        time.sleep(0.3)


def _keep_scores_fresh(db: Path, stop: threading.Event, say: Callable[[str], None]) -> None:
    """Bring the stored scores up to date whenever they are behind the data (an upload or rollback in the app)."""
    from analytics.model.scoring import refresher, stale_runs

    while not stop.wait(REFRESH_EVERY):
        try:
            with Store(db, wait=30.0) as store:
                behind = stale_runs(store)
            if behind and refresher(db).start():
                say(f"Bringing the stored scores up to date ({len(behind)} run(s) behind the data).")
        except StoreError as exc:  # a load from the command line holds the file: look again later
            say(f"Scores not checked: {exc}")


def serve(db: Path, processes: int, port: int, address: str | None = None,
          say: Callable[[str], None] = print) -> int:
    """Run N app processes behind the sticky proxy on address:port until interrupted; give the exit code.

    `address` None answers on every interface once sign-in is configured, else on 127.0.0.1 only.
    """
    import uvicorn

    if processes < 1:
        raise ValueError(f"--processes must be at least 1, got {processes}")
    address = listen_address(address, sign_in_configured())
    # This process too reads read-only and writes in turn (the scores): set before its first Store.
    os.environ[PROCESSES_ENV] = str(processes)
    os.environ["CHANNEL_DB"] = str(db)
    with Store(db, wait=300.0, on_wait=say):  # made and upgraded once here, not raced by N processes
        pass
    ports = [_free_port() for _ in range(processes)]
    # With $CHANNEL_PROCESSES above 1 the pages start no refresher of their own (views/scores.py); this one does.
    env = {**os.environ, PROCESSES_ENV: str(processes), "CHANNEL_DB": str(db)}
    # SIGTERM (a container stopping) while the processes start ends this one as Ctrl-C does, so that the
    # app processes are stopped too (uvicorn handles it itself once it runs).
    signal.signal(signal.SIGTERM, lambda *_: signal.raise_signal(signal.SIGINT))
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "app.py"), "--server.port", str(p),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=PROJECT_ROOT, env=env)
        for p in ports
    ]
    stop = threading.Event()
    try:
        for p, child in zip(ports, children, strict=True):
            _wait_healthy(p, child)
        say(f"{processes} app processes on 127.0.0.1 ports {', '.join(map(str, ports))}, reading {db}; "
            f"open http://{'localhost' if address in ('0.0.0.0', '127.0.0.1') else address}:{port}")
        if processes > 1:  # one process keeps its own refresher, as `streamlit run app.py` does
            threading.Thread(target=_keep_scores_fresh, args=(db, stop, say), daemon=True,
                             name="scores-check").start()
        uvicorn.run(StickyProxy(ports), host=address, port=port, log_level="warning", ws="websockets-sansio",
                    lifespan="on", server_header=False, date_header=False)  # the app's own headers pass through
        return 0
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM before the proxy ran
        say("Stopped.")
        return 0
    finally:
        stop.set()
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
