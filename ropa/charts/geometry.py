"""
The world's countries as SVG paths, from pygal_maps_world's map.

pygal_maps_world draws each country (``<g class="xx country ...">``, ``xx``
its ISO 3166-1 alpha-2 code in lower case) with relative cubic curves, 780 kB
for the world. Drawn a few hundred pixels wide, inline in a page or in a PDF,
that detail is invisible and costly (svglib draws every point), so each
outline is read once per process and made lighter: the curves become lines
between their end points (at most a unit of the map's 2475 apart), simplified
(Douglas-Peucker, within ``TOLERANCE`` units) and written with whole-unit
relative moves. The world weighs some 70 kB after that, which a page and the
PDF draw at once.
"""

import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pygal_maps_world
from lxml import etree

SOURCE = Path(pygal_maps_world.__file__).resolve().parent / "worldmap.svg"
TOLERANCE = 1.0
# Antarctica: no recipient there, and a fifth of the map's height.
LEFT_OUT = frozenset({"aq"})

_TOKEN = re.compile(r"[a-zA-Z]|-?(?:\d+\.?\d*|\.\d+)(?:e-?\d+)?")
# The numbers each relative command takes (the map uses no others).
_ARGUMENTS = {"m": 2, "l": 2, "c": 6, "s": 4, "h": 1, "v": 1}


@dataclass(frozen=True)
class Country:
    code: str  # ISO 3166-1 alpha-2, upper case
    path: str  # the outline, SVG path data in the map's units
    anchor: tuple  # where its label goes: the middle of its largest part


@dataclass(frozen=True)
class World:
    countries: dict  # code -> Country
    box: tuple  # (left, top, right, bottom) of the countries drawn


def _rings(data):
    """The outline's rings as absolute points: curves by their end points."""
    tokens = _TOKEN.findall(data)
    rings, x, y, command, i = [], 0.0, 0.0, None, 0
    while i < len(tokens):
        if tokens[i].isalpha():
            command = tokens[i]
            i += 1
            continue
        if command not in _ARGUMENTS:
            raise ValueError(f"unexpected path command {command!r} in {SOURCE}")
        count = _ARGUMENTS[command]
        values = [float(value) for value in tokens[i : i + count]]
        i += count
        if command == "m":
            x, y = x + values[0], y + values[1]
            rings.append([(x, y)])
            # Numbers after a moveto are lines.
            command = "l"
            continue
        if command == "h":
            x += values[0]
        elif command == "v":
            y += values[0]
        else:
            x, y = x + values[-2], y + values[-1]
        rings[-1].append((x, y))
    return rings


def _simplified(ring):
    """``ring`` within ``TOLERANCE`` of itself, with fewer points (Douglas-Peucker)."""
    if len(ring) < 3:
        return ring
    keep = [False] * len(ring)
    keep[0] = keep[-1] = True
    stack = [(0, len(ring) - 1)]
    while stack:
        first, last = stack.pop()
        (ax, ay), (bx, by) = ring[first], ring[last]
        dx, dy = bx - ax, by - ay
        length = math.hypot(dx, dy)
        farthest, index = -1.0, None
        for k in range(first + 1, last):
            px, py = ring[k]
            if length:
                distance = abs(dy * (px - ax) - dx * (py - ay)) / length
            else:
                distance = math.hypot(px - ax, py - ay)
            if distance > farthest:
                farthest, index = distance, k
        if index is not None and farthest > TOLERANCE:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [point for point, kept in zip(ring, keep, strict=True) if kept]


def _whole(ring):
    points = [(round(x), round(y)) for x, y in ring]
    kept = points[:1]
    for point in points[1:]:
        if point != kept[-1]:
            kept.append(point)
    return kept


def _path_data(rings):
    parts = []
    for ring in rings:
        (x, y), rest = ring[0], ring[1:]
        moves = " ".join(
            f"{b[0] - a[0]} {b[1] - a[1]}" for a, b in zip(ring, rest, strict=False)
        )
        parts.append(f"M{x} {y}l{moves}z".replace(" -", "-"))
    return "".join(parts)


def _box(points):
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    return min(xs), min(ys), max(xs), max(ys)


@cache
def world():
    """The countries of the map, read and simplified once per process."""
    svg = "{http://www.w3.org/2000/svg}"
    root = etree.parse(str(SOURCE)).getroot()
    countries = {}
    boxes = []
    for group in root.iter(f"{svg}g"):
        classes = group.get("class", "").split()
        if "country" not in classes or classes[0] in LEFT_OUT:
            continue
        rings = [
            _whole(_simplified(ring))
            for path in group.iter(f"{svg}path")
            for ring in _rings(path.get("d", ""))
        ]
        rings = [ring for ring in rings if len(ring) >= 3]
        if not rings:
            continue
        largest = max(rings, key=lambda ring: _area(_box(ring)))
        left, top, right, bottom = _box(largest)
        code = classes[0].upper()
        countries[code] = Country(
            code=code,
            path=_path_data(rings),
            anchor=((left + right) / 2, (top + bottom) / 2),
        )
        boxes.append(_box([point for ring in rings for point in ring]))
    box = (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
    return World(countries=countries, box=box)


def _area(box):
    left, top, right, bottom = box
    return (right - left) * (bottom - top)
