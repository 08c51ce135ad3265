"""The HTML report of a real run, opened in headless Chromium as a reader would open it.

The run uses the reference learners (their pictures are known: a logical learner, a bag
of words that fails three desiderata, a local image learner). The page must load with no
console error, request nothing but itself and its data: thumbnails, fit the page width
with every explanation opened, and decode its thumbnails to the pixels the JSON record
holds. A screenshot of the top of the page is saved as reports/screenshot.png (the
README shows it).
"""

from __future__ import annotations

import json
import os
import time

import pytest

from eifbench.report.rendering.thumbnails import pixels_of
from tests.browser import CHROMIUM, Chromium
from tests.conftest import ROOT, run_suite, verdict_exit_code

pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"needs headless Chromium at {CHROMIUM} (Debian: apt-get install chromium; scripts/setup.sh tries)",
)
MODELS = ("ref-logical", "ref-associative", "ref-local")
SCREENSHOT = ROOT / "reports" / "screenshot.png"
STAMP = "eifbench · reference learners, 12 items per desideratum"  # fixed, so the screenshot only changes with the look

# What a reader would notice: things wider than the page (with every explanation opened),
# links or sources that leave the page, thumbnails that do not decode, figures without labels.
PROBE = """(() => {
  const initially = [...document.querySelectorAll('details')].map(d => d.open);
  document.querySelectorAll('details').forEach(d => d.open = true);
  const page = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    const where = `${el.tagName} ${Math.round(r.left)}..${Math.round(r.right)}`;
    if (r.width > 0 && (r.right > page + 1 || r.left < -1)) wide.push(where);
  }
  const external = [];
  for (const el of document.querySelectorAll('*')) {
    for (const name of ['src', 'href', 'xlink:href', 'srcset', 'action', 'poster', 'data']) {
      const v = el.getAttribute(name);
      if (v && !v.startsWith('data:') && !v.startsWith('#')) external.push(`${el.tagName} ${name}=${v.slice(0, 60)}`);
    }
  }
  const styles = [...document.querySelectorAll('style')].map(s => s.textContent).join('');
  if (/url\\(|@import/.test(styles)) external.push('a stylesheet loads something');
  const thumbs = [...document.querySelectorAll('.thumbs img')];
  const first = thumbs[0];
  let pixels = null;
  if (first) {
    const canvas = document.createElement('canvas');
    canvas.width = first.naturalWidth; canvas.height = first.naturalHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(first, 0, 0);
    const rgba = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    pixels = [];
    for (let k = 0; k < rgba.length; k += 4) pixels.push(rgba[k]);
  }
  const heatmaps = [...document.querySelectorAll('details svg')].filter(s => s.textContent.includes('nats'));
  const result = {
    scrollWidth: document.documentElement.scrollWidth, page, wide: wide.slice(0, 10), external,
    thumbs: thumbs.length, broken: thumbs.filter(i => !i.complete || i.naturalWidth === 0).length,
    first: first ? {alt: first.alt, pixels} : null,
    heatmaps: heatmaps.length,
    unlabelled: heatmaps.filter(s => !(s.textContent.includes('→') && s.querySelectorAll('line').length > 0)).length,
    captions: document.querySelectorAll('details figure > figcaption').length,
    charts: document.querySelectorAll('.charts svg').length,
    height: document.documentElement.scrollHeight,
  };
  document.querySelectorAll('details').forEach((d, k) => d.open = initially[k]);
  return result;
})()"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    page, data = folder / "eif.html", folder / "eif.json"
    args = [a for m in MODELS for a in ("--eif-model", m)]
    proc = run_suite(*args, "--eif-limit", "12", f"--eif-html={page}", json_path=data)
    assert proc.returncode == verdict_exit_code(data), proc.stdout[-3000:] + proc.stderr[-3000:]
    return page, json.loads(data.read_text())


def test_the_report_opens_cleanly_in_chromium(report):
    page, doc = report
    started = time.perf_counter()
    with Chromium(width=1280, height=900) as browser:
        browser.open(page.as_uri())
        found = browser.evaluate(PROBE)
        browser.evaluate(f"document.querySelector('.stamp').textContent = {json.dumps(STAMP)}")
        SCREENSHOT.parent.mkdir(exist_ok=True)
        browser.screenshot(SCREENSHOT, height=2700)
        problems, requests = browser.problems(), browser.requests()
    seconds = time.perf_counter() - started
    assert problems == []
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
    assert found["external"] == []
    assert found["wide"] == [] and found["scrollWidth"] <= found["page"]
    assert found["thumbs"] > 0 and found["broken"] == 0
    stored = [
        t
        for r in doc["results"]
        for e in r["examples"]
        for t in e.get("images", ())
        if t["label"] == found["first"]["alt"]
    ]
    assert stored and found["first"]["pixels"] == pixels_of(stored[0]).ravel().tolist()
    measured = [r for r in doc["results"] if r["status"] != "n/a"]
    assert found["heatmaps"] == sum(r["figure"] is not None for r in measured) > 0
    assert found["unlabelled"] == 0 and found["captions"] >= found["heatmaps"]
    assert found["charts"] >= len(MODELS)  # a verdict chart per model, a distance curve per LM-or-image model
    assert max(len(json.dumps(r)) for r in doc["results"]) < 64_000  # records stay small: views, ~1 KB thumbnails
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert seconds < 60, f"the browser took {seconds:.0f}s"


def test_the_probe_catches_console_errors_requests_and_overflow(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><body><details><summary>x</summary><div style='width:3000px'>wide</div></details>"
        "<img src='https://example.invalid/x.png'><script>console.error('boom')</script></body></html>"
    )
    with Chromium() as browser:
        browser.open(page.as_uri())
        found = browser.evaluate(PROBE)
        problems, requests = browser.problems(), browser.requests()
    assert any("boom" in p for p in problems)
    assert "https://example.invalid/x.png" in requests
    assert found["wide"] and found["external"] == ["IMG src=https://example.invalid/x.png"]


def test_a_report_cannot_load_anything_even_if_asked(tmp_path, report):
    """The report's Content-Security-Policy blocks a request that slipped in (here: an injected image)."""
    page, _ = report
    injected = tmp_path / "injected.html"
    injected.write_text(page.read_text().replace("</body>", "<img src='http://example.invalid/leak.png'></body>"))
    with Chromium() as browser:
        browser.open(injected.as_uri())
        problems, requests, blocked = browser.problems(), browser.requests(), browser.blocked()
    assert [url for url in requests if url.startswith("http")] == ["http://example.invalid/leak.png"]
    assert blocked == {"http://example.invalid/leak.png": "csp"}
    assert any("Content Security Policy" in p for p in problems)
