"""Creating (or finding) the Hub repository a run pushes to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._client import hub_api, resolve_token


def repo_name(args: Any) -> str:
    """``args.hub_model_id``, else the name of ``args.output_dir``.

    A name without a namespace (no ``"/"``) is placed by the Hub under the namespace of the
    user owning the token.
    """
    if args.hub_model_id:
        return args.hub_model_id
    return Path(args.output_dir).absolute().name


def init_repo(args: Any, token: str | None = None) -> str:
    """Create the model repository for this run on the Hub, or reuse it if it exists.

    Args:
        args: the ``TrainingArguments``; ``hub_model_id`` (or ``output_dir``) names the
            repository and ``hub_private_repo`` sets its visibility when it is created
            (``None`` follows the account's default).
        token: a token with write access; defaults to ``args.hub_token``, then to the saved login.

    Returns:
        The full repository id, ``"namespace/name"``.
    """
    url = hub_api().create_repo(
        repo_name(args),
        token=resolve_token(token, args),
        private=args.hub_private_repo,
        exist_ok=True,
    )
    return url.repo_id
