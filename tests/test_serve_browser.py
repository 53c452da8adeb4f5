"""The upload page in a real headless Chromium, serving the bundled default model (what users get); skipped when
chromium/chromedriver are not installed."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from deepfake_detector import Detector
from deepfake_detector.serve import Service, create_app
from tests.conftest import ORIGINALS
from tests.video_clips import faces, write_clip

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="needs Debian 'chromium' and 'chromium-driver' (apt-get install -y chromium "
                                       "chromium-driver); .ci/run installs them")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_url():
    import uvicorn

    port = _free_port()
    app = create_app(Service(Detector.load("default", device="cpu")))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def browser():
    pytest.importorskip("selenium", reason="pip install selenium (in the dev extras)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=DriverService(DRIVER))
    yield driver
    driver.quit()


def upload(driver, server_url: str, path: Path) -> tuple[str, str]:
    """Upload ``path`` on the page; the verdict and details once the answer and its heatmap are shown."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(server_url)
    driver.find_element(By.ID, "file").send_keys(str(path))
    driver.find_element(By.ID, "go").click()
    wait = WebDriverWait(driver, 300)  # the CLIP model explains on 2 busy cores
    wait.until(lambda d: "P(fake)" in d.find_element(By.ID, "verdict").text
               or "error" in d.find_element(By.ID, "verdict").text)
    verdict = driver.find_element(By.ID, "verdict").text
    assert verdict.split()[0] in ("REAL", "FAKE", "UNCERTAIN"), verdict
    wait.until(lambda d: d.execute_script("var i=document.getElementById('heatmap');"
                                          "return !i.hidden && i.complete && i.naturalWidth > 0"))
    return verdict, driver.find_element(By.ID, "details").text


def test_photo_upload_shows_verdict_and_heatmap(server_url: str, browser) -> None:
    from selenium.webdriver.common.by import By

    _, details = upload(browser, server_url, sorted((ORIGINALS / "fake").glob("*.jpg"))[0])
    assert "1 face(s)" in details and "default-model@" in details
    footnote = browser.find_element(By.TAG_NAME, "small").text
    assert "(the larger of clip_vit_b16_multiblock and efficientnet_lite0) trained on 140k + sdfd-sd21" in footnote


def test_video_upload_shows_verdict_timeline_and_heatmap(server_url: str, browser, tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", faces("fake", 8))
    _, details = upload(browser, server_url, clip)
    assert "8 frames" in details and "face track(s)" in details
    assert browser.execute_script("var i=document.getElementById('timeline'); return i.complete && i.naturalWidth > 0")
