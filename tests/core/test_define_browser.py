"""define.xml opens in a real browser: headless Chromium applies the stylesheet the file
names and shows the datasets, variables and codelists; define-*.html shows the same
without XSLT. (CI installs Chromium; where it is missing these tests are skipped.)"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from trialflow.cli import main
from trialflow.skeleton import write_skeleton

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def define_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    write_skeleton(root / "s", "raw")
    assert main(["run", "-q", "--study", str(root / "s"), "--out", str(root / "b")]) == 0
    return root / "b" / "define"


def _dump(url: str, profile: Path) -> str:
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_browser_renders_define_xml_through_its_stylesheet(define_dir: Path,
                                                                tmp_path: Path) -> None:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(define_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        dom = _dump(f"http://127.0.0.1:{server.server_port}/define-sdtm.xml",
                    tmp_path / "profile")
    finally:
        server.shutdown()
    assert "<h1" in dom and "MYSTUDY01: MYSTUDY01 SDTMIG 3.4" in dom
    for text in ("Demographics", "Adverse Events", "Unique Subject Identifier",
                 "Methods", "Sequence number within subject"):
        assert text in dom, text
    assert dom.count("<tr") > 30


def test_the_html_rendering_opens_from_a_file(define_dir: Path, tmp_path: Path) -> None:
    dom = _dump((define_dir / "define-adam.html").as_uri(), tmp_path / "profile")
    assert "Subject-Level Analysis Dataset" in dom and "TRTDURD" in dom
