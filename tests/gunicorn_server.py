"""gunicorn serving the site under production settings (DEBUG off), for tests that need the
site in a process of its own: its database connections are its own, so a test can break
them without breaking its own.

`Browser` talks to it over HTTP and keeps cookies itself: production cookies are Secure, and
Python's cookie jars would not send them to a plain-HTTP test server.
"""

import contextlib
import html
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
SETTINGS = "tests.gunicorn_settings"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def collect_static(static_root: Path) -> None:
    """Production pages name hashed static files: collect them once, outside the repository."""
    subprocess.run(
        [sys.executable, "-m", "django", "collectstatic", "--noinput", "-v0"],
        cwd=BASE_DIR,
        env={**_base_env(static_root), "DATABASE_URL": "postgres://unused@127.0.0.1:1/unused"},
        check=True,
        capture_output=True,
    )


def _base_env(static_root: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONDONTWRITEBYTECODE": "1",
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "TEST_STATIC_ROOT": str(static_root),
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
    }
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


class GunicornServer:
    """One gunicorn worker with a few threads, like one process of the production web service."""

    def __init__(self, *, database_url: str, static_root: Path, log_path: Path, **env: str):
        self.port = free_port()
        self.log_path = log_path
        environment = {**_base_env(static_root), "DATABASE_URL": database_url, **env}
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "gunicorn", "bzpeer.wsgi"),
                    *("--bind", f"127.0.0.1:{self.port}", "--workers", "1"),
                    *("--worker-class", "gthread", "--threads", "4"),
                    # Its default path is shared by every gunicorn of this user.
                    "--no-control-socket",
                ],
                cwd=BASE_DIR,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_listening(timeout=30)

    def _wait_until_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{self.log()}", pytrace=False)
            time.sleep(0.1)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Response:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: str) -> None:
        self.status, self.headers, self.body = status, headers, body

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.body[:300]!r}>"


class Browser:
    """A visitor: cookies kept between requests, CSRF tokens taken from the pages it read."""

    def __init__(self, server: GunicornServer) -> None:
        self.server = server
        self.cookies: dict[str, str] = {}
        self.csrf_token = ""

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            answer = conn.getresponse()
            text = answer.read().decode(errors="replace")
        finally:
            conn.close()
        for value in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(value).items():
                self.cookies[name] = morsel.value
        if found := re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text):
            self.csrf_token = html.unescape(found.group(1))
        return Response(answer.status, answer.headers, text)

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, data: dict[str, str]) -> Response:
        """A form posted from one of the site's pages (which must have been read first)."""
        return self.request(
            "POST",
            path,
            body=urlencode({"csrfmiddlewaretoken": self.csrf_token, **data}),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": self.origin,
                "Referer": self.origin + path,
            },
        )


class TcpProxy:
    """A TCP proxy to a server, to take away and give back: `stop()` closes every connection
    through it and refuses new ones (like the server going down), `start()` accepts again on
    the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        # A host that is a directory is PostgreSQL's socket directory (the embedded server
        # of `make test` listens only there): its socket is named after the port.
        self.target: str | tuple[str, int] = (
            f"{target_host}/.s.PGSQL.{target_port}"
            if target_host.startswith("/")
            else (target_host, target_port)
        )
        self.port = free_port()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._running = False
        self.start()

    def start(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.1)
        self._running = True
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def stop(self) -> None:
        self._running = False
        self._acceptor.join()
        self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while self._running:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            client.settimeout(None)
            upstream = self._connect()
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _connect(self) -> socket.socket:
        if isinstance(self.target, str):
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            return upstream
        return socket.create_connection(self.target)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
