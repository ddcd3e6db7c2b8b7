"""The progress display of a study: runs finished, and the epochs of the runs in flight.

Two bars on stderr: the runs (finished out of all, with the diverged and failed counts) and
the epochs (of every run this session computes, those of finished runs plus those the
running runs have done so far), labelled with the runs in flight and their progress. The
executors feed it from wherever the runs run (worker processes, a Ray cluster).
"""
from __future__ import annotations

import math

__all__ = ["Progress"]

SHOWN_RUNNING = 3


class Progress:
    """``with Progress(True, "study: runs", total=N, done=reused) as bar: ...``; then
    ``bar.plan(key, label, epochs)`` for each run to compute, ``bar.start(key)``,
    ``bar.epoch(key, epoch, epochs, logs)`` and ``bar.advance(record, key)``.
    ``console`` (a rich Console) is where it draws (default stderr)."""

    def __init__(self, enabled: bool, description: str, total: int, done: int, console=None):
        self.enabled = enabled
        self.description, self.total, self.done = description, total, done
        self.failed = self.diverged = 0
        self.console = console
        self.progress = None
        self.labels: dict[str, str] = {}
        self.planned: dict[str, int] = {}      # key -> epochs of each run to compute
        self.running: dict[str, list] = {}      # key -> [epoch done, epochs, last val acc]
        self.epochs_finished = 0                # epochs of the runs finished in this session

    # -- state ------------------------------------------------------------------------------
    def plan(self, key: str, label: str, epochs: int) -> None:
        self.labels[key] = label
        self.planned[key] = max(int(epochs or 0), 0)
        if self.progress is not None:
            self.progress.update(self.epochs_task, total=max(self.epochs_total, 1))

    @property
    def epochs_total(self) -> int:
        return sum(self.planned.values())

    @property
    def epochs_done(self) -> int:
        return self.epochs_finished + sum(r[0] for r in self.running.values())

    def start(self, key: str) -> None:
        self.running[key] = [0, self.planned.get(key, 0), None]  # a retry starts again from 0
        self._draw()

    def epoch(self, key: str, epoch: int, epochs: int, logs: dict | None = None) -> None:
        run = self.running.setdefault(key, [0, epochs, None])
        run[0], run[1] = min(int(epoch), int(epochs)), int(epochs)
        acc = (logs or {}).get("val_accuracy")
        if isinstance(acc, float) and math.isfinite(acc):
            run[2] = acc
        self._draw()

    def advance(self, record: dict | None, key: str | None = None) -> None:
        status = (record or {}).get("status")
        self.failed += status == "failed"
        self.diverged += status == "diverged"
        self.done += 1
        if key is not None and key in self.planned:
            self.running.pop(key, None)
            self.epochs_finished += self.planned[key]  # a diverged run counts as complete
        self._draw()

    # -- drawing ----------------------------------------------------------------------------
    def _text(self) -> str:
        extra = "".join([f", {self.diverged} diverged" if self.diverged else "",
                         f", {self.failed} failed" if self.failed else ""])
        return f"{self.description}{extra}"

    def running_text(self) -> str:
        """``"  epochs · relu seed 0 3/30 (val acc 0.912), tanh seed 0 2/30"``."""
        if not self.running:
            return "  epochs"
        parts = []
        for key, (epoch, epochs, acc) in list(self.running.items())[:SHOWN_RUNNING]:
            text = f"{self.labels.get(key, key[:8])} {epoch}/{epochs}"
            parts.append(text + (f" (val acc {acc:.3f})" if acc is not None else ""))
        more = len(self.running) - SHOWN_RUNNING
        return "  epochs · " + ", ".join(parts) + (f" +{more} running" if more > 0 else "")

    def _draw(self) -> None:
        if self.progress is None:
            return
        self.progress.update(self.runs_task, completed=self.done, description=self._text())
        self.progress.update(self.epochs_task, completed=self.epochs_done, total=max(self.epochs_total, 1),
                             description=self.running_text())

    def __enter__(self):
        if self.enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), TimeRemainingColumn(),
                                     console=self.console or Console(stderr=True), transient=False)
            self.progress.__enter__()
            self.runs_task = self.progress.add_task(self._text(), total=self.total, completed=self.done)
            self.epochs_task = self.progress.add_task(self.running_text(), total=max(self.epochs_total, 1))
        return self

    def __exit__(self, *exc):
        if self.progress is not None:
            self._draw()
            self.progress.__exit__(*exc)
        return False
