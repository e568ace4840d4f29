"""Speed and memory of the dataset inspector against the OpenAI Cookbook's procedure.

Makes a clean chat dataset with ``shared/tools/make_chat_dataset.py`` (no tool
calls: the Cookbook's token counter crashes on them), then runs, in this
process, the Cookbook's procedure (``cookbook_baseline.py``, cl100k_base) and
our inspector with the same encoding, checks that both give the same token
totals, and prints examples/s, MB/s and the ratio. Optional parts: the
pathological inputs of issue 3 and peak RSS on a large file.

    python bench/inspect_speed.py [--examples 50000] [--pathological] [--rss-mb 1024]

``--phases 1000,20000,200000`` prints where the time of ``inspect --json`` goes on such
files (fresh process each: interpreter start, imports, tokenizer load, scan with the
processes the inspector picks and with one, report, JSON), medians of ``--runs``.

``--cli 1000,20000,200000`` instead times what people run, whole processes: the Cookbook
script (``python bench/cookbook_baseline.py FILE``) against ``finetune-tui inspect FILE
--json --model gpt-3.5-turbo`` on clean chats (``--seed 11 --tool-share 0``), interleaved,
``--runs`` times each (medians), optionally with ``--before DIR`` (another checkout) in the
same run, and checks the token totals are identical. Each line also gives the median CPU
seconds (the process and its workers) and that ratio: on a machine busy with other work
the wall-clock ratio moves with the load, the CPU ratio much less.

``--local-model FOLDER`` times the Dataset step's scan for a local model (its child process,
the sample dataset) with torch hidden in the child, as it runs, against torch imported, and
checks the totals are identical.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from checkouts import compile_like_pip  # noqa: E402  (bench/ is on the path from here)

DEFAULT_MAKER = next(
    (
        folder / "shared" / "tools" / "make_chat_dataset.py"
        for folder in (ROOT.parent, ROOT.parent.parent)
        if (folder / "shared" / "tools" / "make_chat_dataset.py").is_file()
    ),
    ROOT.parent / "shared" / "tools" / "make_chat_dataset.py",
)
"""The team's dataset maker: ``../shared`` from a checkout, ``../../shared`` from a worktree."""


def _seed_cl100k(folder: Path) -> None:
    os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)
    from backends.data.tokenizer import offline_cl100k_file, seed_tiktoken_cache

    source = offline_cl100k_file()
    if source is not None:
        seed_tiktoken_cache("cl100k_base", source)


def _timed(label: str, size: int, examples: int, fn):
    started = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - started
    print(
        f"{label:<44} {elapsed:7.2f} s {examples / elapsed:10,.0f} examples/s {size / 2**20 / elapsed:7.1f} MB/s"
    )
    return result, elapsed


def compare(path: Path, examples: int) -> None:
    import tiktoken
    from cookbook_baseline import run_cookbook

    from backends.data import InspectOptions, inspect_file

    size = path.stat().st_size
    print(
        f"\nDataset: {path.name}, {examples:,} examples, {size / 2**20:.1f} MB, {os.cpu_count()} CPU(s)\n"
    )
    encoding = tiktoken.get_encoding("cl100k_base")
    baseline, t_base = _timed(
        "Cookbook procedure (tiktoken, cl100k_base)",
        size,
        examples,
        lambda: run_cookbook(str(path), encoding),
    )
    ours_1, t_one = _timed(
        "inspector, 1 process (cl100k_base)",
        size,
        examples,
        lambda: inspect_file(path, InspectOptions(model="gpt-3.5-turbo", workers=1)),
    )
    ours, t_ours = _timed(
        f"inspector, {os.cpu_count()} processes (cl100k_base)",
        size,
        examples,
        lambda: inspect_file(path, InspectOptions(model="gpt-3.5-turbo")),
    )
    ours_tt, t_tt = _timed(
        "inspector, tiktoken engine, 1 process",
        size,
        examples,
        lambda: inspect_file(
            path, InspectOptions(model="gpt-3.5-turbo", workers=1, engine="tiktoken")
        ),
    )
    _timed(
        "inspector, gpt-4o-mini (o200k_base)",
        size,
        examples,
        lambda: inspect_file(path, InspectOptions(model="gpt-4o-mini")),
    )
    same = (
        baseline["total_tokens"] == ours.tokens.total == ours_1.tokens.total == ours_tt.tokens.total
        and baseline["assistant_total"] == ours.assistant_tokens.total
        and baseline["billing_tokens"] == ours.billing_tokens
    )
    print(
        f"\nToken totals: Cookbook {baseline['total_tokens']:,} / inspector {ours.tokens.total:,} "
        f"(assistant {baseline['assistant_total']:,} / {ours.assistant_tokens.total:,}; "
        f"billed {baseline['billing_tokens']:,} / {ours.billing_tokens:,}) -> "
        f"{'IDENTICAL' if same else 'DIFFERENT'}"
    )
    print(
        f"Speed-up vs Cookbook: {t_base / t_ours:.1f}x ({os.cpu_count()} processes), "
        f"{t_base / t_one:.1f}x (1 process), {t_base / t_tt:.1f}x (tiktoken engine, 1 process)"
    )


