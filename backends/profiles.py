"""Provider profiles of OpenAI-compatible fine-tuning APIs: built in, and the user's ``providers.toml``.

A profile is what the ``compatible`` backend needs to drive a provider that speaks the OpenAI
fine-tuning API (files, ``fine_tuning.jobs``, events, checkpoints) at another address: its
name, label, base URL, the environment variable holding its key, the models it tunes (the API's
``/models`` answers too, when it does), what it supports (DPO? pause? checkpoints?) and
training prices where known. The registry turns each profile into one backend entry; this
module imports nothing of ``backends.hosted`` so the registry may read it.

``providers.toml`` in the config folder (``backends.locations.config_dir()``)::

    [providers.acme]
    label = "Acme AI"                       # optional: the name otherwise
    base_url = "https://api.acme.example/v1"
    key_env = "ACME_API_KEY"
    models = ["acme/llama-3.1-8b"]          # optional
    dpo = false                             # optional, default false
    pause = false                           # optional, default false
    checkpoints = true                      # optional, default true
    prices = { "acme/llama-3.1-8b" = 0.5 }  # optional: $ per 1M training tokens

A file that cannot be read, or a profile with a bad value, is skipped with a message
(``problems()``) naming the file and the profile; the other profiles still load.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backends.locations import config_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

PROVIDERS_FILE = "providers.toml"
NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Profile:
    name: str
    """``--backend NAME`` and the ``backend`` of its runs."""
    label: str
    base_url: str
    key_env: str
    models: tuple[str, ...] = ()
    dpo: bool = False
    pause: bool = False
    checkpoints: bool = True
    prices: tuple[tuple[str, float], ...] = ()
    """``(model, $ per 1M training tokens)`` where known."""
    source: str = ""
    """Where the profile comes from: a documentation page, or the user's file."""

    def price(self, model: str) -> float | None:
        return next((price for name, price in self.prices if name == model), None)


NEBIUS = Profile(
    name="nebius",
    label="Nebius Token Factory",
    # Base URL and key variable from the API introduction of Nebius Token Factory's docs
    # (https://docs.tokenfactory.nebius.com/api-reference/introduction).
    base_url="https://api.tokenfactory.nebius.com/v1/",
    key_env="NEBIUS_API_KEY",
    # Models its fine-tuning docs name (LoRA and full); the API's /models says the rest.
    models=("meta-llama/Meta-Llama-3.1-8B-Instruct", "meta-llama/Llama-3.3-70B-Instruct"),
    # DPO and pausing are not in its public fine-tuning docs as read; a user profile named
    # "nebius" in providers.toml replaces this one when that changes. Prices: not listed per
    # token in a form we could date, so "price unknown".
    dpo=False,
    pause=False,
    checkpoints=True,
    source="https://docs.tokenfactory.nebius.com/api-reference/introduction",
)
BUILT_IN = (NEBIUS,)


def providers_file() -> Path:
    return config_dir() / PROVIDERS_FILE


_cache: dict[tuple[str, int], tuple[tuple[Profile, ...], tuple[str, ...]]] = {}


def _load(path: Path) -> tuple[tuple[Profile, ...], tuple[str, ...]]:
    """The user's profiles in ``path`` and what was wrong (cached while the file is unchanged)."""
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        return (), ()
    except OSError as error:
        return (), (f"Could not read {path}: {error.strerror or error}.",)
    key = (str(path), stamp)
    if key not in _cache:
        _cache.clear()
        _cache[key] = parse(path)
    return _cache[key]


def parse(path: Path) -> tuple[tuple[Profile, ...], tuple[str, ...]]:
    """Read ``path``: the valid profiles, and one message per problem (file and profile named)."""
    from backends.files import read_regular_file

    try:
        data = tomllib.loads(read_regular_file(path).decode("utf-8"))
    except (OSError, ValueError) as error:  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
        return (), (f"{path} is not a valid providers file ({error}); its profiles are ignored.",)
    table = data.get("providers", {})
    if not isinstance(table, dict):
        return (), (f"{path}: [providers] must be a table of profiles.",)
    profiles: list[Profile] = []
    problems: list[str] = []
    for name, values in table.items():
        try:
            profiles.append(_profile(name, values, path))
        except ValueError as error:
            problems.append(f"{path}: profile {name!r}: {error}")
    return tuple(profiles), tuple(problems)


def _profile(name: str, values: Any, path: Path) -> Profile:
    if not NAME_RE.match(name):
        raise ValueError("the name must be lower-case letters, digits, '-' or '_' (≤ 32).")
    if not isinstance(values, dict):
        raise ValueError("must be a table.")
    base_url = values.get("base_url")
    if not isinstance(base_url, str) or not base_url.startswith(("https://", "http://")):
        raise ValueError("base_url must be an http(s) address.")
    key_env = values.get("key_env")
    if not isinstance(key_env, str) or not ENV_RE.match(key_env):
        raise ValueError("key_env must name an environment variable (e.g. ACME_API_KEY).")
    label = values.get("label", name)
    models = values.get("models", [])
    if not isinstance(label, str) or not label.strip():
        raise ValueError("label must be text.")
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise ValueError("models must be a list of model ids.")
    flags = {}
    for flag, default in (("dpo", False), ("pause", False), ("checkpoints", True)):
        value = values.get(flag, default)
        if not isinstance(value, bool):
            raise ValueError(f"{flag} must be true or false.")
        flags[flag] = value
    prices = values.get("prices", {})
    if not isinstance(prices, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in prices.values()
    ):
        raise ValueError("prices must map model ids to $ per 1M training tokens.")
    return Profile(
        name=name,
        label=label.strip(),
        base_url=base_url,
        key_env=key_env,
        models=tuple(models),
        prices=tuple((str(k), float(v)) for k, v in prices.items()),
        source=str(path),
        **flags,
    )


def profiles() -> tuple[Profile, ...]:
    """The built-in profiles, then the user's (a user profile replaces a built-in of its name)."""
    user, _ = _load(providers_file())
    names = {p.name for p in user}
    return (*(p for p in BUILT_IN if p.name not in names), *user)


def problems() -> tuple[str, ...]:
    """What is wrong in ``providers.toml`` (empty: nothing, or no file)."""
    return _load(providers_file())[1]


def find(name: str) -> Profile | None:
    return next((p for p in profiles() if p.name == name), None)
