"""What to do with a local run's adapter: ``merge`` it into the base model, ``push`` it to the Hub.

    finetune-tui merge RUN [--force]
    finetune-tui push RUN --repo USER/NAME [--merged] [--private]

``merge`` runs in a child process (``backends.local.merge_process``) and
prints its progress to stderr, then the merged folder on stdout. ``push``
needs a Hugging Face token (``HF_TOKEN`` or ``hf auth login``) and prints
the repo's URL.

Exit status: 0 done, 1 the merge or the upload failed, 2 refused (no such
run, not mergeable, already merged, no token, bad repo name).
"""

from __future__ import annotations

import argparse
from typing import Any

from tui.commands.run_cli import err, find_run


def register(subparsers: Any) -> None:
    merge = subparsers.add_parser(
        "merge", help="merge a local LoRA run's adapter into its base model (16-bit)"
    )
    merge.add_argument("run", metavar="RUN", help="run id, unique prefix or folder")
    merge.add_argument("--force", action="store_true", help="replace an existing output/merged/")
    merge.set_defaults(handler=run_merge)
    push = subparsers.add_parser(
        "push", help="upload a local run's adapter (or merged model) to the Hugging Face Hub"
    )
    push.add_argument("run", metavar="RUN", help="run id, unique prefix or folder")
    push.add_argument("--repo", required=True, metavar="USER/NAME", help="the model repo")
    push.add_argument("--merged", action="store_true", help="push output/merged/, not the adapter")
    push.add_argument("--private", action="store_true", help="create the repo private")
    push.set_defaults(handler=run_push)


def _find(args: argparse.Namespace) -> Any:
    return find_run(args)


def run_merge(args: argparse.Namespace) -> int:
    from backends.local.merge import MergeRefused
    from backends.local.merge_process import MergeFailed, merge_in_subprocess

    folder = _find(args)
    if folder is None:
        return 2
    try:
        result = merge_in_subprocess(folder, force=args.force, progress=err)
    except MergeRefused as error:
        err(str(error))
        return 2
    except MergeFailed as error:
        err(str(error))
        return 1
    except KeyboardInterrupt:
        err("Merge interrupted; nothing was written.")
        return 1
    err(f"Merged in {result.dtype} ({result.reason}).")
    print(result.path)
    return 0


def run_push(args: argparse.Namespace) -> int:
    from backends.local.push import PushFailed, PushRefused, push_run

    folder = _find(args)
    if folder is None:
        return 2
    try:
        result = push_run(folder, args.repo, merged=args.merged, private=args.private, progress=err)
    except PushRefused as error:
        err(str(error))
        return 2
    except PushFailed as error:
        err(str(error))
        return 1
    err(f"Pushed {result.files} file(s) from {result.source}.")
    print(result.url)
    return 0