def pathological(folder: Path) -> None:
    import orjson

    from backends.data import InspectOptions, inspect_file

    print("\nPathological inputs (gpt-4o-mini):")
    one_char = folder / "one_char.jsonl"
    one_char.write_bytes(
        orjson.dumps(
            {
                "messages": [
                    {"role": "user", "content": "a" * 2_000_000},
                    {"role": "assistant", "content": "ok"},
                ]
            }
        )
        + b"\n"
    )
    huge = folder / "huge_example.jsonl"
    words = ("lorem ipsum dolor sit amet " * 1_200_000)[:30_000_000]
    huge.write_bytes(
        orjson.dumps(
            {
                "messages": [
                    {"role": "user", "content": words},
                    {"role": "assistant", "content": "ok"},
                ]
            }
        )
        + b"\n"
    )
    broken = folder / "broken.jsonl"
    with open(broken, "wb") as handle:
        for i in range(200_000):
            handle.write(
                b'{"messages": [{"role": "user", "content": "x"' + (b"]}\n" if i % 2 else b"\n")
            )
    for path in (one_char, huge, broken):
        started = time.perf_counter()
        report = inspect_file(path, InspectOptions())
        elapsed = time.perf_counter() - started
        shown = sum(len(g.samples) for g in report.findings)
        print(
            f"  {path.name:<20} {path.stat().st_size / 2**20:6.1f} MB {elapsed:6.2f} s  "
            f"{report.errors:,} errors, {shown} findings kept, max tokens {report.tokens.max:,}"
        )


def peak_rss(folder: Path, maker: Path, size_mb: int) -> None:
    """Peak RSS of the CLI on a file of distinct examples (so duplicate tracking is at its largest)."""
    big = folder / "big.jsonl"
    examples = int(size_mb * 2**20 / 1490)  # make_chat_dataset writes ~1.49 kB per example
    subprocess.run(
        [sys.executable, str(maker), str(big), "--examples", str(examples), "--seed", "7"],
        check=True,
    )
    print(
        f"\nPeak RSS on {big.stat().st_size / 2**20:,.0f} MB, {examples:,} examples (the CLI in a child process, --json):"
    )
    # Measured from a fresh intermediate process: this one holds the Cookbook's whole dataset,
    # and workers forked from it would inflate any RUSAGE_CHILDREN figure taken here.
    measure = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "subprocess.run([sys.executable, '-m', 'tui', 'inspect', sys.argv[1], '--json'], stdout=subprocess.DEVNULL)\n"
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", measure, str(big)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    elapsed, peak = float(out[0]), float(out[1])
    print(
        f"  {elapsed:.1f} s, {big.stat().st_size / 2**20 / elapsed:.1f} MB/s; peak RSS {peak:,.0f} MB "
        "(largest of the CLI process and its workers)"
    )


def _children_cpu() -> float:
    import resource

    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _process_seconds(command: list[str], env: dict[str, str]) -> tuple[float, float, dict]:
    """(wall seconds, CPU seconds of the process and its workers, its JSON output)."""
    cpu = _children_cpu()
    started = time.perf_counter()
    out = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if out.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} failed: {out.stderr[-2000:]}")
    return elapsed, _children_cpu() - cpu, json.loads(out.stdout)


def make_clean_chats(maker: Path, data: Path, examples: int) -> None:
    """``examples`` clean chats (no tool calls, seed 11) written to ``data`` by the maker."""
    command = [sys.executable, str(maker), str(data), "--examples", str(examples)]
    subprocess.run([*command, "--tool-share", "0", "--seed", "11"], check=True, capture_output=True)


