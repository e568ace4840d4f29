"""Pushing a local run's result to the Hugging Face Hub: the adapter, or the merged model.

``push_run(folder, "user/name")`` creates the model repo if needed
(``HfApi.create_repo(exist_ok=True)``) and uploads the folder
(``HfApi.upload_folder``): ``output/adapter/`` (``output/model/`` for a full
fine-tune), or ``output/merged/`` with ``merged=True``.

The token comes from ``HF_TOKEN`` or the one huggingface_hub stored at
``hf auth login`` (``huggingface_hub.get_token``); finetune-tui never writes
it anywhere, and every message it builds from an error is passed through
``redact`` first. The endpoint is ``HF_ENDPOINT`` read at call time (so a
mirror or a test emulator can be set after import), else huggingface.co.
A host that does not answer is reported at once (one TCP connect) instead
of after huggingface_hub's retries.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from backends import registry
from backends.backend import BackendError
from backends.local.merge import adapter_dir, merged_dir
from backends.local.settings import LocalSettings
from backends.runs import RunFolder
from backends.runs.values import RunState

DEFAULT_ENDPOINT = "https://huggingface.co"
REACH_TIMEOUT_S = 5.0
NO_TOKEN = (
    "No Hugging Face token: set HF_TOKEN in the environment (a token with write access, made at "
    "https://huggingface.co/settings/tokens), or run `hf auth login` once. finetune-tui reads it "
    "from there and never stores it."
)
_REPO_RE = re.compile(r"^[A-Za-z0-9][\w.\-]{0,95}/[A-Za-z0-9][\w.\-]{0,95}$")
_TOKEN_RE = re.compile(r"hf_[A-Za-z0-9]{6,}")


class PushRefused(BackendError):
    """Nothing was sent: no token, a bad repo name, or nothing to push yet."""


class PushFailed(BackendError):
    """The Hub (or the network) said no; the message names the repo and endpoint."""


@dataclass(frozen=True)
class PushResult:
    repo: str
    url: str
    source: Path
    files: int


def hub_token() -> str | None:
    """``HF_TOKEN`` or huggingface_hub's stored token; ``None`` when there is none."""
    from huggingface_hub import get_token

    token = get_token()
    return token.strip() if token and token.strip() else None


def hub_endpoint() -> str:
    """``HF_ENDPOINT`` as it is now (huggingface_hub reads it only at import)."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def redact(text: str, token: str | None) -> str:
    """``text`` without the token (nor anything shaped like a Hugging Face token)."""
    if token:
        text = text.replace(token, "hf_***")
    return _TOKEN_RE.sub("hf_***", text)


def check_repo_id(repo: str) -> str:
    """``repo`` if it reads like ``user/name``; raises ``PushRefused`` saying what is wrong."""
    repo = repo.strip()
    if not _REPO_RE.match(repo) or ".." in repo or repo.endswith((".", "-")):
        raise PushRefused(
            f"{repo!r} is not a Hugging Face repo id: use USER/NAME (or ORG/NAME), letters, digits, "
            "'-', '_' and '.', e.g. alice/smollm2-support-lora."
        )
    return repo


def push_source(folder: RunFolder, *, merged: bool = False) -> Path:
    """The folder that would be uploaded; raises ``PushRefused`` when there is none yet."""
    run = folder.run_id
    spec = folder.read_spec()
    if not registry.is_local(spec.backend):
        raise PushRefused(
            f"Run {run} was trained on {spec.backend}: its model lives with the provider, "
            "there are no local files to push."
        )
    state = folder.effective_status().state
    if state not in (RunState.SUCCEEDED, RunState.CANCELLED):
        raise PushRefused(f"Run {run} is {state.value}: push a run once it has succeeded.")
    if merged:
        source = merged_dir(folder)
        hint = f"`finetune-tui merge {run}` makes it."
    elif LocalSettings.from_spec(spec).uses_adapter:
        source = adapter_dir(folder)
        hint = f"`finetune-tui resume {run}` trains on and saves it."
    else:
        source = folder.output_dir / "model"
        hint = ""
    if not source.is_dir() or not any(source.iterdir()):
        raise PushRefused(f"Run {run} has nothing at {source} to push.", hint=hint)
    return source


def push_run(
    folder: RunFolder,
    repo: str,
    *,
    merged: bool = False,
    private: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> PushResult:
    """Create ``repo`` (if needed) and upload the run's adapter or merged model to it."""
    from backends.local.models import hf_offline, hub_unreachable

    repo = check_repo_id(repo)
    source = push_source(folder, merged=merged)
    token = token or hub_token()
    if not token:
        raise PushRefused(NO_TOKEN)
    endpoint = (endpoint or hub_endpoint()).rstrip("/")
    where = f"{repo} at {endpoint}"
    if hf_offline():
        raise PushRefused(
            f"Cannot push to {where}: HF_HUB_OFFLINE is set, which forbids any request to the Hub.",
            hint="Unset HF_HUB_OFFLINE (and TRANSFORMERS_OFFLINE) to push.",
        )
    unreachable = hub_unreachable(REACH_TIMEOUT_S, endpoint)
    if unreachable:
        raise PushFailed(
            f"Cannot push to {where}: the Hub cannot be reached ({unreachable}).",
            hint="Check the network (or HF_ENDPOINT), then push again.",
            retryable=True,
        )
    say = progress or (lambda _text: None)
    files = sum(1 for p in source.rglob("*") if p.is_file())
    try:
        from huggingface_hub import HfApi
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()  # no bars on the terminal the UI draws on
        api = HfApi(endpoint=endpoint, token=token)
        say(f"Creating {where} (if it does not exist)…")
        url = str(api.create_repo(repo, private=private, exist_ok=True))
        say(f"Uploading {files} file(s) from {source}…")
        api.upload_folder(
            repo_id=repo,
            folder_path=str(source),
            commit_message=f"finetune-tui: run {folder.run_id} ({source.name})",
        )
    except Exception as error:  # network, auth, quota: all end in a message, never a traceback
        raise PushFailed(redact(_explain(error, where), token)) from None
    folder.log(f"Pushed {source} to {url}.")
    return PushResult(repo, url, source, files)


def _explain(error: Exception, where: str) -> str:
    status = getattr(getattr(error, "response", None), "status_code", None)
    detail = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
    if status == 401:
        return (
            f"The Hub refused the token for {where} (401 Unauthorized): it is invalid or expired. "
            "Make a token with write access at https://huggingface.co/settings/tokens and set HF_TOKEN."
        )
    if status == 403:
        return (
            f"The token may not write to {where} (403 Forbidden): use a write token, and a "
            "namespace it belongs to."
        )
    if status is not None:
        return f"The Hub answered {status} while pushing to {where}: {detail}"
    return f"Cannot push to {where}: {type(error).__name__}: {detail}"
