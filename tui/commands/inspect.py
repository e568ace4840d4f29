"""``finetune-tui inspect``: the dataset report without the UI.

Exit status: 0 when the data can be trained on (warnings allowed), 1 when it
has errors, 2 when it cannot be read at all (missing path, a folder that is
not a dataset, unreadable file, bad arguments), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from backends.catalog import DATA_PROVIDERS, Provider

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
UNREADABLE_CODES = ("missing_file", "not_a_file", "unreadable_file")


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return key.strip(), value.strip()


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            "the validation fraction must be between 0 and 1 (e.g. 0.1)"
        )
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="check a fine-tuning dataset and estimate tokens and cost",
        description=(
            "Check a fine-tuning dataset (OpenAI chat, DPO, prompt/completion, Alpaca, ShareGPT; "
            "JSONL, a Hugging Face folder, parquet/csv, or a Hub id) and report errors, token "
            "figures, epochs and cost. Exit 0: trainable, 1: errors, 2: unreadable input."
        ),
    )
    parser.add_argument(
        "path", metavar="PATH", nargs="?", help="dataset file, folder or Hugging Face Hub id"
    )
    parser.add_argument(
        "--sample", action="store_true", help="inspect the sample dataset shipped with finetune-tui"
    )
    parser.add_argument("--model", default="gpt-4o-mini", help="base model (default: gpt-4o-mini)")
    parser.add_argument(
        "--provider",
        choices=tuple(provider.value for provider in DATA_PROVIDERS),
        default=Provider.OPENAI.value,
    )
    parser.add_argument("--validation", metavar="FILE", help="validation file to check as well")
    parser.add_argument(
        "--epochs", type=_positive, help="epochs to price (default: the service's automatic rule)"
    )
    parser.add_argument(
        "--max-length", type=_positive, metavar="TOKENS", help="local training: longest sequence"
    )
    parser.add_argument(
        "--price",
        type=_key_value,
        action="append",
        default=[],
        metavar="MODEL=USD",
        help="override the training price per 1M tokens of a model (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument(
        "--convert-to-chat",
        metavar="OUT",
        help="write a chat-format copy to OUT (new file), then inspect it",
    )
    parser.add_argument(
        "--system", metavar="TEXT", help="system message to add to converted examples"
    )
    parser.add_argument(
        "--split",
        type=_fraction,
        metavar="FRACTION",
        help="write a seeded train/validation split (new files) and inspect both",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of --split (default 0)")
    parser.add_argument(
        "--column",
        type=_key_value,
        action="append",
        default=[],
        metavar="STANDARD=COLUMN",
        help="map a column to a standard name, e.g. messages=conversation (repeatable)",
    )
    parser.add_argument(
        "--hf-split", default="train", metavar="NAME", help="Hugging Face split (default train)"
    )
    parser.add_argument(
        "--workers",
        type=_positive,
        help="processes for files of 8 MB or more (default: one per CPU the load leaves free)",
    )
    parser.set_defaults(handler=run)


def _fail(message: str) -> int:
    print(f"finetune-tui inspect: {message}", file=sys.stderr)
    return EXIT_USAGE


class _Progress:
    """A one-line progress display on stderr (only when it is a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.2 and done < total):
            return
        self.last = now
        rate = done / 2**20 / max(now - self.started, 1e-6)
        share = 100 * done / total if total else 100
        print(f"\rscanning {share:5.1f}% ({rate:,.0f} MB/s)", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.enabled:
            print("\r" + " " * 40 + "\r", end="", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("\nfinetune-tui inspect: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run(args: argparse.Namespace) -> int:

    import orjson

    from backends.data.convert import TargetExists, convert_to_chat, split_file
    from backends.data.hf import DatasetUnavailable, inspect_hf, is_hf_source
    from backends.data.inspector import InspectOptions, inspect_file

    if args.sample == bool(args.path):
        return _fail("give a dataset PATH, or --sample for the shipped sample")
    source = args.path
    validation = args.validation
    if args.sample:
        from backends.data.samples import sample_dataset

        sample = sample_dataset()
        source = str(sample.train)
        validation = validation or str(sample.validation)
    if args.split and validation:
        return _fail("--split writes a validation file: do not combine it with --validation")
    price_overrides = {}
    for model, value in args.price:
        try:
            price_overrides[model] = float(value)
        except ValueError:
            return _fail(f"--price {model}={value}: the price must be a number")
    options = InspectOptions(
        model=args.model,
        provider=Provider(args.provider),
        epochs=args.epochs,
        max_length=args.max_length,
        price_overrides=price_overrides,
        workers=args.workers,
    )
    mapping = dict(args.column)
    extra: dict[str, object] = {}
    notes: list[str] = []
    progress = _Progress(sys.stderr.isatty() and not args.json)
    hf = not args.sample and is_hf_source(source)
    try:
        if args.convert_to_chat:
            if hf:
                return _fail(
                    "--convert-to-chat takes a JSONL file; for a Hugging Face dataset use --column"
                )
            converted = convert_to_chat(source, args.convert_to_chat, args.system, mapping)
            extra["conversion"] = {
                "output": args.convert_to_chat,
                "written": converted.written,
                "skipped": converted.skipped_count,
                "skipped_lines": [{"line": n, "reason": r} for n, r in converted.skipped],
            }
            notes.append(
                f"Converted {converted.written:,} example(s) to chat in {args.convert_to_chat}"
                + (
                    f"; {converted.skipped_count:,} line(s) skipped"
                    if converted.skipped_count
                    else ""
                )
            )
            source = args.convert_to_chat
        if args.split:
            if hf:
                return _fail("--split takes a JSONL file")
            result = split_file(source, args.split, args.seed)
            extra["split"] = {
                "train": str(result.train),
                "validation": str(result.validation),
                "train_examples": result.train_examples,
                "validation_examples": result.validation_examples,
                "seed": args.seed,
            }
            notes.append(
                f"Split (seed {args.seed}): {result.train_examples:,} → {result.train}, "
                f"{result.validation_examples:,} → {result.validation}"
            )
            source, validation = str(result.train), str(result.validation)
        if hf:
            report = inspect_hf(source, options, args.hf_split, mapping or None, progress)
            if validation and not report.cancelled:
                from dataclasses import replace

                report.validation = inspect_file(validation, replace(options, is_validation=True))
        else:
            from backends.data.scan_process import ScanFailed, inspect_for_command

            try:
                report = inspect_for_command(source, validation, options, progress)
            except ScanFailed as exc:
                return _fail(str(exc))
    except (DatasetUnavailable, TargetExists) as exc:
        return _fail(str(exc))
    except (OSError, ValueError) as exc:
        return _fail(f"{source}: {exc}")
    finally:
        progress.close()

    report.notes.extend(notes)
    unreadable = [g for g in report.findings if g.code in UNREADABLE_CODES]
    if args.json:
        print(orjson.dumps({**report.to_dict(), **extra}, option=orjson.OPT_INDENT_2).decode())
    elif unreadable:
        pass
    else:
        from backends.data.render import render_text

        print(render_text(report), end="")
    if unreadable:
        for group in unreadable:
            for finding in group.samples:
                print(f"finetune-tui inspect: {finding.message}", file=sys.stderr)
        return EXIT_USAGE
    validation_unreadable = report.validation is not None and any(
        g.code in UNREADABLE_CODES for g in report.validation.findings
    )
    if validation_unreadable and not args.json:
        print(f"finetune-tui inspect: validation file {validation} cannot be read", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_ERRORS