def compare_cli(
    folder: Path, maker: Path, sizes: list[int], runs: int, before: Path | None
) -> None:
    """Whole processes, as people run them: the Cookbook script against ``inspect --json``."""
    env = dict(os.environ)
    commands = {"finetune-tui inspect --json": ROOT}
    if before is not None:
        commands["before (--before)"] = before.resolve()
    for checkout in commands.values():
        compile_like_pip(checkout)
    print(f"\nWhole processes, median of {runs} interleaved runs, {os.cpu_count()} CPU(s):")
    for examples in sizes:
        data = folder / f"chat{examples}.jsonl"
        make_clean_chats(maker, data, examples)
        cookbook_cmd = [sys.executable, str(ROOT / "bench" / "cookbook_baseline.py"), str(data)]
        times: dict[str, list[float]] = {"Cookbook procedure": [], **{n: [] for n in commands}}
        cpus: dict[str, list[float]] = {name: [] for name in times}
        totals: dict[str, tuple[int, int]] = {}
        ours_cmd = [
            sys.executable,
            "-m",
            "tui",
            "inspect",
            str(data),
            "--json",
            "--model",
            "gpt-3.5-turbo",
        ]
        order = ["Cookbook procedure", *commands]
        for run in range(runs):
            # A different order each run: no command always goes first (or right after another).
            for name in order[run % len(order) :] + order[: run % len(order)]:
                if name == "Cookbook procedure":
                    elapsed, cpu, cookbook = _process_seconds(cookbook_cmd, env)
                    totals[name] = (cookbook["total_tokens"], cookbook["billing_tokens"])
                else:
                    pythonpath = {**env, "PYTHONPATH": str(commands[name])}
                    elapsed, cpu, ours = _process_seconds(ours_cmd, pythonpath)
                    totals[name] = (ours["total_tokens"], ours["billing_tokens"])
                times[name].append(elapsed)
                cpus[name].append(cpu)
        base = statistics.median(times["Cookbook procedure"])
        size = data.stat().st_size / 2**20
        print(f"  {examples:,} examples ({size:.1f} MB):")
        base_cpu = statistics.median(cpus["Cookbook procedure"])
        for name, measured in times.items():
            median = statistics.median(measured)
            cpu = statistics.median(cpus[name])
            print(
                f"    {name:<30} {median:6.2f} s  {examples / median:9,.0f} examples/s  "
                f"{base / median:4.1f}x the Cookbook   (CPU {cpu:5.2f} s, {base_cpu / cpu:4.1f}x)"
            )
        same = len(set(totals.values())) == 1
        print(f"    token totals {totals['Cookbook procedure']}: {'IDENTICAL' if same else totals}")
        data.unlink()


PHASES_CHILD = """
import sys, time
started = time.perf_counter()
import orjson
from tui.commands import inspect as command
from backends.data import inspector, scan, scan_plan
imported = time.perf_counter()
path, workers = sys.argv[1], (int(sys.argv[2]) if sys.argv[2] != "auto" else None)
options = inspector.InspectOptions(model="gpt-3.5-turbo", workers=workers)
target = inspector.resolve_target(options)
scan_options = inspector._scan_options(options, target)
scan.counter_for(scan_options)
loaded = time.perf_counter()
probe = inspector.probe_file(inspector.Path(path))
size = probe.size
result = scan.scan_file(inspector.Path(path), scan_options, None, None, workers)
scanned = time.perf_counter()
report = inspector.build_report(path, result, probe, options, target, scanned - loaded)
built = time.perf_counter()
text = orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2)
dumped = time.perf_counter()
print(orjson.dumps({
    "imports": imported - started, "tokenizer": loaded - imported, "scan": scanned - loaded,
    "report": built - scanned, "json": dumped - built,
    "processes": scan_plan.plan_workers(size, workers),
}).decode())
"""


