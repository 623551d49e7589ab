"""Draw a chart as a PNG (pure Python): for Slack, which shows images but not SVG.

No text is drawn (that needs fonts); the message carrying the image names the series, the
onset and the console link.
"""

from __future__ import annotations

import itertools
import math
import struct
import zlib

from opsloop.agent.server.console.charts import Chart, baseline_band

W, H, PAD = 720, 240, 12
WHITE, LINE, BAND = (255, 255, 255), (11, 87, 208), (220, 230, 248)
ONSET, CHANGE, FRAME = (179, 38, 30), (122, 74, 0), (200, 200, 200)


class Canvas:
    """An RGB raster with the few primitives a line chart needs."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.rows = [bytearray(WHITE * width) for _ in range(height)]

    def dot(self, x: int, y: int, colour: tuple[int, int, int], size: int = 1) -> None:
        """Paint a size×size square at (x, y)."""
        for yy in range(y, y + size):
            for xx in range(x, x + size):
                if 0 <= xx < self.width and 0 <= yy < self.height:
                    self.rows[yy][3 * xx : 3 * xx + 3] = bytes(colour)

    def rect(self, x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int]) -> None:
        """Fill a rectangle."""
        for y in range(max(y0, 0), min(y1, self.height)):
            for x in range(max(x0, 0), min(x1, self.width)):
                self.rows[y][3 * x : 3 * x + 3] = bytes(colour)

    def line(self, a: tuple[float, float], b: tuple[float, float], colour: tuple[int, int, int],
             size: int = 2, dash: int = 0) -> None:  # fmt: skip
        """Draw a line from a to b (dashed when `dash` > 0)."""
        steps = max(int(max(abs(b[0] - a[0]), abs(b[1] - a[1]))), 1)
        for i in range(steps + 1):
            if dash and (i // dash) % 2:
                continue
            x = a[0] + (b[0] - a[0]) * i / steps
            y = a[1] + (b[1] - a[1]) * i / steps
            self.dot(round(x), round(y), colour, size)

    def png(self) -> bytes:
        """Encode as PNG (8-bit RGB, no filter)."""
        raw = b"".join(b"\x00" + bytes(row) for row in self.rows)

        def chunk(kind: bytes, data: bytes) -> bytes:
            body = kind + data
            return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
        )  # fmt: skip


def png(chart: Chart) -> bytes | None:
    """Return the chart as PNG bytes, or None when it has fewer than two points."""
    points = [(t, v) for t, v in chart.points if math.isfinite(v)]
    if len(points) < 2:
        return None
    canvas = Canvas(W, H)
    t0, t1 = chart.span(points)
    low, high = baseline_band(points, chart.onset)
    values = [v for _t, v in points] + [x for x in (low, high) if math.isfinite(x)]
    vmin, vmax = min(values), max(values)
    vmax = vmax if vmax > vmin else vmin + 1

    def x(t: float) -> float:
        return PAD + (t - t0) / max(t1 - t0, 1e-9) * (W - 2 * PAD)

    def y(v: float) -> float:
        return H - PAD - (v - vmin) / (vmax - vmin) * (H - 2 * PAD)

    if math.isfinite(low):
        canvas.rect(PAD, round(y(high)), W - PAD, round(y(low)) + 1, BAND)
    for edge in (PAD, H - PAD):  # a light frame: top and bottom
        canvas.line((PAD, edge), (W - PAD, edge), FRAME, size=1)
    for at, _what in chart.changes:
        if t0 <= at <= t1:
            canvas.line((x(at), PAD), (x(at), H - PAD), CHANGE, size=2)
    if chart.onset is not None and t0 <= chart.onset <= t1:
        canvas.line((x(chart.onset), PAD), (x(chart.onset), H - PAD), ONSET, size=2, dash=6)
    for (ta, va), (tb, vb) in itertools.pairwise(points):
        canvas.line((x(ta), y(va)), (x(tb), y(vb)), LINE, size=2)
    return canvas.png()
