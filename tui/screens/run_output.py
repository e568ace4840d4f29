"""Merge, push and export, from the Monitor of a finished local run (keys ``m``, ``u``, ``x``).

Neither blocks the screen. The merge runs in a child process
(``backends.local.merge_process``) driven from a thread worker; the child
writes its progress to ``log.txt``, so the Monitor's log tail shows it, and a
notification gives the result path. The export (``ExportScreen`` asks for
merged / GGUF / Ollama / vLLM and the GGUF type) runs the same way in
``backends.local.export_process``; its notification carries the check. The push is network I/O in a thread
worker, after ``PushScreen`` asked for the repo. Leaving the screen cancels
a merge (nothing half-written stays). Results and errors reach the person
through the Monitor's ``Worker.StateChanged`` handler (groups ``merge`` and
``push``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Checkbox, Input, Select, Static

from backends import registry
from backends.local.export import KINDS, QUANTS, export_offered, list_exports
from backends.local.merge import merge_offered, merged_dir
from backends.runs.values import RunState
from tui.screens.confirm import ConfirmScreen

if TYPE_CHECKING:
    from backends.runs import RunFolder
    from backends.runs.watch import RunWatch

OUTPUT_ACTIONS = ("merge_output", "push_output", "export_output")
OUTPUT_GROUPS = ("merge", "push", "export")


@dataclass(frozen=True)
class PushChoice:
    repo: str
    merged: bool
    private: bool


class PushScreen(ModalScreen["PushChoice | None"]):
    """Asks for the Hub repo (and merged or adapter, private or public); ``None`` when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="push-cancel"),
    ]

    def __init__(self, run_id: str, *, merged_available: bool) -> None:
        super().__init__(classes="dialog")
        self.run_id = run_id
        self.merged_available = merged_available

    def compose(self) -> ComposeResult:
        with Vertical(id="push-box", classes="dialog-box"):
            yield Static("Push to the Hugging Face Hub", classes="dialog-title")
            yield Static(
                f"Run {self.run_id}: its adapter (or merged model) goes to a model repo, "
                "created if it does not exist.",
                classes="dialog-text",
                markup=False,
            )
            yield Input(placeholder="USER/NAME", id="push-repo", compact=True)
            yield Static("", id="push-error", markup=False)
            yield Checkbox(
                "Merged model (output/merged/)"
                if self.merged_available
                else "Merged model (merge first: m)",
                value=False,
                disabled=not self.merged_available,
                id="push-merged",
                compact=True,
            )
            yield Checkbox("Private repo", value=True, id="push-private", compact=True)
            with Horizontal(id="push-buttons"):
                yield Button("Push", id="push-go", variant="primary", compact=True)
                yield Button("Cancel", id="push-no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#push-repo", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#push-go")
    def _submit(self) -> None:
        from backends.backend import BackendError
        from backends.local.push import check_repo_id

        try:
            repo = check_repo_id(self.query_one("#push-repo", Input).value)
        except BackendError as error:
            self.query_one("#push-error", Static).update(str(error))
            return
        self.dismiss(
            PushChoice(
                repo,
                self.query_one("#push-merged", Checkbox).value,
                self.query_one("#push-private", Checkbox).value,
            )
        )

    @on(Button.Pressed, "#push-no")
    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class ExportChoice:
    kind: str
    quant: str | None
    force: bool


_KIND_LABELS = {
    "merged": "Merged 16-bit safetensors (output/merged/)",
    "gguf": "GGUF (llama.cpp's converter)",
    "ollama": "Ollama Modelfile (+ GGUF)",
    "vllm": "vLLM serve commands",
}


class ExportScreen(ModalScreen["ExportChoice | None"]):
    """Asks what to export to (and the GGUF type); ``None`` when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="export-cancel"),
    ]

    def __init__(self, run_id: str, existing: list[str]) -> None:
        super().__init__(classes="dialog")
        self.run_id = run_id
        self.existing = existing

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box", classes="dialog-box"):
            yield Static("Export", classes="dialog-title")
            yield Static(
                f"Run {self.run_id}: each export is checked against the trained model "
                "(greedy replay of evaluation prompts). "
                + (f"Exports so far: {', '.join(self.existing)}." if self.existing else ""),
                classes="dialog-text",
                markup=False,
            )
            yield Select(
                [(_KIND_LABELS[k], k) for k in KINDS],
                value="gguf",
                allow_blank=False,
                id="export-kind",
                compact=True,
            )
            yield Select(
                [(q, q) for q in QUANTS],
                value="f16",
                allow_blank=False,
                id="export-quant",
                compact=True,
            )
            yield Checkbox(
                "Replace an existing export", value=False, id="export-force", compact=True
            )
            with Horizontal(id="export-buttons"):
                yield Button("Export", id="export-go", variant="primary", compact=True)
                yield Button("Cancel", id="export-no", compact=True)

    @on(Button.Pressed, "#export-go")
    def _submit(self) -> None:
        kind = str(self.query_one("#export-kind", Select).value)
        quant = str(self.query_one("#export-quant", Select).value)
        self.dismiss(
            ExportChoice(
                kind,
                quant if kind in ("gguf", "ollama") else None,
                self.query_one("#export-force", Checkbox).value,
            )
        )

    @on(Button.Pressed, "#export-no")
    def action_cancel(self) -> None:
        self.dismiss(None)


if TYPE_CHECKING:
    _ScreenMixin = Screen[None]
else:
    _ScreenMixin = object


class RunOutputActions(_ScreenMixin):
    """Mixed into ``MonitorScreen``: the merge and push actions and their workers.

    A ``Screen`` to the type checker (it uses the screen's ``app`` and ``notify``),
    a plain class at run time.
    """

    folder: RunFolder
    follow: RunWatch
    _output_busy: str = ""
    """``merge`` or ``push`` while one runs."""
    _hub_token_present: bool | None = None
    _merge_cancel: threading.Event | None = None

    # --- availability ----------------------------------------------------------
    def _push_offered(self) -> bool:
        state = self.follow.status.state
        spec = self.follow.spec
        if merge_offered(self.folder, spec, state):
            return True
        full = self.folder.output_dir / "model"
        return (
            spec is not None
            and registry.is_local(spec.backend)
            and state is RunState.SUCCEEDED
            and full.is_dir()
        )

    def check_output_action(self, action: str) -> bool | None:
        """``False`` hides the key (not this kind of run), ``None`` greys it (not now)."""
        if action == "export_output":
            if not export_offered(self.folder, self.follow.spec, self.follow.status.state):
                return False
            return None if self._output_busy else True
        if action == "merge_output":
            if not merge_offered(self.folder, self.follow.spec, self.follow.status.state):
                return False
            return None if self._output_busy else True
        if not self._push_offered():
            return False
        if self._hub_token_present is None:
            self.find_hub_token()
        return None if self._output_busy or not self._hub_token_present else True

    def output_refusal(self, action: str) -> str:
        """Why a greyed merge/push key does nothing now."""
        if self._output_busy:
            return f"A {self._output_busy} of this run is under way; wait for it to finish."
        if action == "push_output" and not self._hub_token_present:
            from backends.local.push import NO_TOKEN

            return NO_TOKEN
        return ""

    @work(thread=True, exclusive=True, group="hub-token", exit_on_error=False)
    def find_hub_token(self) -> None:
        from backends.local.push import hub_token

        self._hub_token_present = hub_token() is not None
        self.app.call_from_thread(self.refresh_bindings)

    # --- merge ---------------------------------------------------------------
    def action_merge_output(self) -> None:
        target = merged_dir(self.folder)
        if target.exists():
            self.app.push_screen(
                ConfirmScreen(
                    "Merge again?",
                    f"{target} exists. Merging again replaces it (the new one is written "
                    "beside it first).",
                    yes="Replace it",
                    no="Keep it",
                ),
                self._merge_confirmed,
            )
        else:
            self.merge_adapter(force=False)

    def _merge_confirmed(self, yes: bool | None) -> None:
        if yes:
            self.merge_adapter(force=True)

    @work(thread=True, exclusive=True, group="merge", exit_on_error=False)
    def merge_adapter(self, force: bool) -> str:
        from backends.local.merge_process import merge_in_subprocess

        self._merge_cancel = threading.Event()
        self._output_busy = "merge"
        call = self.app.call_from_thread
        call(self.refresh_bindings)
        call(
            self.notify,
            "Merging the adapter into the base model; progress in the log below. "
            "Leaving this screen cancels it.",
            title="Merge",
        )
        try:
            result = merge_in_subprocess(self.folder, force=force, cancel=self._merge_cancel)
        finally:
            self._output_busy = ""
        return f"Merged model ({result.dtype}: {result.reason}) saved in {result.path}"

    def on_unmount(self) -> None:
        if self._merge_cancel is not None:
            self._merge_cancel.set()

    # --- export ----------------------------------------------------------------
    def action_export_output(self) -> None:
        existing = [str(p.relative_to(self.folder.output_dir)) for p in list_exports(self.folder)]
        self.app.push_screen(ExportScreen(self.folder.run_id, existing), self._export_chosen)

    def _export_chosen(self, choice: ExportChoice | None) -> None:
        if choice is not None:
            self.export_run(choice)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def export_run(self, choice: ExportChoice) -> str:
        from backends.local.export_process import export_in_subprocess

        self._merge_cancel = threading.Event()
        self._output_busy = "export"
        call = self.app.call_from_thread
        call(self.refresh_bindings)
        call(
            self.notify,
            f"Exporting to {choice.kind} and checking it; progress in the log below. "
            "Leaving this screen cancels it.",
            title="Export",
        )
        try:
            result = export_in_subprocess(
                self.folder,
                choice.kind,
                quant=choice.quant,
                force=choice.force,
                cancel=self._merge_cancel,
            )
        finally:
            self._output_busy = ""
        return "\n".join(result.lines()[:3] + result.commands[-2:])

    # --- push ------------------------------------------------------------------
    def action_push_output(self) -> None:
        self.app.push_screen(
            PushScreen(self.folder.run_id, merged_available=merged_dir(self.folder).is_dir()),
            self._push_chosen,
        )

    def _push_chosen(self, choice: PushChoice | None) -> None:
        if choice is not None:
            self.push_to_hub(choice)

    @work(thread=True, exclusive=True, group="push", exit_on_error=False)
    def push_to_hub(self, choice: PushChoice) -> str:
        from backends.local.push import push_run

        self._output_busy = "push"
        self.app.call_from_thread(self.refresh_bindings)
        try:
            result = push_run(
                self.folder, choice.repo, merged=choice.merged, private=choice.private
            )
        finally:
            self._output_busy = ""
        return f"Pushed {result.files} file(s) from {result.source} to {result.url}"
