"""The emulator's HTTP plumbing: URL shapes, authentication, injected faults, dispatch to ``ROUTES``."""

from __future__ import annotations

import json
import math
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.finetune_routes import ROUTES, EventStream, error_body

if TYPE_CHECKING:
    from tests.fakes.finetune_api import FineTuneAPI


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """A request's body, whether sent with a length or chunked (as httpx streams uploads)."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


class EmulatorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # --- plumbing ---------------------------------------------------------
    @property
    def api(self) -> FineTuneAPI:
        return self.server.emulator

    def _body(self) -> bytes:
        return read_body(self)

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header(
            "Content-Type",
            "application/octet-stream" if isinstance(payload, bytes) else "application/json",
        )
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_events(self, stream: EventStream) -> None:
        """Server-sent events, one HTTP chunk each; a client that hangs up ends the stream."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        try:
            for index, event in enumerate(stream.events):
                if index and stream.delay_s:
                    time.sleep(stream.delay_s)
                data = event if isinstance(event, str) else json.dumps(event)
                payload = f"data: {data}\n\n".encode()
                self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:  # the client went away (a cancelled stream)
            self.close_connection = True
            with self.api.lock:
                self.api.chat_streams_dropped += 1
            return
        with self.api.lock:
            self.api.chat_streams_finished += 1

    def _route(self) -> tuple[str, str, dict[str, str]] | None:
        """(flavour, path under the API root, query) or None after answering an error."""
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        if path.startswith("/openai/v1/"):
            return "azure-v1", path[len("/openai/v1") :], query
        if path.startswith("/openai/"):
            if "api-version" not in query:
                self._send(404, {"error": {"code": "404", "message": "Resource not found"}})
                return None
            return "azure", path[len("/openai") :], query
        if path.startswith("/v1/"):
            return "openai", path[len("/v1") :], query
        self._send(404, error_body(f"Unknown path {path}", code="unknown_url"))
        return None

    def _authorised(self, flavour: str) -> bool:
        bearer = self.headers.get("Authorization", "")
        presented = bearer[7:] if bearer.startswith("Bearer ") else None
        api_key = self.headers.get("api-key")
        if flavour == "openai":
            ok = presented == self.api.api_key
        elif flavour == "azure":
            ok = api_key == self.api.api_key or presented == self.api.entra_token
        else:
            ok = api_key == self.api.api_key or presented in (
                self.api.api_key,
                self.api.entra_token,
            )
        if ok:
            return True
        shown = presented or api_key or ""
        if flavour == "openai":
            masked = f"{shown[:3]}*****{shown[-4:]}" if len(shown) > 8 else "(none)"
            self._send(
                401,
                error_body(
                    f"Incorrect API key provided: {masked}. You can find your API key at "
                    "https://platform.openai.com/account/api-keys.",
                    code="invalid_api_key",
                ),
            )
        else:
            self._send(
                401,
                {
                    "error": {
                        "code": "401",
                        "message": "Access denied due to invalid subscription key or wrong API endpoint.",
                    }
                },
            )
        return False

    def _fault(self, method: str, path: str) -> bool:
        with self.api.lock:
            fault = next((f for f in self.api.faults if f.matches(method, path)), None)
            if fault is None:
                return False
            fault.times -= 1
        if fault.drop:
            self.close_connection = True
            self.connection.close()
            return True
        headers = {}
        if fault.retry_after is not None:
            headers["retry-after-ms"] = str(int(fault.retry_after * 1000))
            headers["retry-after"] = str(max(1, math.ceil(fault.retry_after)))
        self._send(fault.status, error_body(fault.message, code=fault.code), headers)
        return True

    def _dispatch(self, method: str) -> None:
        routed = self._route()
        if routed is None:
            return
        flavour, path, query = routed
        body = self._body() if method == "POST" else b""
        with self.api.lock:
            self.api.requests.append((method, path))
        if self._fault(method, path) or not self._authorised(flavour):
            return
        segments = [s for s in path.split("/") if s]
        handler = ROUTES.get(
            (
                method,
                len(segments),
                segments[0] if segments else "",
                segments[-1] if len(segments) > 2 else "",
            )
        )
        if handler is None:
            handler = ROUTES.get((method, len(segments), segments[0] if segments else "", "*"))
        if handler is None:
            self._send(404, error_body(f"Unknown route {method} {path}", code="unknown_url"))
            return
        status, payload = handler(self.api, segments, query, body, self.headers)
        if isinstance(payload, EventStream):
            self._send_events(payload)
            return
        self._send(status, payload)
