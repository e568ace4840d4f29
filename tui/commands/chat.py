"""``finetune-tui chat``: the base and the tuned model answer your own prompt.

    finetune-tui chat --model BASE [--provider BACKEND] [--tuned RUN|MODEL]
        [--export NAME] [--system TEXT] [--prompt TEXT] [--max-tokens N]

Without ``--prompt`` it opens the app on Evaluate › Try it. With ``--prompt``
it asks both models at once, prints both answers with their tokens and
latency, and exits: 0 both answered, 1 a model failed, 2 bad
usage. ``--tuned`` resolves like ``finetune-tui eval --tuned``: a run id of the
workspace (a hosted run's fine-tuned model, a local run's adapter) or a model.
``--export NAME`` makes the tuned side the run's GGUF export NAME (``finetune-tui
export RUN --to gguf``), run on the CPU by llama.cpp (or transformers' GGUF loader).
Keys come from the environment only and never appear in the output.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from backends import registry

if TYPE_CHECKING:
    from backends.evaluate.tryit import Side


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "chat", help="try your own prompt on the base and the tuned model, side by side"
    )
    parser.add_argument("--model", required=True, metavar="BASE", help="the base model")
    parser.add_argument(
        "--provider",
        choices=registry.names(),
        default=None,
        help="where the models run (default: local for a path or an owner/name hub id, else openai)",
    )
    parser.add_argument("--tuned", metavar="RUN|MODEL", help="a run id or a tuned model")
    parser.add_argument(
        "--export",
        metavar="NAME",
        help="talk to the tuned run's GGUF export NAME instead (on the CPU; e.g. gguf-f16)",
    )
    parser.add_argument("--system", metavar="TEXT", default="", help="a system prompt")
    parser.add_argument(
        "--prompt", metavar="TEXT", help="ask once, print both answers and exit (no UI)"
    )
    parser.add_argument("--max-tokens", type=int, default=512, metavar="N")
    parser.set_defaults(handler=run_chat)


def run_chat(args: argparse.Namespace) -> int:
    if args.max_tokens is not None and args.max_tokens < 1:
        print("finetune-tui chat: --max-tokens must be at least 1.", file=sys.stderr)
        return 2
    if args.export and not args.tuned:
        print(
            f"finetune-tui chat: --export {args.export} needs --tuned RUN (the run it was "
            "exported from).",
            file=sys.stderr,
        )
        return 2
    if args.prompt is None:
        return _open_app(args)
    if not args.prompt.strip():
        print("finetune-tui chat: --prompt is empty.", file=sys.stderr)
        return 2
    from backends.evaluate.tryit import chat_sides, conversation

    sides = chat_sides(
        model=args.model,
        provider=args.provider,
        tuned=args.tuned,
        workspace=args.workspace,
        max_tokens=args.max_tokens,
        export=args.export,
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
    from backends.evaluate.tryit import describe

    cancel = threading.Event()
    replies: dict[str, Any] = {}

    def one(side: Side) -> None:
        if side.model is not None:
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
        chat_choice=ChatChoice(system=args.system or None, export=args.export or ""),
    )
    app.run()
    return app.return_code or 0
