# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A local HTTP receiver on 127.0.0.1 standing for the notification services that speak HTTP (Apprise's
``json://``, ``ntfy://``, ``gotify://``, ``mmost://`` pointed at it): every request is recorded (method, path,
headers, body). ``mode`` says how it answers: ``ok`` (200 with ``{}``), ``refuse`` (500), ``hang`` (answers
nothing until it is stopped)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class HttpReceiver:
    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.requests: list[Request] = []
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                receiver.requests.append(Request(self.command, self.path, dict(self.headers.items()), body))
                if receiver.mode == "hang":
                    receiver.released.wait(60)
                    return
                status = 200 if receiver.mode == "ok" else 500
                payload = b"{}" if status == 200 else b'{"error": "refused by the test receiver"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_GET = do_PUT = _handle

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def paths(self) -> list[str]:
        return [request.path for request in self.requests]

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> HttpReceiver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main() -> None:
    """Run a receiver until killed: ``http_receiver.py --mode ok --port-file F --record F.jsonl`` (one JSON line
    per request: method, path, headers, body)."""
    import argparse
    import signal
    import time

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=["ok", "refuse", "hang"], default="ok")
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--record", required=True)
    args = parser.parse_args()
    receiver = HttpReceiver(args.mode)
    recorded = 0

    def flush() -> None:
        nonlocal recorded
        with open(args.record, "a", encoding="utf-8") as handle:
            for request in receiver.requests[recorded:]:
                line = dict(method=request.method, path=request.path, headers=request.headers, body=request.text)
                handle.write(json.dumps(line) + "\n")
        recorded = len(receiver.requests)

    def terminate(_signum: int, _frame: object) -> None:
        # Raise, never take a lock here: the main thread may hold it (Event.set in a handler can deadlock).
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, terminate)
    with open(args.port_file, "w", encoding="utf-8") as handle:
        handle.write(f"{receiver.port}\n")
    try:
        while True:
            time.sleep(0.1)
            flush()
    finally:
        flush()
        receiver.stop()


if __name__ == "__main__":
    main()
