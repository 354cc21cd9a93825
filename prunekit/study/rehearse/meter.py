"""Wall time and peak memory of the stages of a rehearsal.

A background thread samples the process's resident set size (``/proc/self/statm``, else
``psutil``) every ``interval`` seconds; each :meth:`Meter.stage` records its wall time
(``time.perf_counter``), the peak RSS sampled while it ran (also sampled at its start and
end, so a stage shorter than the interval still has one) and, with a GPU, TensorFlow's peak
GPU memory (``tf.config.experimental.get_memory_info``: reset at each stage's start, the peak
so far folded into the stages still open first). Nested stages each get their own record; an
outer stage's wall and peaks include its inner ones.
"""
from __future__ import annotations

import contextlib
import os
import threading
import time

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    """The process's resident set size now, in bytes."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:
        import psutil

        return int(psutil.Process().memory_info().rss)


def _gpus() -> list:
    import tensorflow as tf

    return [f"GPU:{i}" for i, _ in enumerate(tf.config.list_logical_devices("GPU"))]


class Meter:
    """``records``: one dict per finished stage, in finishing order: ``stage``, ``wall_s``,
    ``peak_rss_bytes`` and ``peak_gpu_bytes`` (None without a GPU)."""

    def __init__(self, interval: float = 0.05):
        self.records, self._open = [], []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._gpu = _gpus()
        self._thread = threading.Thread(target=self._sample, args=(interval,), daemon=True)
        self._thread.start()

    def _sample(self, interval):
        while not self._stop.wait(interval):
            self._note(rss_bytes())

    def _note(self, rss):
        with self._lock:
            for rec in self._open:
                rec["peak_rss_bytes"] = max(rec["peak_rss_bytes"], rss)

    def _gpu_peak(self) -> int:
        import tensorflow as tf

        return sum(int(tf.config.experimental.get_memory_info(d)["peak"]) for d in self._gpu)

    def _fold_gpu(self, records) -> None:
        """The GPU peak since the last reset into ``records`` (an inner stage resets it)."""
        peak = self._gpu_peak()
        for rec in records:
            rec["peak_gpu_bytes"] = max(rec["peak_gpu_bytes"] or 0, peak)

    @contextlib.contextmanager
    def stage(self, name: str, **fields):
        """Measures the block as stage ``name`` (``fields`` are stored with it)."""
        rec = {"stage": name, **fields, "wall_s": 0.0, "peak_rss_bytes": rss_bytes(), "peak_gpu_bytes": None}
        if self._gpu:
            import tensorflow as tf

            self._fold_gpu(self._open)  # the outer stages keep their peak so far
            for d in self._gpu:
                tf.config.experimental.reset_memory_stats(d)
        with self._lock:
            self._open.append(rec)
        t0 = time.perf_counter()
        try:
            yield rec
        finally:
            rec["wall_s"] = time.perf_counter() - t0
            self._note(rss_bytes())
            if self._gpu:
                self._fold_gpu(self._open)
            with self._lock:
                self._open.remove(rec)
            self.records.append(rec)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
