"""Progress for long steps that print nothing while they work (sample generation, gates, dbt, docs).

A ``Heartbeat`` prints "... still <doing what> (N s)" whenever nothing was printed for ``every`` seconds, so a
terminal (or a CI log) always shows the command is alive and what it is doing; ``touch()`` resets the clock when
the work printed a line of its own, and ``label`` may change as the work moves to another step.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO


class Heartbeat:
    def __init__(
        self,
        label: str,
        *,
        every: float = 5.0,
        stream: TextIO | None = None,
        describe: Callable[[], str | None] | None = None,
        poll: float = 0.5,
    ):
        self.label = label
        self._every = every
        self._poll = poll  # how often the thread looks whether a beat is due (tests pass a shorter one)
        self._stream = stream
        self._describe = describe  # called on each beat for a fresher label (e.g. the running step)
        self._started = time.monotonic()
        self._last_output = self._started
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pmw-heartbeat", daemon=True)

    def touch(self) -> None:
        self._last_output = time.monotonic()

    def __enter__(self) -> Heartbeat:
        self._started = self._last_output = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._poll):
            now = time.monotonic()
            if now - self._last_output < self._every:
                continue
            label = (self._describe() if self._describe else None) or self.label
            stream = self._stream or sys.stdout
            print(
                f"  {time.strftime('%H:%M:%S')} ... still {label} ({now - self._started:.0f}s)", file=stream, flush=True
            )
            self._last_output = now
