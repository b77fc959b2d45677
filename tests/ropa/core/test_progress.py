import io

import pytest
from django.core.management.base import OutputWrapper

from ropa.core.progress import Progress, no_progress, progress_bars


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
        "\rExporting [                              ] 0/100  in 0:00:00"
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


def test_progress_bars_on_a_terminal_make_drawn_bars():
    stream = Terminal()
    bars = progress_bars(stream)

    with bars(3, "Importing") as bar:
        bar.advance(3)

    assert stream.getvalue().startswith("\rImporting [")
    assert stream.getvalue().endswith("3/3  in 0:00:00\n")


@pytest.mark.parametrize(
    ("stream", "enabled"),
    [
        (io.StringIO(), True),  # not a terminal: cron, pipes, logs
        (Terminal(), False),  # --verbosity 0
    ],
)
def test_progress_bars_none_where_nothing_would_be_drawn(stream, enabled):
    assert progress_bars(stream, enabled=enabled) is None


def test_no_progress_draws_nothing_and_counts():
    with no_progress(10, "Working") as bar:
        bar.advance(4)
        bar.advance()

    assert not bar.enabled
    assert bar.done == 5


def test_progress_redraws_one_line_through_a_command_output():
    stream, clock = Terminal(), Clock()
    with Progress(OutputWrapper(stream), 4, "Generating", clock=clock) as progress:
        clock.now = 1.0
        progress.advance()
        clock.now = 2.0
        progress.advance(3)

    text = stream.getvalue()
    # One line, redrawn: the only line break is the one that ends it.
    assert text.count("\n") == 1
    assert text.startswith(
        "\rGenerating [                              ] 0/4  in 0:00:00"
        "\rGenerating [#######                       ] 1/4  ETA 0:00:03\r"
    )
    assert text.endswith(
        "\rGenerating [##############################] 4/4  in 0:00:02\n"
    )


def test_progress_redraws_at_most_ten_times_a_second():
    stream, clock = Terminal(), Clock()
    progress = Progress(stream, 100, "Checking", clock=clock)
    for _ in range(9):
        clock.now += 0.01
        progress.advance()
    clock.now = 0.5
    progress.advance()

    assert stream.getvalue().count("\r") == 2
    assert stream.getvalue().endswith("] 10/100  ETA 0:00:04")


def test_progress_blanks_a_longer_line_before_drawing_a_shorter_one():
    stream, clock = Terminal(), Clock()
    with Progress(stream, 2, "Importing", clock=clock) as progress:
        clock.now = 1.0
        progress.advance()
        clock.now = 2.0
        progress.advance()

    longer = "Importing [###############               ] 1/2  ETA 0:00:01"
    assert f"\r{longer}\r{' ' * len(longer)}\rImporting [" in stream.getvalue()
    # The line ends with its time, not with padding.
    assert stream.getvalue().endswith("2/2  in 0:00:02\n")


def test_progress_through_a_command_output_is_not_coloured_as_an_error():
    stream = Terminal()
    output = OutputWrapper(stream)
    output.style_func = lambda text: f"<error>{text}</error>"
    with Progress(output, 1, "Exporting") as progress:
        progress.advance()

    assert "<error>" not in stream.getvalue()
    assert stream.getvalue().endswith("1/1  in 0:00:00\n")
