"""llama.cpp's own GGUF converter and quantizer: where they are, and fetching them on request.

finetune-tui never converts to GGUF itself. It runs llama.cpp's
``convert_hf_to_gguf.py`` with the ``gguf-py`` that sits beside it (the
script puts it first on its path, so the two always match), from:

1. the llama.cpp checkout named by ``FINETUNE_TUI_LLAMA_CPP``
   (``backends.locations.llama_cpp_dir``), or
2. the copy ``fetch_converter`` unpacked into the cache: the
   ``vendor/llama.cpp`` of the ``llama-cpp-python`` source distribution from
   PyPI, of the same version as the installed ``llama-cpp-python`` when there
   is one (so the converter and the runtime that loads its output match).

The converter writes f32/f16/bf16/q8_0 itself. Other types (``q4_k_m``) need
llama.cpp's quantizer: the ``llama_model_quantize`` of an installed
``llama-cpp-python``, or a ``llama-quantize`` program (in the checkout's
``build/bin`` or on ``PATH``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from backends import locations
from backends.backend import BackendError

SCRIPT = "convert_hf_to_gguf.py"
SDIST = "llama-cpp-python"
_VENDORED = "vendor/llama.cpp/"
_NEEDED = (SCRIPT, "conversion/", "gguf-py/", "requirements/", "LICENSE")
CONVERTER_TYPES = ("f16", "q8_0")
"""Types ``convert_hf_to_gguf.py`` writes itself; the rest need the quantizer."""
QUANTIZER_TYPES = {"q4_k_m": 15}
"""llama.cpp's ``LLAMA_FTYPE_MOSTLY_*`` number of each type the quantizer makes."""


class ConverterMissing(BackendError):
    """llama.cpp's converter (or quantizer) is not here; the hint is the command that fixes it."""


@dataclass(frozen=True)
class Converter:
    root: Path
    """The llama.cpp folder holding ``convert_hf_to_gguf.py`` and ``gguf-py/``."""
    origin: str
    """Where it came from, in words."""

    @property
    def script(self) -> Path:
        return self.root / SCRIPT


def installed_runtime_version() -> str | None:
    """The installed ``llama-cpp-python``'s version (no import of the library), or ``None``."""
    from importlib import metadata

    try:
        return metadata.version(SDIST)
    except metadata.PackageNotFoundError:
        return None


def cached_converters() -> list[Path]:
    root = locations.cache_root() / "llama.cpp"
    return sorted(p for p in root.glob("*") if (p / SCRIPT).is_file()) if root.is_dir() else []


def fetch_command() -> str:
    return "finetune-tui export --get-converter"


def find_converter() -> Converter:
    """The converter to use; raises ``ConverterMissing`` saying how to get one."""
    given = locations.llama_cpp_dir()
    if given is not None:
        if (given / SCRIPT).is_file():
            return Converter(given, f"{locations.LLAMA_CPP_ENV}={given}")
        raise ConverterMissing(
            f"{locations.LLAMA_CPP_ENV} names {given}, which has no {SCRIPT}.",
            hint="Point it at a llama.cpp checkout (git clone of ggml-org/llama.cpp).",
        )
    version = installed_runtime_version()
    cached = cached_converters()
    matching = [p for p in cached if version is None or p.name == version]
    if matching:
        return Converter(matching[-1], f"llama-cpp-python {matching[-1].name} source (cached)")
    raise ConverterMissing(
        "llama.cpp's GGUF converter (convert_hf_to_gguf.py) is not available"
        + (f" for llama-cpp-python {version}" if version else "")
        + ".",
        hint=f"`{fetch_command()}` fetches it from PyPI (the llama-cpp-python source), or set "
        f"{locations.LLAMA_CPP_ENV} to a llama.cpp checkout.",
    )


