"""A tiny in-process stand-in for the Hugging Face Hub HTTP API, for tests without network.

It answers the handful of endpoints that ``huggingface_hub``'s real client calls to create a
repository and upload files (``whoami-v2``, ``repos/create``, ``validate-yaml``, ``preupload``,
``commit`` and ``models/<id>``), and records every commit so tests can assert on what arrived.
Every file is declared a "regular" upload, so contents travel inline (base64) in the commit
request and no LFS or Xet storage is involved.

Use :func:`serve_fake_hub` inside a fixture: it starts the server in a thread and points the
``huggingface_hub`` client at it for the duration of the test. Tokens are checked but never
stored: the server records which user a request was authenticated as.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

FAKE_TOKEN = "hf_FakeTokenForTestsOnly0123456789abcd"
FAKE_USER = "tester"


@dataclass
class Commit:
    """One commit received by the fake Hub."""

    repo_id: str
    revision: str
    summary: str
    files: dict[str, bytes]
    deleted: list[str]
    user: str | None


@dataclass
class Repo:
    """A repository on the fake Hub: its visibility and the files of each revision."""

    repo_id: str
    private: bool
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)


class FakeHub:
    """State shared by the request handlers: users, repositories, commits and a request log."""

    def __init__(self, tokens: dict[str, str] | None = None) -> None:
        self.tokens = dict(tokens) if tokens is not None else {FAKE_TOKEN: FAKE_USER}
        self.repos: dict[str, Repo] = {}
        self.commits: list[Commit] = []
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, user)
        self.base_models: dict[str, list[str]] = {}  # repo id -> tags, answered by model_info
        self.commit_delay = 0.0  # seconds each commit takes, to keep pushes "in progress"
        self.lock = threading.Lock()
        self.endpoint = ""
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> str:
        """Start serving on a free local port; returns the endpoint URL."""
        handler = type("_BoundHandler", (_Handler,), {"hub": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.endpoint = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self.endpoint

    def stop(self) -> None:
        """Stop the server and wait for its thread."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # ------------------------------------------------------------------ queries for tests
    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """The files of ``repo_id`` at ``revision`` after every commit received so far."""
        with self.lock:
            return dict(self.repos[repo_id].files.get(revision, {}))

    def commits_to(self, repo_id: str) -> list[Commit]:
        """Commits received for ``repo_id``, oldest first."""
        with self.lock:
            return [c for c in self.commits if c.repo_id == repo_id]

    def user_for(self, headers: Any) -> str | None:
        """The user a request's ``Authorization: Bearer`` header belongs to, or ``None``."""
        value = headers.get("Authorization") or ""
        if not value.startswith("Bearer "):
            return None
        return self.tokens.get(value[len("Bearer ") :])


