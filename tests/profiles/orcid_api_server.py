"""A stand-in for ORCID's public API on 127.0.0.1: the only thing these tests mock.

It answers `GET /v3.0/{iD}/record` with the recorded response in
../shared/data/orcid/ for that iD (404 with ORCID's error body for others),
over real HTTP, so the site's own client (works.orcid_api) talks to it in
the test process and in a worker process alike (ORCID_API_URL).
"""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ORCID = "0000-0002-4110-3511"


@contextmanager
def orcid_api(shared_data: Path) -> Iterator[str]:
    """Serve the recorded records; yields the API's base URL (…/v3.0)."""
    records = {
        path.stem.removeprefix("record-v3-"): path.read_bytes()
        for path in (shared_data / "orcid").glob("record-v3-*.json")
    }
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            parts = self.path.strip("/").split("/")
            body = records.get(parts[1]) if len(parts) == 3 and parts[2] == "record" else None
            if body is None:
                body = json.dumps({"response-code": 404, "user-message": "not found"}).encode()
                self.send_response(404)
            else:
                self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v3.0"
    finally:
        server.shutdown()
        server.server_close()
