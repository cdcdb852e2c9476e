"""The ``huggingface_hub`` client shared by every push, and token resolution."""

from __future__ import annotations

import threading
from typing import Any

from huggingface_hub import HfApi, constants

_LOCK = threading.Lock()
_CLIENTS: dict[str, HfApi] = {}


def hub_api() -> HfApi:
    """The ``HfApi`` for the current endpoint (``HF_ENDPOINT``), created once per endpoint.

    Sharing one client matters for background pushes: an ``HfApi`` runs every
    ``run_as_future=True`` call on a single worker thread, so pushes reach the Hub one after
    another, in the order they were started.
    """
    endpoint = constants.ENDPOINT
    with _LOCK:
        api = _CLIENTS.get(endpoint)
        if api is None:
            api = _CLIENTS[endpoint] = HfApi(endpoint=endpoint)
    return api


def resolve_token(token: str | None, args: Any) -> str | None:
    """``token`` if given, else ``args.hub_token``; ``None`` lets ``huggingface_hub`` find the
    user's saved login (``HF_TOKEN`` or ``hf auth login``)."""
    return token if token is not None else getattr(args, "hub_token", None)


def secrets_of(args: Any, *tokens: str | None) -> list[str]:
    """The explicit tokens in play (never the saved login, which no file of ours can hold)."""
    found = [t for t in (*tokens, getattr(args, "hub_token", None)) if t]
    return list(dict.fromkeys(found))


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every secret replaced by a placeholder, for messages that may echo input."""
    for secret in secrets:
        text = text.replace(secret, "<hub_token>")
    return text
