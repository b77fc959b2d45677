"""A progress bar for long commands, shown on a terminal only, drawn by tqdm."""

import time

from django.core.management.base import OutputWrapper
from tqdm import tqdm


class Progress:
    """
    ``Progress(stream, total, label)`` draws ``label [####    ] 40/100  ETA 0:00:12``.

    Draws nothing when ``enabled`` is false, when the stream is not a terminal
    (cron, pipes, log files) or when the total is unknown, so that logs stay
    clean. Redraws at most ten times a second. A command's ``self.stderr``
    will do: neither its line ending nor its error colour is added.
    """

    def __init__(self, stream, total, label, *, enabled=True, clock=time.monotonic):
        self.total = total
        self.label = label
        self.done = 0
        self.enabled = bool(enabled and total and _is_terminal(stream))
        self.bar = _Bar(stream, total, label, clock) if self.enabled else None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.finish()

    def advance(self, count=1):
        self.done += count
        if self.bar is not None:
            self.bar.update(count)

    def finish(self):
        """The bar drawn as it ends, and its line ended."""
        if self.bar is not None:
            self.bar.close()


class _Bar(tqdm):
    """tqdm in the commands' own format, the one their output has always had."""

    # Redrawn by ``update`` only: no monitor thread beside the command's.
    monitor_interval = 0

    def __init__(self, stream, total, label, clock):
        super().__init__(
            total=total,
            desc=label,
            file=_Output(stream),
            ascii=" #",
            bar_format="{desc} [{bar:30}] {counts}  {estimate}",
            # Each bar on the line of the one before: no stacking of bars.
            position=0,
            mininterval=0.1,
        )
        # tqdm measures with the wall clock; its own tests set it so.
        self._time = clock
        self.start_t = self.last_print_t = clock()

    @property
    def format_dict(self):
        values = super().format_dict
        done, total, elapsed = values["n"], values["total"], values["elapsed"]
        values["counts"] = f"{done:,}/{total:,}"
        if done and done < total:
            values["estimate"] = f"ETA {_clock_time(elapsed / done * (total - done))}"
        else:
            values["estimate"] = f"in {_clock_time(elapsed)}"
        return values

    @staticmethod
    def status_printer(file):
        # tqdm pads a shorter line with spaces after it; here the longer line
        # is blanked before, so that a line ends with its time, as readers of
        # the commands' output expect.
        drawn = 0

        def print_status(line):
            nonlocal drawn
            blank = "\r" + " " * drawn if len(line) < drawn else ""
            file.write(f"{blank}\r{line}")
            file.flush()
            drawn = len(line)

        return print_status


class _Output:
    """
    ``stream`` for tqdm. A command's ``OutputWrapper`` would end every redraw
    with a line break, and colour a command's standard error as an error.
    """

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        if isinstance(self.stream, OutputWrapper):
            self.stream.write(text, style_func=_plain, ending="")
        else:
            self.stream.write(text)

    def flush(self):
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
