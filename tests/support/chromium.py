"""Headless Debian Chromium for page tests: load a file, collect console errors, DOM and a screenshot.

`find_chromium()` installs the `chromium` package with apt-get when it is
missing (and returns None when that is impossible, so tests can skip).
`computed_styles()` reads what elements look like once Chromium has laid the page out.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--enable-logging=stderr", "--v=0",
]
# Chromium writes page console messages as ...:INFO:CONSOLE:1] "Uncaught ReferenceError: ...", source: ...
# (older versions: CONSOLE(1)).
_CONSOLE = re.compile(r":(INFO|WARNING|ERROR):CONSOLE[:(]\d+\)?\] \"(.*)\", source")
_NETWORK = re.compile(r"net::ERR_|Failed to load resource")


def find_chromium() -> str | None:
    """Path of Debian's chromium, installing it with apt-get when missing; None if impossible."""
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        try:
            subprocess.run(command, env=env, capture_output=True, timeout=900, check=True)
        except (subprocess.SubprocessError, OSError):
            return None
    return shutil.which("chromium")


@dataclass
class PageRun:
    """What Chromium saw: console errors, the DOM after scripts ran, and a screenshot's pixels."""

    console_errors: list[str]
    dom: str
    pixels: np.ndarray


def _run(chromium: str, url: str, *extra: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [chromium, *FLAGS, f"--user-data-dir={profile}", *extra, url],
            capture_output=True, text=True, timeout=120,
        )


def load_page(chromium: str, page: Path, size: tuple[int, int] = (1280, 1600)) -> PageRun:
    """Open a local page twice: once dumping the DOM, once taking a screenshot."""
    url = page.resolve().as_uri()
    dumped = _run(chromium, url, "--dump-dom")
    with tempfile.TemporaryDirectory() as folder:
        shot = Path(folder) / "page.png"
        taken = _run(chromium, url, f"--window-size={size[0]},{size[1]}", f"--screenshot={shot}")
        if not shot.exists():
            raise RuntimeError(f"chromium took no screenshot: {taken.stderr[-2000:]}")
        pixels = decode_png(shot.read_bytes())
    errors = []
    for log in (dumped.stderr, taken.stderr):
        for line in log.splitlines():
            match = _CONSOLE.search(line)
            if (match and (match.group(1) == "ERROR" or "Uncaught" in match.group(2))) or _NETWORK.search(line):
                errors.append(line)
    return PageRun(errors, dumped.stdout, pixels)


_PROBE = """<script>
(function () {
  var found = Array.from(document.querySelectorAll(%s)).map(function (el) {
    var style = getComputedStyle(el), attributes = {}, values = {};
    Array.from(el.attributes).forEach(function (a) { attributes[a.name] = a.value; });
    %s.forEach(function (name) { values[name] = style.getPropertyValue(name); });
    var first = el.firstElementChild;
    var box = el.getBoundingClientRect();
    return {attributes: attributes, style: values, label: first ? first.textContent : '',
            top: box.top + window.scrollY, height: box.height};
  });
  var out = document.createElement('pre');
  out.id = 'chromium-probe';
  out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
})();
</script>"""


def computed_styles(chromium: str, page: Path, selector: str, properties: list[str],
                    size: tuple[int, int] = (1280, 1600)) -> list[dict]:
    """Every element matching `selector` once the page ran in a window of `size`: its attributes, the
    computed value of each of `properties`, the text of its first child element ("label"), and where it
    is drawn ("top" and "height" in CSS pixels from the top of the page)."""
    probe = _PROBE % (json.dumps(selector), json.dumps(properties))
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / page.name
        copy.write_text(page.read_text(encoding="utf-8") + probe, encoding="utf-8")
        dumped = _run(chromium, copy.resolve().as_uri(), f"--window-size={size[0]},{size[1]}", "--dump-dom")
    match = re.search(r'<pre id="chromium-probe">(.*?)</pre>', dumped.stdout, re.S)
    if match is None:
        raise RuntimeError(f"the probe did not run: {dumped.stderr[-2000:]}")
    return json.loads(html.unescape(match.group(1)))


def decode_png(data: bytes) -> np.ndarray:
    """Pixels (height, width, channels) of an 8-bit, non-interlaced RGB/RGBA/grey PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    position, chunks, header = 8, [], b""
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height = int.from_bytes(header[0:4], "big"), int.from_bytes(header[4:8], "big")
    depth, colour, interlace = header[8], header[9], header[12]
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise ValueError(f"unsupported PNG (depth {depth}, colour type {colour}, interlace {interlace})")
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows = np.zeros((height, stride), dtype=np.uint8)
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(kind, line, previous, channels)
        rows[y] = np.frombuffer(bytes(line), dtype=np.uint8)
        previous = line
    return rows.reshape(height, width, channels)


def _unfilter(kind: int, line: bytearray, previous: bytearray, bpp: int) -> None:
    """Undo one PNG row filter in place (None, Sub, Up, Average, Paeth)."""
    if kind == 0:
        return
    if kind == 2:
        line[:] = ((np.frombuffer(line, np.uint8).astype(np.uint16) + np.frombuffer(previous, np.uint8)) % 256).astype(np.uint8).tobytes()
        return
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = previous[i]
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
        elif kind == 4:
            corner = previous[i - bpp] if i >= bpp else 0
            estimate = left + up - corner
            pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
            predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
            line[i] = (line[i] + predictor) & 0xFF
        else:
            raise ValueError(f"unknown PNG filter {kind}")
