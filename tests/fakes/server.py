"""The HTTP server every emulator runs: threaded, and quiet when a client hangs up mid-request."""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer
from typing import Any


class EmulatorServer(ThreadingHTTPServer):
    """A client that drops its connection (as the SDKs do on a timeout) is not an emulator bug."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)
