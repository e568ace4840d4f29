"""Try it: the base and the tuned model as chat models, resolved as an evaluation resolves them.

``chat_sides`` never raises for bad input: a side whose model cannot be built
carries its ``problem`` (shown in its pane, or printed by ``finetune-tui chat``).
The tuned pane may talk to a GGUF export of the tuned run instead (``export``),
on the CPU; ``gguf_choices`` lists them.
``conversation`` builds a turn's messages; ``describe`` says a reply's tokens
and latency in a line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from backends import registry
from backends.backend import BackendError
from backends.evaluate.chat import ChatModel, Reply
from backends.evaluate.connections import runner_for
from backends.evaluate.gguf_exports import GgufExport, gguf_export, gguf_export_names
from backends.evaluate.request import EvalRequest, UsageProblem, guess_provider
from backends.evaluate.runners import Runner
from backends.evaluate.setup import tuned_model

NO_TUNED = (
    "No tuned model chosen: set “Tuned model” in Evaluate › Setup (a run id, an ft:… "
    "name or a model folder), or start with finetune-tui chat --tuned RUN|MODEL. "
    "The base model answers meanwhile."
)
BASE, TUNED = "base", "tuned"


@dataclass
class Side:
    """One pane's model, or why there is none."""

    name: str
    """``base`` or ``tuned``."""
    model: ChatModel | None = None
    problem: str = ""

    @property
    def error(self) -> bool:
        """The model could not be built (not merely left unchosen)."""
        return bool(self.problem) and self.problem != NO_TUNED

    @property
    def title(self) -> str:
        label = self.model.label if self.model is not None else ""
        return f"{self.name}: {label}" if label else self.name


def chat_for(
    runner: Runner, *, max_tokens: int, clock: Callable[[], float] | None = None
) -> ChatModel:
    """The chat model of an evaluation runner: the same model, key, settings or adapter."""
    from backends.evaluate.chat import HostedChat
    from backends.evaluate.local_chat import LocalChat

    timing = {"clock": clock} if clock is not None else {}
    if runner.hosted:
        hosted = HostedChat.from_runner(runner, **timing)
        hosted.max_tokens = max_tokens
        return hosted
    local = LocalChat.from_runner(runner, **timing)
    local.max_new_tokens = max_tokens
    return local


def chat_sides(
    *,
    model: str,
    provider: str | None,
    tuned: str | None,
    workspace: str | None,
    secret: str | None = None,
    max_tokens: int = 512,
    clock: Callable[[], float] | None = None,
    export: str | None = None,
) -> tuple[Side, Side]:
    """The base and tuned chat models, resolved as ``finetune-tui eval`` resolves them.

    ``export`` names a GGUF export of the tuned run: the tuned pane talks to that file instead.
    """
    where = provider or (guess_provider(model) if model else registry.DEFAULT_HOSTED)
    request = EvalRequest(
        data="",
        model=model,
        provider=where,
        tuned=tuned or None,
        max_tokens=max_tokens,
        workspace=workspace,
        secret=secret or None,
    )

    def build(name: str, make: Callable[[], Runner]) -> Side:
        try:
            return Side(name, chat_for(make(), max_tokens=max_tokens, clock=clock))
        except (UsageProblem, BackendError, ValueError, OSError) as error:
            what = f"{model} ({where})" if name == BASE else tuned
            return Side(name, problem=f"{name} model {what}: {error}")

    if not model:
        base = Side(BASE, problem="No base model: name the base model (Evaluate › Setup).")
    else:
        base = build(BASE, lambda: runner_for(where, model, request))
    if export:
        try:
            return base, Side(TUNED, gguf_chat(gguf_export(request, export), max_tokens, clock))
        except (UsageProblem, BackendError, ValueError, OSError) as error:
            return base, Side(TUNED, problem=f"{name_of(tuned, export)}: {error}")
    if not tuned:
        return base, Side(TUNED, problem=NO_TUNED)
    return base, build(TUNED, lambda: tuned_model(request, where).runner)


def name_of(tuned: str | None, export: str) -> str:
    return f"tuned model {tuned} export {export}" if tuned else f"tuned export {export}"


def gguf_chat(
    export: GgufExport, max_tokens: int, clock: Callable[[], float] | None = None
) -> ChatModel:
    """A run's GGUF export as a chat model, on the CPU."""
    from backends.evaluate.local_chat import LocalChat

    timing = {"clock": clock} if clock is not None else {}
    return LocalChat.from_gguf(
        str(export.path),
        tokenizer=export.tokenizer,
        label=f"{export.run_id} {export.name}",
        max_new_tokens=max_tokens,
        **timing,
    )


def gguf_choices(*, tuned: str | None, workspace: str | None) -> list[str]:
    """The GGUF exports the tuned pane could talk to (those of the run ``tuned`` names)."""
    if not tuned:
        return []
    request = EvalRequest(data="", model="", tuned=tuned, workspace=workspace)
    return gguf_export_names(request)


def conversation(
    system: str, history: Sequence[dict[str, str]], prompt: str
) -> list[dict[str, str]]:
    """The messages of the next turn: the system prompt, the turns so far, the new prompt."""
    head = [{"role": "system", "content": system}] if system.strip() else []
    return [*head, *history, {"role": "user", "content": prompt}]


def empty_answer(reply: Reply) -> str | None:
    """``(empty answer: why)`` for a turn that ended well with no visible text, else ``None``."""
    if not reply.ok or reply.cancelled or reply.text.strip():
        return None
    tokens = reply.completion_tokens
    if tokens is None:
        why = "the model sent no text"
    elif tokens <= 1:
        why = "the model ended at once (its first token ended its turn)"
    else:
        why = f"the model produced {tokens} tokens, only special tokens or whitespace"
    return f"(empty answer: {why})"


def describe(reply: Reply) -> str:
    """Tokens and latency in a line: ``12 prompt + 30 completion tokens · first token 0.21 s · 1.30 s``.

    A blank answer says so first, and why (``empty_answer``).
    """
    empty = empty_answer(reply)
    parts = [empty] if empty else []
    if reply.prompt_tokens is not None or reply.completion_tokens is not None:
        prompt = "-" if reply.prompt_tokens is None else f"{reply.prompt_tokens:,}"
        completion = "-" if reply.completion_tokens is None else f"{reply.completion_tokens:,}"
        parts.append(f"{prompt} prompt + {completion} completion tokens")
    if reply.first_token_s is not None:
        parts.append(f"first token {reply.first_token_s:.2f} s")
    if reply.total_s is not None:
        parts.append(f"{reply.total_s:.2f} s total")
    if reply.cancelled:
        parts.append("stopped")
    return " · ".join(parts)
