"""Exact token counts for local training: the model's own tokenizer through its chat template.

For ``Provider.LOCAL`` the dataset report counts every valid example the way
the local trainer will tokenise it (``backends.local.training.tokenise``):
``apply_chat_template(messages, tools=..., tokenize=True)`` with the template
training uses, and the trained (assistant) tokens from the template's
assistant mask (``{% generation %}`` markers). Then ``tokens``,
``over_limit`` against ``max_length``, the histogram and the billed figures
are exact for that model.

The tokenizer is loaded only from disk, never downloaded: a local model
folder, the dequantised copy of a ``.gguf`` file in finetune-tui's cache (or
the GGUF file itself), or a hub id already in the Hugging Face cache. When it
cannot be loaded, ``LocalTokenizerUnavailable`` says why (the model and where
it looked) and the report falls back to the o200k_base estimate.

transformers is imported inside the functions: the UI starts without it.

``TemplateCounter`` plugs into the scan (``scan.check_values``): the scan
checks each example as usual, hands the valid ones to ``add`` and the counter
re-counts them in batches (one ``apply_chat_template`` call per batch of
examples without tools), overwriting the per-example totals in place. At
most ``BATCH`` examples are held at a time, so memory stays bounded.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from backends.data.chat_template import (
    chatml_training_template,
    for_template,
    renders_tools,
    tools_skipped,
    training_template,
    uses_tools,
)
from backends.data.findings import Finding
from backends.data.formats import ConversionError, DataFormat, to_chat
from backends.data.model_files import (
    DONE_MARKER,
    FOLDER,
    GGUF,
    ModelUnavailable,
    gguf_cache_folder,
    hf_cache_dir,
    resolve_model,
)
from backends.data.preferences import EncodedPair, PreferencePair, encode_pair, to_pair
from backends.data.tokenizer import EncodingChoice
from backends.data.torch_free import refuse_without_torch

if TYPE_CHECKING:
    from backends.data.scan import ChunkResult

ENGINE = "transformers"
BATCH = 128
SHOWN_LINES = 5
_GENERATION_RE = re.compile(r"\{%-?\s*generation\s*-?%\}")


class LocalTokenizerUnavailable(RuntimeError):
    """The model's tokenizer cannot be loaded offline; the message says what was tried."""


@dataclass(frozen=True)
class LocalTokenizer:
    tokenizer: Any
    choice: EncodingChoice


def _has_markers(template: Any) -> bool:
    return isinstance(template, str) and bool(_GENERATION_RE.search(template))


def load_local_tokenizer(model: str) -> LocalTokenizer:
    """The tokenizer of local model ``model``, from disk only; ``LocalTokenizerUnavailable`` otherwise."""
    try:
        resolved = resolve_model(model)
    except ModelUnavailable as exc:
        raise LocalTokenizerUnavailable(str(exc)) from None
    if importlib.util.find_spec("transformers") is None:
        raise LocalTokenizerUnavailable(
            "transformers is not installed (pip install 'finetune-tui[local]')"
        )
    if resolved.kind == FOLDER:
        key = _stamp(Path(resolved.path))
        return _load(resolved.name, resolved.path, None, f"local model folder {resolved.path}", key)
    if resolved.kind == GGUF:
        converted = gguf_cache_folder(resolved)
        if (converted / DONE_MARKER).is_file():
            return _load(
                resolved.name,
                str(converted),
                None,
                f"dequantised GGUF copy {converted}",
                _stamp(converted),
            )
        file = Path(resolved.path) / str(resolved.gguf_file)
        return _load(
            resolved.name, resolved.path, resolved.gguf_file, f"GGUF file {file}", _stamp(file)
        )
    return _load_hub(resolved.path)


