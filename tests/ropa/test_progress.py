import io

import pytest

from ropa.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_progress_draws_counts_and_estimate_on_a_terminal():
    stream, clock = Terminal(), Clock()
    progress = Progress(stream, 100, "Exporting", clock=clock)

    clock.now = 10.0
    progress.advance(40)

    assert stream.getvalue() == (
        "\rExporting [############                  ] 40/100  ETA 0:00:15"
    )


def test_progress_ends_the_line_when_done():
    stream, clock = Terminal(), Clock()
    with Progress(stream, 2, "Importing", clock=clock) as progress:
        clock.now = 3.0
        progress.advance(2)

    assert stream.getvalue().endswith("2/2  in 0:00:03\n")


@pytest.mark.parametrize(
    ("stream", "enabled", "total"),
    [
        (io.StringIO(), True, 10),  # not a terminal: cron, pipes, logs
        (Terminal(), False, 10),  # --verbosity 0
        (Terminal(), True, 0),  # nothing to count
    ],
)
def test_progress_stays_quiet(stream, enabled, total):
    with Progress(stream, total, "Working", enabled=enabled) as progress:
        progress.advance(5)

    assert stream.getvalue() == ""
