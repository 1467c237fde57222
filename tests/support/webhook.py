"""A webhook receiver on 127.0.0.1 for the alert tests: records each request, answers with scripted statuses."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SECRET_PATH = "/services/T000/B000/s3cr3t-token"


class _Receiver:
    """A local webhook: answers each POST with the next status of ``statuses`` (then 200) and keeps the bodies."""

    def __init__(self, statuses: list[int], retry_after: str | None = None):
        self.statuses = list(statuses)
        self.retry_after = retry_after
        self.requests: list[dict] = []


@contextmanager
def webhook(statuses: list[int] | None = None, retry_after: str | None = None) -> Iterator[tuple[str, _Receiver]]:
    receiver = _Receiver(statuses or [], retry_after)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {k.lower(): v for k, v in self.headers.items()}
            receiver.requests.append({"path": self.path, "headers": headers, "body": body})
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            self.send_response(status)
            if receiver.retry_after is not None and status == 429:
                self.send_header("Retry-After", receiver.retry_after)
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"no")

        def log_message(self, *args):  # keep the test output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{SECRET_PATH}", receiver
    finally:
        server.shutdown()
        server.server_close()