def _split_front_matter(text: str) -> str | None:
    if not text.startswith("---"):
        return None
    parts = text.split("\n---", 1)
    if len(parts) != 2:
        return None
    return parts[0][3:]


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    # ------------------------------------------------------------------ plumbing
    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _not_found(self, code: str = "RepoNotFound") -> None:
        self._reply(404, {"error": "Repository not found"}, {"X-Error-Code": code})

    def _route(self) -> tuple[str, str | None]:
        path = urlsplit(self.path).path
        user = self.hub.user_for(self.headers)
        with self.hub.lock:
            self.hub.requests.append((self.command, path, user))
        return path, user

    # ------------------------------------------------------------------ GET
    def do_GET(self) -> None:
        path, user = self._route()
        self._body()
        if path == "/api/whoami-v2":
            if user is None:
                self._reply(401, {"error": "Invalid credentials in Authorization header"})
                return
            self._reply(200, {"type": "user", "name": user, "auth": {"type": "access_token"}})
            return
        if path.startswith("/api/models/"):
            repo_id = unquote(path[len("/api/models/") :]).split("/revision/")[0]
            tags = self.hub.base_models.get(repo_id)
            if tags is None:
                self._not_found()
                return
            self._reply(200, {"id": repo_id, "sha": "0" * 40, "tags": tags, "private": False})
            return
        self._not_found("EntryNotFound")

    # ------------------------------------------------------------------ POST
    def do_POST(self) -> None:
        path, user = self._route()
        body = self._body()
        if path == "/api/validate-yaml":
            self._validate_yaml(json.loads(body))
            return
        if user is None:
            self._reply(401, {"error": "Invalid credentials in Authorization header"})
            return
        if path == "/api/repos/create":
            self._create_repo(json.loads(body), user)
            return
        if path.startswith("/api/models/") and ("/preupload/" in path or "/commit/" in path):
            rest = path[len("/api/models/") :]
            kind = "preupload" if "/preupload/" in rest else "commit"
            repo_id, revision = rest.split(f"/{kind}/", 1)
            repo_id, revision = unquote(repo_id), unquote(revision)
            with self.hub.lock:
                repo = self.hub.repos.get(repo_id)
            if repo is None:
                self._not_found()
                return
            if kind == "preupload":
                files = json.loads(body)["files"]
                self._reply(
                    200,
                    {
                        "files": [
                            {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                            for f in files
                        ],
                        "commitOid": "0" * 40,
                    },
                )
                return
            self._commit(repo, revision, body, user)
            return
        self._not_found("EntryNotFound")

    def _validate_yaml(self, payload: dict) -> None:
        import yaml

        front = _split_front_matter(payload.get("content", ""))
        try:
            if front is not None:
                yaml.safe_load(front)
        except yaml.YAMLError as exc:
            self._reply(400, {"errors": [{"message": str(exc)}], "warnings": []})
            return
        self._reply(200, {"errors": [], "warnings": []})

    def _create_repo(self, payload: dict, user: str) -> None:
        namespace = payload.get("organization") or user
        repo_id = f"{namespace}/{payload['name']}"
        url = f"{self.hub.endpoint}/{repo_id}"
        with self.hub.lock:
            exists = repo_id in self.hub.repos
            if not exists:
                private = payload.get("visibility") == "private" or bool(payload.get("private"))
                self.hub.repos[repo_id] = Repo(repo_id=repo_id, private=private)
        if exists:
            self._reply(409, {"error": "You already created this model repo", "url": url})
        else:
            self._reply(200, {"url": url, "name": repo_id, "id": repo_id})

    def _commit(self, repo: Repo, revision: str, body: bytes, user: str) -> None:
        summary = ""
        added: dict[str, bytes] = {}
        deleted: list[str] = []
        for line in body.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                summary = value["summary"]
            elif key == "file":
                added[value["path"]] = base64.b64decode(value["content"])
            elif key in ("deletedFile", "deletedFolder"):
                deleted.append(value["path"])
            else:  # the preupload answer never asks for LFS, so nothing else may arrive
                self._reply(400, {"error": f"unexpected commit operation {key!r}"})
                return
        if self.hub.commit_delay:
            import time

            time.sleep(self.hub.commit_delay)
        with self.hub.lock:
            files = repo.files.setdefault(revision, {})
            for path in deleted:
                for name in [n for n in files if n == path or n.startswith(path.rstrip("/") + "/")]:
                    del files[name]
            files.update(added)
            self.hub.commits.append(
                Commit(repo.repo_id, revision, summary, dict(added), deleted, user)
            )
            oid = hashlib.sha1(f"{repo.repo_id}{len(self.hub.commits)}".encode()).hexdigest()
        self._reply(
            200,
            {
                "commitUrl": f"{self.hub.endpoint}/{repo.repo_id}/commit/{oid}",
                "commitOid": oid,
                "success": True,
            },
        )


@contextlib.contextmanager
def serve_fake_hub(monkeypatch: Any) -> Iterator[FakeHub]:
    """Run a :class:`FakeHub` and point ``huggingface_hub`` at it until the block ends.

    ``huggingface_hub`` reads ``HF_ENDPOINT`` once, at import, so setting the variable is not
    enough when the library is already loaded: the module constants are patched as well (the
    client builds every URL from ``constants.ENDPOINT`` when an ``HfApi`` is created). Offline
    mode is switched off and the token lookup is isolated from the user's saved login.
    """
    import huggingface_hub.constants as constants

    hub = FakeHub()
    endpoint = hub.start()
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_OIDC_RESOURCE", raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", "/nonexistent/fake-hub/token")
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(
        constants,
        "HUGGINGFACE_CO_URL_TEMPLATE",
        endpoint + "/{repo_id}/resolve/{revision}/{filename}",
    )
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    try:
        yield hub
    finally:
        hub.stop()
