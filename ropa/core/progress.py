"""A progress bar for long commands, shown on a terminal only."""

import time

from django.core.management.base import OutputWrapper


class Progress:
    """
    ``Progress(stream, total, label)`` draws ``label [####    ] 40/100  ETA 0:12``.

    Draws nothing when ``enabled`` is false, when the stream is not a terminal
    (cron, pipes, log files) or when the total is unknown, so that logs stay
    clean. Redraws at most ten times a second. A command's ``self.stderr``
    will do: neither its line ending nor its error colour is added.
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
        self.enabled = bool(enabled and total and _is_terminal(stream))

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
            self._write("\r" + self.line(now))

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
            self._write("\n")
            self.last_drawn = None

    def _write(self, text):
        if isinstance(self.stream, OutputWrapper):
            # Which would end every redraw with a line break, and colour a
            # command's standard error as an error.
            self.stream.write(text, style_func=_plain, ending="")
        else:
            self.stream.write(text)
        self.stream.flush()


def progress_bars(stream, *, enabled=True):
    """
    What a command hands to long work: ``bars(total, label)`` makes a
    ``Progress`` on ``stream``. None when no bar would be drawn (``enabled``
    false, as with ``--verbosity 0``, or ``stream`` not a terminal), so that
    the work need not count what it would show.
    """
    if not enabled or not _is_terminal(stream):
        return None

    def bars(total, label):
        return Progress(stream, total, label)

    return bars


def no_progress(total, label):
    """A bar that draws nothing, for work given no ``progress_bars``."""
    return Progress(None, total, label, enabled=False)


def _plain(text):
    return text


def _is_terminal(stream):
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _clock_time(seconds):
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
