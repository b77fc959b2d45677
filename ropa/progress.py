"""A progress bar for long commands, shown on a terminal only."""

import time


class Progress:
    """
    ``Progress(stream, total, label)`` draws ``label [####    ] 40/100  ETA 0:12``.

    Draws nothing when ``enabled`` is false, when the stream is not a terminal
    (cron, pipes, log files) or when the total is unknown, so that logs stay
    clean. Redraws at most ten times a second.
    """

    width = 30

    def __init__(self, stream, total, label, *, enabled=True, clock=time.monotonic):
        self.stream = stream
        self.total = total
        self.label = label
        self.clock = clock
        self.done = 0
        self.started = clock()
        self.last_drawn = None
        isatty = getattr(stream, "isatty", None)
        self.enabled = bool(enabled and total and isatty and isatty())

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.finish()

    def advance(self, count=1):
        self.done += count
        now = self.clock()
        if self.enabled and (
            self.last_drawn is None or now - self.last_drawn >= 0.1 or self.complete
        ):
            self.last_drawn = now
            self.stream.write("\r" + self.line(now))
            self.stream.flush()

    @property
    def complete(self):
        return self.done >= self.total

    def line(self, now):
        fraction = min(self.done / self.total, 1)
        filled = int(self.width * fraction)
        bar = "#" * filled + " " * (self.width - filled)
        elapsed = now - self.started
        if self.done and not self.complete:
            remaining = elapsed / self.done * (self.total - self.done)
            eta = f"ETA {_clock_time(remaining)}"
        else:
            eta = f"in {_clock_time(elapsed)}"
        return f"{self.label} [{bar}] {self.done:,}/{self.total:,}  {eta}"

    def finish(self):
        if self.enabled and self.last_drawn is not None:
            self.stream.write("\n")
            self.stream.flush()
            self.last_drawn = None


def _clock_time(seconds):
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
