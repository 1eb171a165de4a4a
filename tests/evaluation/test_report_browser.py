"""The HTML report in a real browser: headless Chromium (Debian's package; ``make chromium``) loads
a smoke run's report.html, every <img> decodes, nothing is fetched from outside the file (the
report is self-contained), and a screenshot is saved under the run folder.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: fd 3
in, fd 4 out, NUL-separated JSON), so the test needs no Python package beyond the standard library.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from sciformers.evaluation import run_pipeline

CHROMIUM = os.environ.get("SCIFORMERS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed: run 'make chromium' "
                                "(Debian's package, apt-get install chromium) or set SCIFORMERS_CHROMIUM")
FAST = ["train.steps=2", "train.eval_every=1", "data.n_train=40", "data.n_test=10"]
IMAGES = "JSON.stringify(Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight]))"


class DevTools:
    """A headless Chromium and one page, over the DevTools protocol on a pipe."""

    def __init__(self, binary: str, profile: Path, timeout: float = 120.0) -> None:
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()

        def wire() -> None:  # in the child: fd 3 reads our commands, fd 4 carries the replies
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser, from_browser)]  # out of 3 and 4's way
            for target, fd in zip((3, 4), high):
                os.dup2(fd, target)
                os.set_inheritable(target, True)

        args = [binary, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                f"--user-data-dir={profile}", "about:blank"]
        self.proc = subprocess.Popen(args, preexec_fn=wire, close_fds=False, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self.timeout, self._buffer, self._id, self.events = timeout, b"", 0, []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read], [], [], left)[0]:
                raise TimeoutError("no answer from Chromium")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError(f"Chromium exited (code {self.proc.poll()})")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, session: bool = False, **params) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._message(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + self.timeout
        while True:
            event = self._message(deadline)
            if event.get("method") == method:
                return event
            self.events.append(event)

    def open(self, url: str) -> tuple[list[list], list[str]]:
        """Load ``url``; every image's ``[alt, complete, naturalWidth, naturalHeight]`` and every URL requested."""
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")
        images = json.loads(self.call("Runtime.evaluate", session=True, expression=IMAGES,
                                      returnByValue=True)["result"]["value"])
        requested = [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]
        return images, requested

    def screenshot(self, path: Path, width: int = 1200) -> Path:
        height = self.call("Page.getLayoutMetrics", session=True)["cssContentSize"]["height"]
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=min(int(height) + 1, 6000),
                  deviceScaleFactor=1, mobile=False)
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", session=True, format="png")["data"]))
        return path

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._read)
        os.close(self._write)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    tools = DevTools(CHROMIUM, tmp_path_factory.mktemp("chromium-profile"))
    tools.call("Network.enable", session=True)
    tools.call("Page.enable", session=True)
    yield tools
    tools.close()


def _outside(requested: list[str], page: Path) -> list[str]:
    return [u for u in requested if not u.startswith("data:") and u != page.resolve().as_uri()]


def test_smoke_report_renders_self_contained_in_chromium(tmp_path, browser):
    out = tmp_path / "run"
    result = run_pipeline("attention/listops", overrides=FAST, models=["softmax"], out=out, quiet=True)
    images, requested = browser.open(result.report_html.resolve().as_uri())
    assert images, "the report shows no image"
    broken = [alt for alt, complete, width, height in images if not (complete and width > 0 and height > 0)]
    assert not broken, f"images that did not decode: {broken}"
    assert not _outside(requested, result.report_html), "the report fetched from outside itself"
    shot = browser.screenshot(out / "report_screenshot.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 1000


def test_the_checks_catch_a_remote_image(tmp_path, browser):
    """The negative control: a page that fetches from outside fails both checks."""
    page = tmp_path / "remote.html"
    page.write_text("<!doctype html><img alt='remote' src='http://example.invalid/plot.png'>")
    images, requested = browser.open(page.as_uri())
    assert images == [["remote", True, 0, 0]]
    assert _outside(requested, page) == ["http://example.invalid/plot.png"]
