"""The benchmark's figures of the health chart, measured on a small history."""

import re

import pytest
from django.core.cache import cache

from ropa.models import HealthMonth
from ropa.perf.benchmark import HEALTH_REFERENCE, Run, measure_health
from tests.ropa.test_health import M1, M2, M3, NOW, build_timeline, on

pytestmark = pytest.mark.django_db


def test_the_benchmark_measures_the_months_and_the_home_page():
    cache.clear()
    with on(NOW):
        build_timeline()
        run = Run(4)
        messages = []
        measure_health(run, repeat=2, progress=messages.append)

    notes = {figure.name: figure.note for figure in run.figures}
    assert list(notes) == [
        "admin home, no month kept yet",
        "health: one month rebuilt from history (2026-02)",
        "health: cold fill of 3 months (compute_health)",
        HEALTH_REFERENCE,
        "admin home: months kept, pictures drawn",
        "admin home: months kept, pictures cached",
    ]
    assert messages == ["4 activities: health chart and home page"]
    assert set(HealthMonth.objects.values_list("month", flat=True)) == {M3, M2, M1}
    reference = run.get(HEALTH_REFERENCE).fastest
    for name in list(notes)[-2:]:
        ratio = re.fullmatch(
            r"fastest of 2: ([\d.]+) s = ([\d.]+)x the reference", notes[name]
        )
        assert ratio, notes[name]
        assert float(ratio[2]) == pytest.approx(
            run.get(name).fastest / reference, abs=0.05
        )
    cache.clear()