def _stamp(path: Path) -> str:
    """Changes when the files change, so an edited tokenizer is loaded again."""
    try:
        stamps = [
            f"{p.name}:{p.stat().st_mtime_ns}:{p.stat().st_size}"
            for p in ([path] if path.is_file() else sorted(path.iterdir()))
            if p.is_file() and (p.suffix in (".json", ".gguf", ".model", ".jinja", ".txt"))
        ]
    except OSError:
        return ""
    return "|".join(stamps)


def _load_hub(repo_id: str) -> LocalTokenizer:
    from huggingface_hub import try_to_load_from_cache

    cached = [
        isinstance(try_to_load_from_cache(repo_id, name), str)
        for name in ("tokenizer_config.json", "tokenizer.json")
    ]
    if not any(cached):
        raise LocalTokenizerUnavailable(
            f"{repo_id} is not in the Hugging Face cache ({hf_cache_dir()}); no download is tried "
            f"(`hf download {repo_id}` or set the model to a local folder)"
        )
    return _load(repo_id, repo_id, None, f"Hugging Face cache {hf_cache_dir()}", "")


@lru_cache(maxsize=4)
def _load(name: str, path: str, gguf_file: str | None, where: str, stamp: str) -> LocalTokenizer:
    del stamp  # only part of the cache key
    try:
        from transformers import AutoTokenizer
    except Exception as exc:  # a broken install must not break the report
        refuse_without_torch("transformers did not import without torch")
        raise LocalTokenizerUnavailable(
            f"transformers cannot be imported ({type(exc).__name__}: {exc})"
        ) from None
    kwargs: dict[str, Any] = {"local_files_only": True}
    if gguf_file is not None:
        kwargs["gguf_file"] = gguf_file
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
    except Exception as exc:
        refuse_without_torch(f"the tokenizer of {name} did not load without torch")
        raise LocalTokenizerUnavailable(
            f"the tokenizer of {name} could not be loaded from {where} "
            f"({type(exc).__name__}: {str(exc)[:200]})"
        ) from None
    choice = EncodingChoice(
        requested=name,
        used=f"{name} tokenizer + chat template",
        engine=ENGINE,
        source=where,
        exact=True,
    )
    return LocalTokenizer(tokenizer, choice)


@dataclass
class _Pending:
    index: int
    """Position in the chunk's per-example arrays."""
    line: int
    record: dict[str, Any] | None
    """Chat record for the template; ``None``: kept with the estimate (unconvertible)."""
    approximate: bool
    pair: PreferencePair | None = None
    """A preference pair (DPO): prompt and both answers are counted the way DPO trains."""


