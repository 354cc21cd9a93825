"""The study-level progress line: runs done / total, failures, elapsed, ETA."""
from __future__ import annotations

import sys
import time


def _clock(seconds: float) -> str:
    seconds = int(round(max(seconds, 0)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Prints one line per finished run (to stderr by default, flushed)."""

    def __init__(self, study: str, total: int, skipped: int, failed_before: int = 0, stream=None):
        self.study, self.total, self.skipped = study, total, skipped
        self.done = skipped
        self.failed = failed_before
        self.new = 0
        self.start = time.perf_counter()
        self.stream = stream or sys.stderr

    def line(self, last: str = "") -> str:
        elapsed = time.perf_counter() - self.start
        remaining = self.total - self.done
        eta = elapsed / self.new * remaining if self.new else float("nan")
        eta_s = _clock(eta) if self.new else "?"
        text = (f"[{self.study}] {self.done}/{self.total} runs ({self.skipped} skipped) | "
                f"{self.failed} failed | elapsed {_clock(elapsed)} | ETA {eta_s}")
        return text + (f" | {last}" if last else "")

    def start_line(self) -> None:
        print(self.line("starting"), file=self.stream, flush=True)

    def update(self, name: str, result: dict) -> None:
        self.done += 1
        self.new += 1
        if result.get("status") == "ok":
            acc = result.get("metrics", {}).get("test_accuracy")
            last = f"{name} acc={acc:.3f}" if acc is not None else name
        else:
            self.failed += 1
            last = f"{name} FAILED: {result.get('reason', '?')}"
        last += f" ({result.get('run_s', 0):.1f}s)"
        print(self.line(last), file=self.stream, flush=True)