def fetch_converter(*, version: str | None = None, log: object = None) -> Converter:
    """Download the ``llama-cpp-python`` sdist with pip and unpack its llama.cpp converter."""
    version = version or installed_runtime_version()
    requirement = f"{SDIST}=={version}" if version else SDIST
    with tempfile.TemporaryDirectory(prefix="finetune-tui-sdist-") as tmp:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            requirement,
            "-d",
            tmp,
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        archives = list(Path(tmp).glob("*.tar.gz"))
        if done.returncode != 0 or not archives:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no archive"]
            raise ConverterMissing(
                f"Could not download the {requirement} source distribution: {last[0]}",
                hint=" ".join(command[2:]),
            )
        archive = archives[0]
        found_version = archive.name.removeprefix("llama_cpp_python-").removesuffix(".tar.gz")
        target = locations.cache_root() / "llama.cpp" / found_version
        work = target.with_name(f"{target.name}.partial-{os.getpid()}")
        shutil.rmtree(work, ignore_errors=True)
        try:
            _unpack(archive, work)
            if not (work / SCRIPT).is_file():
                raise ConverterMissing(f"{archive.name} carries no {_VENDORED}{SCRIPT}.")
            if target.exists():
                shutil.rmtree(target)
            os.replace(work, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return Converter(target, f"llama-cpp-python {found_version} source (fetched)")


def _unpack(archive: Path, work: Path) -> None:
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            name = member.name.split("/", 1)[-1]
            if not name.startswith(_VENDORED):
                continue
            inner = name[len(_VENDORED) :]
            if not inner.startswith(_NEEDED) or not (member.isfile() or member.isdir()):
                continue
            if ".." in Path(inner).parts:
                continue
            destination = work / inner
            if member.isdir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            if source is not None:
                destination.write_bytes(source.read())


def quantizer_program(converter: Converter | None) -> str | None:
    """A ``llama-quantize`` program: in the checkout's build, or on ``PATH``."""
    if converter is not None:
        for candidate in ("build/bin/llama-quantize", "llama-quantize"):
            path = converter.root / candidate
            if path.is_file() and os.access(path, os.X_OK):
                return str(path)
    return shutil.which("llama-quantize")


def runtime_available() -> bool:
    """Whether ``llama-cpp-python`` (llama.cpp itself, as a library) is installed."""
    from importlib.util import find_spec

    return find_spec("llama_cpp") is not None


def quantizer_missing(quant: str, converter: Converter | None) -> str | None:
    """Why ``quant`` cannot be made here (``None`` when it can)."""
    if quant in CONVERTER_TYPES:
        return None
    if runtime_available() or quantizer_program(converter):
        return None
    return (
        f"{quant} needs llama.cpp's quantizer: `pip install llama-cpp-python` (compiles "
        f"llama.cpp) or a llama.cpp build with llama-quantize in {locations.LLAMA_CPP_ENV}"
        "/build/bin or on PATH. f16 and q8_0 work without it."
    )


def convert(converter: Converter, model_dir: Path, out_file: Path, outtype: str, log: Path) -> None:
    """Run llama.cpp's converter; raises ``BackendError`` with its last error line."""
    command = [
        sys.executable,
        str(converter.script),
        str(model_dir),
        "--outfile",
        str(out_file),
        "--outtype",
        outtype,
    ]
    env = {k: v for k, v in os.environ.items() if k != "NO_LOCAL_GGUF"}
    with open(log, "ab") as sink:
        done = subprocess.run(
            command, stdout=sink, stderr=subprocess.PIPE, env=env, check=False, cwd=converter.root
        )
    if done.returncode != 0 or not out_file.is_file():
        text = done.stderr.decode("utf-8", errors="replace")
        with open(log, "ab") as sink:
            sink.write(done.stderr)
        lines = [line for line in text.strip().splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit {done.returncode}"
        raise BackendError(
            f"llama.cpp's converter ({converter.origin}) could not convert {model_dir}: {last[:300]}",
            hint="A model architecture or tokenizer it does not know needs a newer llama.cpp "
            f"({locations.LLAMA_CPP_ENV}=a recent checkout). Details in {log}.",
        )


def quantize(source: Path, target: Path, quant: str, converter: Converter | None) -> None:
    """``source`` (f16 GGUF) → ``target`` of type ``quant`` with llama.cpp's quantizer."""
    program = quantizer_program(converter)
    if program is not None:
        done = subprocess.run(
            [program, str(source), str(target), quant.upper()],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0 or not target.is_file():
            raise BackendError(f"llama-quantize failed: {done.stderr.strip()[-300:]}")
        return
    import ctypes

    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = QUANTIZER_TYPES[quant]
    code = llama_cpp.llama_model_quantize(
        str(source).encode(), str(target).encode(), ctypes.byref(params)
    )
    if code != 0 or not target.is_file():
        raise BackendError(f"llama.cpp could not quantize {source} to {quant} (code {code}).")
