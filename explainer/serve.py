"""One command for a whole class on one machine: several app replicas behind nginx, started and stopped together.

``python -m explainer serve --replicas N --port 8501`` starts N ``streamlit run`` processes on
loopback ports (``port + 1`` …), waits until each answers ``/_stcore/health``, writes nginx's
configuration from ``deploy/nginx.conf.template`` (websocket upgrade, sticky sessions by
Streamlit's XSRF cookie) into a private folder, and runs nginx in the foreground on ``port``.
Then it watches: a replica that exits or stops answering its health check is started again on
its port (its students reload and find their desks: the run store keeps them). Ctrl-C (or
SIGTERM) stops nginx and every replica.

Every replica gets the same cookie secret (``STREAMLIT_SERVER_COOKIE_SECRET``: any of them accepts a cookie another set),
``EXPLAINER_THREADS`` = cores ÷ replicas (they do not fight over cores), two C heaps each
(``MALLOC_ARENA_MAX``: see explainer/memory.py), and the same environment otherwise — point
``EXPLAINER_DATABASE_URL`` at PostgreSQL to share the run store across machines; on one machine
the default SQLite store in ``EXPLAINER_CACHE_DIR`` is shared already.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from .i18n import LocalizedError
from .memory import HEAPS

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
HEALTH = "/_stcore/health"
MAX_REPLICAS = 32


class ServeError(LocalizedError):
    """The replicas or the proxy could not start; the message says why."""


def find_nginx() -> str | None:
    """nginx from the system (Debian's package puts it in /usr/sbin)."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(p)), None)


def nginx_config(port: int, replica_ports: list[int], prefix: Path, host: str = "0.0.0.0") -> str:
    """nginx's configuration for ``replica_ports`` behind ``host:port`` (the template with its blanks filled)."""
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in replica_ports)
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(prefix=str(prefix), servers=servers, host=host, port=port)


