"""``finetune-tui export``: a finished local run to merged / GGUF / Ollama / vLLM, checked.

    finetune-tui export RUN --to merged|gguf|ollama|vllm [--quant f16|q8_0|q4_k_m]
                            [--name NAME] [--force]
    finetune-tui export --get-converter     # llama.cpp's converter from PyPI, into the cache

The export runs in a child process (``backends.local.export_process``); its
progress goes to stderr, then the result: where it was written, the check
(token agreement with the trained model, first divergence per prompt) and the
commands that serve it, on stdout.

Exit status: 0 done, 1 the export failed or did not pass its check, 2 refused
(no such run, hosted or running run, export exists, converter missing).
"""

from __future__ import annotations

import argparse
from typing import Any

from tui.commands.run_cli import err, find_run

KINDS = ("merged", "gguf", "ollama", "vllm")
QUANTS = ("f16", "q8_0", "q4_k_m")


def register(subparsers: Any) -> None:
    export = subparsers.add_parser(
        "export",
        help="export a finished local run: merged, GGUF, Ollama or vLLM (checked against the run)",
    )
    export.add_argument("run", metavar="RUN", nargs="?", help="run id, unique prefix or folder")
    export.add_argument("--to", choices=KINDS, help="what to export to")
    export.add_argument("--quant", choices=QUANTS, help="GGUF type (gguf, ollama); default f16")
    export.add_argument("--name", help="the export's name (folder, Ollama/vLLM model name)")
    export.add_argument("--force", action="store_true", help="replace an existing export")
    export.add_argument(
        "--get-converter",
        action="store_true",
        help="fetch llama.cpp's GGUF converter (the llama-cpp-python source, from PyPI)",
    )
    export.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace) -> int:
    if args.get_converter:
        return _get_converter()
    if not args.run or not args.to:
        err("export needs RUN and --to merged|gguf|ollama|vllm (or --get-converter).")
        return 2
    from backends.local.export import ExportFailed, ExportRefused
    from backends.local.export_process import export_in_subprocess

    folder = find_run(args)
    if folder is None:
        return 2
    try:
        result = export_in_subprocess(
            folder, args.to, quant=args.quant, name=args.name, force=args.force, progress=err
        )
    except ExportRefused as error:
        err(str(error))
        return 2
    except ExportFailed as error:
        err(str(error))
        return 1
    except KeyboardInterrupt:
        err("Export interrupted; nothing was written.")
        return 1
    for line in result.lines():
        print(line)
    return 0


def _get_converter() -> int:
    from backends.local.converter import ConverterMissing, fetch_converter

    err("Downloading the llama-cpp-python source distribution (llama.cpp's converter)…")
    try:
        found = fetch_converter()
    except ConverterMissing as error:
        err(str(error))
        return 1
    print(f"llama.cpp's converter is ready: {found.script} ({found.origin}).")
    return 0
