"""Several app processes behind nginx: `python -m analytics serve --processes N --port 8501`.

A Streamlit process runs page scripts largely one at a time, so on a machine with several cores one
process leaves most of them idle. `serve` starts N `streamlit run app.py` processes on internal ports
of 127.0.0.1, each opening the database read-only ($CHANNEL_PROCESSES=N, analytics.store.store:
several processes may read one DuckDB file at once), and puts the distribution's nginx in front on
--port, with a configuration it writes into a run folder of its own (config, pid, logs, temp files).
nginx runs in the foreground as a child of this process (`daemon off;`), not as root, so `serve`
starts and stops it with the app processes.

nginx keeps each browser on one process, because a Streamlit session (its websocket, uploads and
downloads) lives in one process: a `channel_backend` cookie, set at the browser's first request, is
hashed onto the processes (`hash ... consistent`). Not `ip_hash`: a team behind one office NAT or
corporate proxy shares one address and would all land on one process. nginx only has passive health
checks (a process that refuses a connection is skipped for a while and its browsers go to another);
`serve` itself watches its children and starts an app process that died again on the same port.

Writes still work in every process, slower: a process that writes (an upload, a rollback, a saved
review) takes the file in turn as the command line does (Store.writing()), and a command-line load
leaves its note beside the file, so every process lets go and waits, as one process does today.
The background score refresher does not run in the app processes (N of them would fit the same model
N times over); this process checks every REFRESH_EVERY seconds and brings the stored scores up to date
itself, taking the file in turn only to write them.

Without sign-in every visitor is admin, so until sign-in is configured ([auth] in
.streamlit/secrets.toml) `serve` answers on 127.0.0.1 only and refuses another address. nginx's
responses forbid framing by other sites (X-Frame-Options and CSP frame-ancestors), which
`streamlit run` alone cannot add.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from analytics.ingest.limits import MAX_FILE_MB
from analytics.paths import PROJECT_ROOT
from analytics.store.faults import StoreError
from analytics.store.store import PROCESSES_ENV, Store

__all__ = ["serve", "nginx_config", "nginx_process", "Supervised", "find_nginx", "upload_limit_mb", "REFRESH_EVERY",
           "BACKEND_COOKIE", "FRAME_HEADERS", "sign_in_configured", "listen_address"]

BACKEND_COOKIE = "channel_backend"  # which app process a browser is kept on
REFRESH_EVERY = 30.0  # seconds between this process's looks at whether the stored scores are current
# Only this site may show the app in a frame (clickjacking: a page of another site framing the app's buttons).
FRAME_HEADERS = [("X-Frame-Options", "SAMEORIGIN"), ("Content-Security-Policy", "frame-ancestors 'self'")]
LOOPBACK = ("127.0.0.1", "localhost", "::1")
WATCH_EVERY = 1.0  # seconds between looks at whether nginx and every app process still run
QUICK_DEATH = 30.0  # a process that dies this soon after its start is started again only after a pause
NGINX_PLACES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")


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


def find_nginx() -> str | None:
    """Give the path of the nginx program (on PATH, else where Debian puts it: /usr/sbin is not on a user's PATH)."""
    found = shutil.which("nginx")
    if found:
        return found
    return next((place for place in NGINX_PLACES if os.access(place, os.X_OK)), None)


def upload_limit_mb(root: Path = PROJECT_ROOT) -> int:
    """Give the app's upload limit in MB: .streamlit/config.toml's server.maxUploadSize, else the importer's."""
    with contextlib.suppress(OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError):
        config = tomllib.loads((root / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
        return int(config["server"]["maxUploadSize"])
    return MAX_FILE_MB


def _listen_directive(address: str, port: int) -> str:
    if address == "0.0.0.0":
        return f"listen {port};"
    host = "[::1]" if address == "::1" else ("127.0.0.1" if address == "localhost" else address)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"listen {host}:{port};"


def nginx_config(app_ports: list[int], address: str, port: int, run_dir: Path, upload_mb: int) -> str:
    """Give the nginx configuration for the app processes on 127.0.0.1:app_ports, answering on address:port.

    Every path nginx writes (pid, logs, temp files) is under run_dir; nginx is started with `-p run_dir`.
    """
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in app_ports)
    frame = "\n".join(f'        add_header {name} "{value}" always;' for name, value in FRAME_HEADERS)
    # The app's own framing headers are dropped so that only these reach the browser.
    hidden = "\n".join(f"            proxy_hide_header {name};" for name, _ in FRAME_HEADERS)
    return f"""\
# Written by `python -m analytics serve` at each start; edits here are lost. For your own nginx, see docs/scaling.md.
daemon off;                 # serve supervises nginx and stops it with the app processes
# One worker carries thousands of websockets; the cores are for the app processes.
worker_processes 1;
pid {run_dir}/nginx.pid;
error_log {run_dir}/logs/error.log warn;

events {{
    worker_connections 4096;
}}

http {{
    log_format channel '$remote_addr [$time_local] "$request" $status $body_bytes_sent '
                       '$request_time upstream=$upstream_addr $upstream_status';
    access_log {run_dir}/logs/access.log channel;
    client_body_temp_path {run_dir}/temp/client_body;
    proxy_temp_path {run_dir}/temp/proxy;
    fastcgi_temp_path {run_dir}/temp/fastcgi;
    uwsgi_temp_path {run_dir}/temp/uwsgi;
    scgi_temp_path {run_dir}/temp/scgi;
    server_tokens off;

    # The app refuses files over {upload_mb} MB itself; the request also carries the multipart framing.
    client_max_body_size {upload_mb + 1}m;

    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    # A browser without the cookie is placed by its first request's id, and told that id as its cookie,
    # so all its later requests (the websocket, uploads, downloads) hash to the same app process.
    map $cookie_{BACKEND_COOKIE} $channel_backend {{
        ''      $request_id;
        default $cookie_{BACKEND_COOKIE};
    }}
    map $cookie_{BACKEND_COOKIE} $channel_backend_cookie {{
        ''      "{BACKEND_COOKIE}=$request_id; Path=/; HttpOnly; SameSite=Lax";
        default "";
    }}

    upstream channel_app {{
        # Consistent: when a process is down only its browsers move, and they come back once it answers.
        hash $channel_backend consistent;
{servers}
        keepalive 16;
    }}

    server {{
        {_listen_directive(address, port)}
        # An empty value sends no header: the cookie is set once, on the first response.
        add_header Set-Cookie $channel_backend_cookie always;
{frame}

        location / {{
            proxy_pass http://channel_app;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            # The app checks a websocket's Origin against the Host the browser used.
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
{hidden}
            # A refused connection (a process that died) goes to the next process at once.
            proxy_connect_timeout 5s;
            proxy_next_upstream error timeout;
            # A websocket is quiet while a person reads a page; an upload streams to the app as it arrives.
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
            proxy_request_buffering off;
        }}
    }}
}}
"""


@dataclass
class Supervised:
    """A process serve keeps running: how to start it, the running one, and when it was started."""

    name: str
    command: list[str]
    env: dict[str, str] | None = None
    user: str | None = None
    port: int | None = None
    process: subprocess.Popen | None = None
    started: float = 0.0
    quick_deaths: int = 0
    restart_at: float | None = None
    answering: bool = False
    run_dir: Path | None = None  # nginx's: its configuration, pid, logs and temp files

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, cwd=PROJECT_ROOT, env=self.env, user=self.user,
                                        group=_group_of(self.user) if self.user else None)
        self.started = time.monotonic()
        self.answering = False
        self.restart_at = None

    def stop(self, how: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(how)

    def wait_stopped(self) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _group_of(user: str) -> int:
    return pwd.getpwnam(user).pw_gid


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(port: int) -> bool:
    with contextlib.suppress(OSError):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
            return response.status == 200
    return False


def _check_port_free(address: str, port: int) -> None:
    """Raise StoreError naming the port when something already listens there (often a serve still running).

    nginx would fail to bind, while serve, finding the port answering, would think it up: browsers would
    reach the other program.
    """
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as nginx binds: TIME_WAIT is no obstacle
        try:
            probe.bind(("" if address == "0.0.0.0" else address, port))
        except OSError as exc:
            raise StoreError(f"Port {port} on {address} is in use ({exc.strerror}): another program, or a serve "
                             "still running, answers there. Stop it or choose another --port.") from exc


def _wait_healthy(child: Supervised, timeout: float = 120.0) -> None:
    """Wait until the app process answers its health check; raise StoreError naming it if it ends first."""
    deadline = time.monotonic() + timeout
    while not _healthy(child.port):
        if child.process.poll() is not None:
            raise StoreError(f"The {child.name} on port {child.port} ended (exit code {child.process.returncode}) "
                             "before it answered; its output is above.")
        if time.monotonic() > deadline:
            raise StoreError(f"The {child.name} on port {child.port} did not answer within {timeout:.0f} s.")
        time.sleep(0.3)
    child.answering = True


def _wait_listening(nginx: Supervised, address: str, port: int, timeout: float = 30.0) -> None:
    """Wait until nginx accepts connections on address:port; raise StoreError with its error log if it ends."""
    host = "127.0.0.1" if address in ("0.0.0.0", "localhost") else address
    deadline = time.monotonic() + timeout
    while True:
        if nginx.process.poll() is None:
            with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
                return
        if nginx.process.poll() is not None or time.monotonic() > deadline:
            log = nginx.run_dir / "logs" / "error.log"
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else "(no error log)"
            raise StoreError(f"nginx did not start on {address}:{port} (exit code {nginx.process.poll()}); "
                             f"its error log {log} ends:\n{tail}")
        time.sleep(0.2)


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


def _nginx_user() -> str | None:
    """Give the user nginx runs as when serve runs as root (never root: it listens on an unprivileged port)."""
    if os.geteuid() != 0:
        return None
    return "nobody"


def _prepare_run_dir(run_dir: Path | None, user: str | None) -> Path:
    """Make the run folder (config, logs, temp files) and give it; readable and writable by nginx's user."""
    run_dir = Path(tempfile.mkdtemp(prefix="channel-serve-")) if run_dir is None else run_dir.resolve()
    for sub in ("logs", "temp"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    if user is not None:
        entry = pwd.getpwnam(user)
        for path in (run_dir, *run_dir.rglob("*")):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    return run_dir


def nginx_process(program: str, app_ports: list[int], address: str, port: int,
                  run_dir: Path | None = None) -> Supervised:
    """Give nginx, not yet started, in front of the app processes on app_ports, with its configuration written.

    Run as the user serve runs as; never as root (as root: nobody, which owns the run folder).
    """
    user = _nginx_user()
    run_dir = _prepare_run_dir(run_dir, user)
    config = run_dir / "nginx.conf"
    config.write_text(nginx_config(app_ports, address, port, run_dir, upload_limit_mb()), encoding="utf-8")
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(config, entry.pw_uid, entry.pw_gid)
    # -e: nginx opens its error log before it reads the configuration; the distribution's is root's.
    command = [program, "-p", str(run_dir), "-c", str(config), "-e", str(run_dir / "logs" / "error.log")]
    return Supervised("nginx", command, user=user, run_dir=run_dir)


def _watch(children: list[Supervised], say: Callable[[str], None]) -> None:
    """Start again any child that ended (after a pause if it keeps dying), and say when a new app process answers."""
    now = time.monotonic()
    for child in children:
        code = child.process.poll()
        if code is not None and child.restart_at is None:
            quick = now - child.started < QUICK_DEATH
            child.quick_deaths = child.quick_deaths + 1 if quick else 0
            pause = min(60.0, 2.0 ** child.quick_deaths) if quick else 0.0
            where = f" on port {child.port}" if child.port else ""
            say(f"The {child.name} (pid {child.process.pid}){where} ended with exit code {code}; starting it "
                f"again{f' in {pause:.0f} s' if pause else ''}.")
            child.restart_at = now + pause
        if child.restart_at is not None and now >= child.restart_at:
            child.start()
            say(f"Started the {child.name} again: pid {child.process.pid}.")
        elif child.port and not child.answering and child.process.poll() is None and _healthy(child.port):
            child.answering = True
            say(f"The {child.name} (pid {child.process.pid}) on port {child.port} answers again.")


def serve(db: Path, processes: int, port: int, address: str | None = None,
          say: Callable[[str], None] = print, run_dir: Path | None = None) -> int:
    """Run N app processes behind nginx on address:port until interrupted, starting any that dies again; give 0.

    `address` None answers on every interface once sign-in is configured, else on 127.0.0.1 only.
    `run_dir` holds nginx's configuration, pid, logs and temp files (default: a new temporary folder, kept).
    """
    if processes < 1:
        raise ValueError(f"--processes must be at least 1, got {processes}")
    address = listen_address(address, sign_in_configured())
    _check_port_free(address, port)
    nginx_program = find_nginx()
    if nginx_program is None:
        raise StoreError("serve needs nginx, which is not installed: on Debian or Ubuntu `apt-get install nginx` "
                         "(serve runs it itself; no site needs to be enabled).")
    # This process too reads read-only and writes in turn (the scores): set before its first Store.
    os.environ[PROCESSES_ENV] = str(processes)
    os.environ["CHANNEL_DB"] = str(db)
    with Store(db, wait=300.0, on_wait=say):  # made and upgraded once here, not raced by N processes
        pass
    ports = [_free_port() for _ in range(processes)]
    # With $CHANNEL_PROCESSES above 1 the pages start no refresher of their own (views/scores.py); this one does.
    env = {**os.environ, PROCESSES_ENV: str(processes), "CHANNEL_DB": str(db)}
    apps = [Supervised(f"app process {n}", [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "app.py"),
                                        "--server.port", str(p), "--server.address", "127.0.0.1",
                                        "--server.headless", "true", "--browser.gatherUsageStats", "false"],
                   env=env, port=p)
            for n, p in enumerate(ports, start=1)]
    nginx = nginx_process(nginx_program, ports, address, port, run_dir)
    # SIGTERM (a container stopping) ends this process as Ctrl-C does, so that its children are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: signal.raise_signal(signal.SIGINT))
    stop = threading.Event()
    children = [*apps, nginx]
    try:
        for app in apps:
            app.start()
        for app in apps:
            _wait_healthy(app)
        nginx.start()
        _wait_listening(nginx, address, port)
        shown = "localhost" if address in ("0.0.0.0", "127.0.0.1") else address
        where = ", ".join(f"pid {a.process.pid} on 127.0.0.1:{a.port}" for a in apps)
        say(f"{processes} app process{'es' if processes > 1 else ''} ({where}), "
            f"reading {db}, behind nginx (pid {nginx.process.pid}) on {address}:{port}; "
            f"open http://{shown}:{port}. nginx's configuration and logs: {nginx.run_dir}.")
        if processes > 1:  # one process keeps its own refresher, as `streamlit run app.py` does
            threading.Thread(target=_keep_scores_fresh, args=(db, stop, say), daemon=True,
                             name="scores-check").start()
        while True:
            time.sleep(WATCH_EVERY)
            _watch(children, say)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM
        say("Stopped.")
        return 0
    finally:
        stop.set()
        # nginx first, so that no request reaches an app process that is stopping.
        for child in [nginx, *apps]:
            if child.process is not None:
                child.stop()
                if child is nginx:
                    child.wait_stopped()
        for app in apps:
            app.wait_stopped()
