"""``finetune-tui chat``: the base and the tuned model answer your own prompt.

    finetune-tui chat --model BASE [--provider openai|azure|local] [--tuned RUN|MODEL]
        [--system TEXT] [--prompt TEXT] [--max-tokens N]

Without ``--prompt`` it opens the app on Evaluate › Try it. With ``--prompt``
it asks both models at once, prints both answers with their tokens and
latency, and exits: 0 both answered, 1 a model failed, 2 bad
usage. ``--tuned`` resolves like ``finetune-tui eval --tuned``: a run id of the
workspace (a hosted run's fine-tuned model, a local run's adapter) or a model.
Keys come from the environment only and never appear in the output.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tui.commands.evaluate import PROVIDERS

NO_TUNED = (
    "No tuned model chosen: set “Tuned model” in Evaluate › Setup (a run id, an ft:… "
    "name or a model folder), or start with finetune-tui chat --tuned RUN|MODEL. "
    "The base model answers meanwhile."
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "chat", help="try your own prompt on the base and the tuned model, side by side"
    )
    parser.add_argument("--model", required=True, metavar="BASE", help="the base model")
    parser.add_argument(
        "--provider",
        choices=PROVIDERS,
        default=None,
        help="where the models run (default: local for a path or an owner/name hub id, else openai)",
    )
    parser.add_argument("--tuned", metavar="RUN|MODEL", help="a run id or a tuned model")
    parser.add_argument("--system", metavar="TEXT", default="", help="a system prompt")
    parser.add_argument(
        "--prompt", metavar="TEXT", help="ask once, print both answers and exit (no UI)"
    )
    parser.add_argument("--max-tokens", type=int, default=512, metavar="N")
    parser.set_defaults(handler=run_chat)


@dataclass
class Side:
    """One pane's model, or why there is none."""

    name: str
    """``base`` or ``tuned``."""
    model: Any = None
    """A ``ChatModel``."""
    problem: str = ""

    @property
    def error(self) -> bool:
        """The model could not be built (not merely left unchosen)."""
        return bool(self.problem) and self.problem != NO_TUNED

    @property
    def title(self) -> str:
        label = self.model.label if self.model is not None else ""
        return f"{self.name}: {label}" if label else self.name


def chat_sides(
    *,
    model: str,
    provider: str | None,
    tuned: str | None,
    workspace: str | None,
    secret: str | None = None,
    max_tokens: int = 512,
    clock: Callable[[], float] | None = None,
) -> tuple[Side, Side]:
    """The base and tuned chat models, resolved as ``finetune-tui eval`` resolves them.

    Never raises for bad input: a side that cannot be built carries its ``problem``.
    """
    from backends.backend import BackendError
    from backends.evaluate.chat import HostedChat
    from backends.evaluate.local_chat import LocalChat
    from tui.commands.evaluate import (
        UsageProblem,
        _hosted_runner,
        _local_runner,
        _tuned_runner,
        eval_arguments,
        guess_provider,
    )

    provider = provider or (guess_provider(model) if model else "openai")
    args = eval_arguments(
        workspace=workspace,
        model=model,
        provider=provider,
        tuned=tuned or None,
        max_tokens=max_tokens,
        secret=secret or None,
    )
    timing = {"clock": clock} if clock is not None else {}

    def chat_of(runner: Any) -> Any:
        if hasattr(runner, "settings"):
            chat = HostedChat.from_runner(runner, **timing)
        else:
            chat = LocalChat.from_runner(runner, **timing)
        chat.max_tokens = chat.max_new_tokens = max_tokens
        return chat

    def build(name: str, make: Callable[[], Any]) -> Side:
        try:
            return Side(name, chat_of(make()))
        except (UsageProblem, BackendError, ValueError, OSError) as error:
            where = f" ({provider})" if name == "base" else ""
            return Side(
                name, problem=f"{name} model {model if name == 'base' else tuned}{where}: {error}"
            )

    if not model:
        base = Side(
            "base", problem="No base model: choose one in Evaluate › Setup or give --model."
        )
    elif provider == "local":
        base = build("base", lambda: _local_runner(model, args))
    else:
        base = build("base", lambda: _hosted_runner(provider, model, args))
    if not tuned:
        return base, Side("tuned", problem=NO_TUNED)
    return base, build("tuned", lambda: _tuned_runner(args, provider)[0])


def conversation(
    system: str, history: Sequence[dict[str, str]], prompt: str
) -> list[dict[str, str]]:
    """The messages of the next turn: the system prompt, the turns so far, the new prompt."""
    head = [{"role": "system", "content": system}] if system.strip() else []
    return [*head, *history, {"role": "user", "content": prompt}]


def describe(reply: Any) -> str:
    """Tokens and latency in a line: ``12 prompt + 30 completion tokens · first token 0.21 s · 1.30 s``."""
    parts = []
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


def run_chat(args: argparse.Namespace) -> int:
    if args.max_tokens is not None and args.max_tokens < 1:
        print("finetune-tui chat: --max-tokens must be at least 1.", file=sys.stderr)
        return 2
    if args.prompt is None:
        return _open_app(args)
    if not args.prompt.strip():
        print("finetune-tui chat: --prompt is empty.", file=sys.stderr)
        return 2
    sides = chat_sides(
        model=args.model,
        provider=args.provider,
        tuned=args.tuned,
        workspace=args.workspace,
        max_tokens=args.max_tokens,
    )
    try:
        return _ask(sides, conversation(args.system, [], args.prompt))
    finally:
        for side in sides:
            if side.model is not None:
                side.model.close()


def _ask(sides: Sequence[Side], messages: list[dict[str, str]]) -> int:
    """Both models at once (threads only wait on the network / the child process); print in order."""
    from backends.evaluate.chat import collect

    cancel = threading.Event()
    replies: dict[str, Any] = {}

    def one(side: Side) -> None:
        replies[side.name] = collect(side.model.stream(messages, cancel=cancel))

    threads = [
        threading.Thread(target=one, args=(side,), daemon=True)
        for side in sides
        if side.model is not None
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    except KeyboardInterrupt:
        cancel.set()
        print("\nStopping…", file=sys.stderr)
        for thread in threads:
            thread.join()
    failed = False
    for side in sides:
        print(f"── {side.title} ──")
        reply = replies.get(side.name)
        if reply is None:
            print(side.problem)
            failed = failed or side.error
        elif reply.error:
            print(f"Error: {reply.error}")
            failed = True
        else:
            print(reply.text.strip())
            print(f"({describe(reply)})")
        print()
    if cancel.is_set():
        return 130
    return 1 if failed else 0


def _open_app(args: argparse.Namespace) -> int:
    from tui.app import FinetuneApp
    from tui.screens.evaluate.tryit import TryItScreen
    from tui.state import ChatChoice, EvalChoice

    app = FinetuneApp(
        workspace=args.workspace,
        start=TryItScreen.position,
        eval_choice=EvalChoice(
            provider=args.provider or "", model=args.model, tuned=args.tuned or ""
        ),
        chat_choice=ChatChoice(system=args.system or None),
    )
    app.run()
    return app.return_code or 0
