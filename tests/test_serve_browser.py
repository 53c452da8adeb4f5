"""The upload page in a real headless Chromium (skipped when chromium/chromedriver are not installed)."""

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


@pytest.fixture
def server_url(tiny_model: Path):
    import uvicorn

    port = _free_port()
    app = create_app(Service(Detector.load(tiny_model, device="cpu")))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(10)


def test_upload_page_shows_verdict_and_heatmap(server_url: str) -> None:
    pytest.importorskip("selenium", reason="pip install selenium (in the dev extras)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=DriverService(DRIVER))
    try:
        driver.get(server_url)
        driver.find_element(By.ID, "file").send_keys(str(sorted((ORIGINALS / "fake").glob("*.jpg"))[0]))
        driver.find_element(By.ID, "go").click()
        wait = WebDriverWait(driver, 60)
        wait.until(lambda d: "P(fake)" in d.find_element(By.ID, "verdict").text)
        verdict = driver.find_element(By.ID, "verdict").text
        assert verdict.split()[0] in ("REAL", "FAKE")
        assert "1 face(s)" in driver.find_element(By.ID, "details").text
        wait.until(lambda d: d.execute_script("var i=document.getElementById('heatmap');"
                                              "return !i.hidden && i.complete && i.naturalWidth > 0"))
    finally:
        driver.quit()