def healthy(port: int, timeout: float = 2.0) -> bool:
    """Whether the replica on ``port`` answers its health check with ``ok``."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{HEALTH}", timeout=timeout) as response:  # noqa: S310 - loopback
            return response.read().strip() == b"ok"
    except OSError:
        return False


@dataclass
class Replica:
    port: int
    process: subprocess.Popen | None = None
    restarts: int = 0
    failures: int = 0  # health checks failed in a row


@dataclass
class Server:
    """The replicas and the proxy of one ``serve`` command."""

    replicas: int = 2
    port: int = 8501
    host: str = "0.0.0.0"
    script: Path = ROOT / "streamlit_app.py"
    log: object = sys.stderr
    first_port: int | None = None  # the replicas' ports start here (default: port + 1)
    nginx: str | None = None
    env: dict[str, str] = field(default_factory=dict)  # more environment for the replicas (their cache folder ...)
    extra_args: list[str] = field(default_factory=list)  # more server flags for the replicas
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="explainer-serve-")))
    _replicas: list[Replica] = field(default_factory=list)
    _proxy: subprocess.Popen | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _secret: str = field(default_factory=lambda: secrets.token_hex(32))

    def __post_init__(self) -> None:
        if not 1 <= self.replicas <= MAX_REPLICAS:
            raise ServeError("serve.err_replicas", most=MAX_REPLICAS, n=self.replicas)
        self.nginx = self.nginx or find_nginx()
        if self.nginx is None:
            raise ServeError("serve.err_no_nginx")
        start = self.first_port or self.port + 1
        self._replicas = [Replica(start + i) for i in range(self.replicas)]

    # --- the parts ---------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        print(text, file=self.log, flush=True)

    def _environment(self) -> dict[str, str]:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        env = {**os.environ, **self.env}
        env.setdefault("EXPLAINER_THREADS", str(max(1, cores // self.replicas)))
        env.setdefault("MALLOC_ARENA_MAX", str(HEAPS))  # from the first allocation (explainer/memory.py)
        env.setdefault("STREAMLIT_SERVER_COOKIE_SECRET", self._secret)  # (Streamlit takes it only from here or a file)
        return env

    def _start_replica(self, replica: Replica) -> None:
        log = open(self.folder / f"replica-{replica.port}.log", "ab")  # noqa: SIM115 - kept open by the child
        replica.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(self.script), "--server.port", str(replica.port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
             *self.extra_args],
            cwd=self.script.parent, stdout=log, stderr=subprocess.STDOUT, env=self._environment(), start_new_session=True)
        replica.failures = 0

    def _wait_healthy(self, replica: Replica, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if replica.process is not None and replica.process.poll() is not None:
                raise ServeError("serve.err_replica_died", port=replica.port, log=str(self.folder / f"replica-{replica.port}.log"))
            if healthy(replica.port):
                return
            time.sleep(0.3)
        raise ServeError("serve.err_replica_slow", port=replica.port, seconds=int(timeout))

    def _start_proxy(self) -> None:
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.folder / sub).mkdir(exist_ok=True)
        conf = self.folder / "nginx.conf"
        conf.write_text(nginx_config(self.port, [r.port for r in self._replicas], self.folder, self.host), encoding="utf-8")
        self._proxy = subprocess.Popen([self.nginx, "-c", str(conf), "-p", str(self.folder), "-g", "daemon off;"],
                                       stdout=subprocess.DEVNULL, stderr=open(self.folder / "nginx.log", "ab"),  # noqa: SIM115
                                       start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._proxy.poll() is not None:
                raise ServeError("serve.err_proxy", log=(self.folder / "nginx.log").read_text(errors="replace")[-300:])
            if healthy(self.port):
                return
            time.sleep(0.2)
        raise ServeError("serve.err_proxy", log=(self.folder / "nginx.log").read_text(errors="replace")[-300:])

    # --- the whole -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start every replica, wait for their health, then the proxy."""
        try:
            for replica in self._replicas:
                self._start_replica(replica)
            for replica in self._replicas:
                self._wait_healthy(replica)
                self._say(f"replica on 127.0.0.1:{replica.port}: healthy")
            self._start_proxy()
        except BaseException:
            self.stop()
            raise
        self._say(f"serving {self.replicas} replicas at http://{self.host}:{self.port} (nginx; Ctrl-C stops everything)")

    def check(self) -> list[int]:
        """One round of watching: restart any replica that exited or failed three health checks in a row; their ports."""
        restarted = []
        for replica in self._replicas:
            dead = replica.process is None or replica.process.poll() is not None
            if not dead and not healthy(replica.port, timeout=3):
                replica.failures += 1
                dead = replica.failures >= 3
                if dead:
                    _terminate(replica.process)
            elif not dead:
                replica.failures = 0
            if dead and not self._stop.is_set():
                replica.restarts += 1
                self._say(f"replica on 127.0.0.1:{replica.port} stopped: starting it again (restart {replica.restarts})")
                self._start_replica(replica)
                restarted.append(replica.port)
        if self._proxy is not None and self._proxy.poll() is not None and not self._stop.is_set():
            self._say("nginx stopped: starting it again")
            self._start_proxy()
        return restarted

    def watch(self, every: float = 2.0) -> None:
        """Check the replicas every ``every`` seconds until :meth:`stop`."""
        while not self._stop.wait(every):
            self.check()

    def stop(self) -> None:
        """Stop the proxy, then every replica (politely, then firmly)."""
        self._stop.set()
        _terminate(self._proxy)
        for replica in self._replicas:
            _terminate(replica.process)
        shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def replica_ports(self) -> list[int]:
        return [r.port for r in self._replicas]

    def replica_pid(self, port: int) -> int | None:
        replica = next((r for r in self._replicas if r.port == port), None)
        return replica.process.pid if replica and replica.process else None

    def restarts(self, port: int) -> int:
        return next((r.restarts for r in self._replicas if r.port == port), 0)


def _terminate(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(5)


def run(replicas: int, port: int, host: str = "0.0.0.0") -> None:
    """The ``serve`` command: start, watch, and stop everything on Ctrl-C or SIGTERM."""
    server = Server(replicas=replicas, port=port, host=host)
    signal.signal(signal.SIGTERM, lambda *_: server._stop.set())
    server.start()
    try:
        server.watch()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        print("stopped", file=sys.stderr)