def phases(folder: Path, maker: Path, sizes: list[int], runs: int) -> None:
    """Where the time of one inspect goes, phase by phase, in fresh processes (medians)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    print(f"\nPhases of inspect --json (gpt-3.5-turbo), median of {runs}, {os.cpu_count()} CPU(s):")
    print(
        f"  {'examples':>9} {'MB':>6} {'python':>7} {'imports':>8} {'tokenizer':>9} "
        f"{'scan':>7} {'procs':>5} {'scan 1p':>8} {'report':>7} {'json':>6}"
    )
    for examples in sizes:
        data = folder / f"phases{examples}.jsonl"
        make_clean_chats(maker, data, examples)
        start_s: list[float] = []
        auto: list[dict] = []
        single: list[dict] = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
            start_s.append(time.perf_counter() - started)
            for workers, into in (("auto", auto), ("1", single)):
                out = subprocess.run(
                    [sys.executable, "-c", PHASES_CHILD, str(data), workers],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                ).stdout
                into.append(json.loads(out))

        def med(rows: list[dict], key: str) -> float:
            return statistics.median(row[key] for row in rows)

        print(
            f"  {examples:>9,} {data.stat().st_size / 2**20:>6.1f} {statistics.median(start_s):>7.3f} "
            f"{med(auto, 'imports'):>8.3f} {med(auto, 'tokenizer'):>9.3f} {med(auto, 'scan'):>7.3f} "
            f"{auto[0]['processes']:>5} {med(single, 'scan'):>8.3f} {med(auto, 'report'):>7.3f} "
            f"{med(auto, 'json'):>6.3f}"
        )
        data.unlink()


def local_model_child(model: Path, runs: int) -> None:
    """The Dataset step's scan for a local model (a child process, the sample dataset):
    with torch hidden in the child, as it runs now, against torch imported as it was,
    interleaved, medians of ``runs``; the token totals must be identical."""
    from backends.catalog import Provider
    from backends.data import scan_process
    from backends.data.inspector import InspectOptions
    from backends.data.samples import sample_dataset

    sample = sample_dataset()
    options = InspectOptions(model=str(model), provider=Provider.LOCAL)
    real = scan_process._run_child
    times: dict[str, list[float]] = {"without torch": [], "with torch": []}
    totals: dict[str, int] = {}
    for _ in range(runs):
        for label, force in (("without torch", False), ("with torch", True)):
            scan_process._run_child = (  # type: ignore[method-assign]
                lambda request, *a, force=force: real(
                    {**request, "torch": request["torch"] or force}, *a
                )
            )
            started = time.perf_counter()
            report = scan_process.inspect_in_subprocess(str(sample.train), None, options)
            times[label].append(time.perf_counter() - started)
            totals[label] = report.tokens.total
            assert report.encoding.engine == "transformers", report.approximations
    scan_process._run_child = real  # type: ignore[method-assign]
    base = statistics.median(times["with torch"])
    print(f"Local model {model.name}, {sample.train.name}, child process, median of {runs}:")
    for label, values in times.items():
        median = statistics.median(values)
        print(f"    {label:<14} {median:6.2f} s   {base / median:4.1f}x")
    same = len(set(totals.values())) == 1
    print(f"    token totals {sorted(totals.values())}: {'IDENTICAL' if same else 'DIFFERENT'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=50_000)
    parser.add_argument("--maker", type=Path, default=DEFAULT_MAKER)
    parser.add_argument("--pathological", action="store_true")
    parser.add_argument(
        "--rss-mb", type=int, default=0, help="also measure peak RSS on a file this big"
    )
    parser.add_argument(
        "--cli", metavar="SIZES", help="whole processes on these sizes, e.g. 1000,20000"
    )
    parser.add_argument(
        "--phases", metavar="SIZES", help="where the time goes on these sizes, e.g. 1000,20000"
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="with --cli or --phases: runs of each (median)"
    )
    parser.add_argument("--before", type=Path, help="with --cli: another checkout, same run")
    parser.add_argument(
        "--local-model", type=Path, help="the Dataset step's child for this model folder"
    )
    args = parser.parse_args()
    if args.local_model:
        local_model_child(args.local_model, args.runs)
        return
    with tempfile.TemporaryDirectory(prefix="inspect-bench-") as tmp:
        folder = Path(tmp)
        _seed_cl100k(folder / "tiktoken-cache")
        if args.phases:
            phases(folder, args.maker, [int(n) for n in args.phases.split(",")], args.runs)
            if not args.cli:
                return
        if args.cli:
            compare_cli(
                folder, args.maker, [int(n) for n in args.cli.split(",")], args.runs, args.before
            )
            return
        data = folder / "chat.jsonl"
        subprocess.run(
            [
                sys.executable,
                str(args.maker),
                str(data),
                "--examples",
                str(args.examples),
                "--seed",
                "0",
                "--tool-share",
                "0",
            ],
            check=True,
        )
        compare(data, args.examples)
        if args.pathological:
            pathological(folder)
        if args.rss_mb:
            peak_rss(folder, args.maker, args.rss_mb)


if __name__ == "__main__":
    main()