@dataclass
class TemplateCounter:
    """Re-counts valid examples with a local model's tokenizer and chat template (see module doc)."""

    loaded: LocalTokenizer
    context_limit: int | None = None
    batch: int = BATCH
    pending: list[_Pending] = field(default_factory=list)
    template: str | None = None
    """The template to render with (``None``: the tokenizer's own)."""
    assistant_mask: bool = False
    template_note: str = ""
    chosen: bool = False
    counted: int = 0
    estimated: int = 0
    estimated_lines: list[int] = field(default_factory=list)
    failed: int = 0
    failed_lines: list[str] = field(default_factory=list)
    renders_tools: bool = True
    """The training template renders tool calls (``chat_template.renders_tools``, as the worker)."""
    tools_skipped: int = 0
    """Examples local training skips: they use tools the template cannot render."""

    @property
    def tokenizer(self) -> Any:
        return self.loaded.tokenizer

    @property
    def choice(self) -> EncodingChoice:
        return self.loaded.choice

    def add(
        self,
        result: ChunkResult,
        index: int,
        line: int,
        value: dict[str, Any],
        fmt: DataFormat,
        approximate: bool,
    ) -> None:
        record: dict[str, Any] | None = None
        if fmt is DataFormat.DPO:
            try:
                pair = to_pair(value)
            except (ConversionError, ValueError, TypeError, KeyError):
                pair = None
            self.pending.append(_Pending(index, line, None, approximate, pair))
        else:
            try:
                chat = to_chat(value, fmt)
            except (ConversionError, ValueError, TypeError, KeyError):
                chat = None
            if chat is not None:
                record = for_template(chat)
            self.pending.append(_Pending(index, line, record, approximate))
        if len(self.pending) >= self.batch:
            self.flush(result)

    def flush(self, result: ChunkResult) -> None:
        """Count the held examples into ``result`` (totals, assistants, over-limit findings)."""
        pending, self.pending = self.pending, []
        if not pending:
            return
        if not self.chosen:
            self._choose_template([p.record for p in pending if p.record is not None])
        plain = [p for p in pending if p.record is not None and not p.record.get("tools")]
        figures: dict[int, tuple[int, int | None]] = {}
        figures.update(self._count_many(plain))
        for item in pending:
            if item.record is not None and item.record.get("tools"):
                figures.update(self._count_many([item]))
        longest: dict[int, int] = {}
        for item in pending:
            if item.pair is not None:
                counted = self._count_pair(item)
                if counted is not None:
                    figures[item.index] = (
                        counted.total,
                        len(counted.chosen_ids) + len(counted.rejected_ids),
                    )
                    longest[item.index] = counted.longest
        limit = self.context_limit
        for item in pending:
            if item.record is not None and not self.renders_tools and uses_tools(item.record):
                self.tools_skipped += 1
                result.findings.add(
                    Finding("tools_unrendered", item.line, tools_skipped(self.choice.requested))
                )
            got = figures.get(item.index)
            if got is not None:
                total, assistant = got
                result.totals[item.index] = total
                if assistant is not None:
                    result.assistants[item.index] = assistant
                if item.approximate:
                    result.approximate -= 1
                self.counted += 1
            else:
                self.estimated += 1
                if len(self.estimated_lines) < SHOWN_LINES:
                    self.estimated_lines.append(item.line)
            total = result.totals[item.index]
            if item.index in longest:
                pair_length = longest[item.index]
                if limit is not None and pair_length > limit:
                    result.findings.add(
                        Finding(
                            "over_context_limit",
                            item.line,
                            f"{pair_length:,} tokens (prompt + the longer answer), over the "
                            f"{limit:,}-token max length: {pair_length - limit:,} will be truncated",
                        )
                    )
                continue
            if limit is not None and total > limit:
                result.findings.add(
                    Finding(
                        "over_context_limit",
                        item.line,
                        f"{total:,} tokens, over the {limit:,}-token max length: {total - limit:,} will be truncated",
                    )
                )

    # -- internals ---------------------------------------------------------------------------
    def _choose_template(self, samples: list[dict[str, Any]]) -> None:
        """The template training will use (the same choice as ``training_template``)."""
        self.chosen = True
        try:
            self._pick_template(samples)
        finally:
            try:
                self.renders_tools = renders_tools(self.tokenizer, self.template)
            except Exception:  # a template that breaks on the probe renders no tools
                self.renders_tools = False

    def _pick_template(self, samples: list[dict[str, Any]]) -> None:
        own = getattr(self.tokenizer, "chat_template", None)
        if _has_markers(own):
            self.assistant_mask = True
            return
        try:
            picked = training_template(self.tokenizer, samples)
        except ImportError:
            if not own:
                self.template = chatml_training_template(None)
                self.assistant_mask = True
                self.template_note = "the model has no chat template: counted with ChatML markup"
            else:
                self.template_note = (
                    "trl is not installed, so no training template with assistant markers "
                    "could be picked"
                )
            return
        except Exception as exc:
            self.template_note = f"the training template could not be chosen ({exc})"
            return
        self.template = picked.template
        self.assistant_mask = picked.assistant_only
        if not own:
            self.template_note = "the model has no chat template: counted with ChatML markup"
        elif not picked.assistant_only:
            self.template_note = picked.note

    def _count_pair(self, item: _Pending) -> EncodedPair | None:
        """The pair's prompt and answers in this tokenizer, as local DPO tokenises them."""
        assert item.pair is not None
        template = self.template or getattr(self.tokenizer, "chat_template", None)
        if not template:
            template = chatml_training_template(None)
        try:
            return encode_pair(self.tokenizer, item.pair, template=template)
        except Exception as exc:
            self.failed += 1
            if len(self.failed_lines) < SHOWN_LINES:
                self.failed_lines.append(
                    f"line {item.line}: {type(exc).__name__}: {str(exc)[:120]}"
                )
            return None

    def _render(self, records: list[dict[str, Any]], tools: Any) -> tuple[list[int], list[Any]]:
        kwargs: dict[str, Any] = {"tokenize": True, "return_dict": True}
        if self.template is not None:
            kwargs["chat_template"] = self.template
        if tools is not None:
            kwargs["tools"] = tools
        if self.assistant_mask:
            kwargs["return_assistant_tokens_mask"] = True
        conversations = [r["messages"] for r in records]
        encoded = self.tokenizer.apply_chat_template(conversations, **kwargs)
        ids = encoded["input_ids"]
        lengths = [len(x) for x in ids]
        masks = list(encoded["assistant_masks"]) if self.assistant_mask else []
        return lengths, masks

    def _count_many(self, items: list[_Pending]) -> dict[int, tuple[int, int | None]]:
        if not items:
            return {}
        records = [i.record for i in items if i.record is not None]
        tools = records[0].get("tools") if len(records) == 1 else None
        if isinstance(tools, str):
            try:
                tools = orjson.loads(tools)
            except orjson.JSONDecodeError:
                tools = None
        if tools is not None and not self.renders_tools:
            tools = None
        try:
            lengths, masks = self._render(records, tools)
        except Exception as exc:
            if len(items) > 1:  # one bad example must not cost the batch
                out: dict[int, tuple[int, int | None]] = {}
                for item in items:
                    out.update(self._count_many([item]))
                return out
            self.failed += 1
            if len(self.failed_lines) < SHOWN_LINES:
                self.failed_lines.append(
                    f"line {items[0].line}: {type(exc).__name__}: {str(exc)[:120]}"
                )
            return {}
        if masks:
            assistants: list[int | None] = [int(sum(m)) for m in masks]
        else:
            assistants = self._assistant_text_tokens(records)
        return {item.index: (lengths[n], assistants[n]) for n, item in enumerate(items)}

    def _assistant_text_tokens(self, records: list[dict[str, Any]]) -> list[int | None]:
        """Without an assistant mask: the assistant replies' text in this tokenizer (approximate)."""
        texts = [
            "".join(
                m["content"] if isinstance(m.get("content"), str) else ""
                for m in r["messages"]
                if m.get("role") == "assistant"
            )
            for r in records
        ]
        try:
            encoded = self.tokenizer(texts, add_special_tokens=False)["input_ids"]
        except Exception:
            return [None] * len(records)
        return [len(ids) for ids in encoded]

    def notes(self) -> list[str]:
        """Approximations left in the figures (empty when every count is exact)."""
        notes: list[str] = []
        name = self.choice.requested
        if self.counted and not self.assistant_mask:
            why = f" ({self.template_note})" if self.template_note else ""
            notes.append(
                f"{name}'s chat template has no assistant markers{why}: assistant tokens are "
                "the replies' text in its tokenizer, without the template's markup (approximate)."
            )
        if self.estimated:
            shown = ", ".join(map(str, self.estimated_lines))
            detail = f"; {'; '.join(self.failed_lines)}" if self.failed_lines else ""
            notes.append(
                f"{self.estimated:,} example(s) could not go through {name}'s chat template "
                f"(lines {shown}{'…' if self.estimated > len(self.estimated_lines) else ''}"
                f"{detail}): estimated with o200k_base."
            )
        return notes


def describe_unavailable(model: str, why: str, estimate: str) -> str:
    return (
        f"Local models count with their own tokenizer and chat template, but {model}'s could not "
        f"be loaded: {why}. These figures use {estimate} as an estimate."
    )
