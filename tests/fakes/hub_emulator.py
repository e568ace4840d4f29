"""A local HTTP emulator of the few Hugging Face Hub endpoints an upload uses.

    POST /api/repos/create                          create a model repo (409 when it exists)
    POST /api/validate-yaml                         a README.md's metadata is always fine
    POST /api/models/{ns}/{name}/preupload/{rev}    every file is "regular" (no LFS, no xet)
    POST /api/models/{ns}/{name}/commit/{rev}       ndjson: header + base64 files

Point ``HfApi(endpoint=...)`` (or ``HF_ENDPOINT``) at ``HubEmulator.url``.
Requests without ``Authorization: Bearer <token>`` get 401. Committed files
land in ``repos[repo_id][path] = bytes``; every request's path and headers
are kept in ``requests`` (header names in lower case).
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.finetune_http import read_body
from tests.fakes.server import EmulatorServer


@dataclass
class HubEmulator:
    token: str
    repos: dict[str, dict[str, bytes]] = field(default_factory=dict)
    private: dict[str, bool] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    _server: EmulatorServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HubEmulator:
        self._server = EmulatorServer(("127.0.0.1", 0), _Handler)
        self._server.hub = self  # type: ignore[attr-defined]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._reply(404, {"error": f"not emulated: GET {self.path}"})

    def do_POST(self) -> None:
        hub: HubEmulator = self.server.hub
        body = self._body()
        hub.requests.append(("POST", self.path, {k.lower(): v for k, v in self.headers.items()}))
        if self.headers.get("Authorization") != f"Bearer {hub.token}":
            self._reply(401, {"error": "Invalid credentials in Authorization header"})
            return
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        if parts == ["api", "validate-yaml"]:  # a README.md's model card metadata
            self._reply(200, {"errors": [], "warnings": []})
        elif parts == ["api", "repos", "create"]:
            self._create(hub, json.loads(body))
        elif len(parts) == 6 and parts[:2] == ["api", "models"] and parts[4] == "preupload":
            files = json.loads(body)["files"]
            self._reply(
                200,
                {
                    "files": [
                        {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                        for f in files
                    ]
                },
            )
        elif len(parts) == 6 and parts[:2] == ["api", "models"] and parts[4] == "commit":
            self._commit(hub, f"{parts[2]}/{parts[3]}", body)
        else:
            self._reply(404, {"error": f"not emulated: POST {self.path}"})

    def _create(self, hub: HubEmulator, payload: dict[str, Any]) -> None:
        repo = f"{payload.get('organization') or 'me'}/{payload['name']}"
        url = {"url": f"{hub.url}/{repo}", "name": repo, "id": repo}
        if repo in hub.repos:
            self._reply(409, {"error": "You already created this model repo", **url})
            return
        hub.repos[repo] = {}
        hub.private[repo] = payload.get("visibility") == "private" or bool(payload.get("private"))
        self._reply(200, url)

    def _commit(self, hub: HubEmulator, repo: str, body: bytes) -> None:
        if repo not in hub.repos:
            self._reply(404, {"error": f"Repository {repo} not found"})
            return
        for line in body.splitlines():
            item = json.loads(line)
            if item["key"] == "file":
                value = item["value"]
                hub.repos[repo][value["path"]] = base64.b64decode(value["content"])
        self._reply(
            200, {"commitUrl": f"{hub.url}/{repo}/commit/{'0' * 40}", "commitOid": "0" * 40}
        )

    def _body(self) -> bytes:
        return read_body(self)

    def _reply(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
