"""The page in a real headless Chromium (Debian's ``chromium`` + ``chromium-driver``, driven
by selenium): open a real photo, paint a trimap with pointer events, run the bundled GCA, and
check that the matte shown is the one the API gives for the painted trimap.

One browser session for the whole module.  Skipped, with the reason, where no Chromium is
installed; ``MATTING_REQUIRE_BROWSER=1`` (set by ``.ci/run``) turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time

import cv2
import httpx
import numpy as np
import pytest

from matting_serve import ServeSettings, create_app
from matting_serve.cli import listen

FG, BG, UNKNOWN = 255, 0, 128
#: The browser paints on a preview: the 400 px photo is shown at 320 px, so the page's
#: preview path (trimap scaled up by the server, full-size results) runs in the browser too.
PREVIEW = 320
WINDOW = (1360, 760)


def _find(env: str, *names: str) -> str | None:
    if os.environ.get(env):
        return os.environ[env]
    return next((path for name in names if (path := shutil.which(name))), None)


@pytest.fixture(scope="module")
def browser_paths() -> tuple[str, str]:
    chromium = _find("MATTING_CHROMIUM", "chromium", "chromium-browser")
    driver = _find("MATTING_CHROMEDRIVER", "chromedriver")
    if chromium and driver:
        return chromium, driver
    reason = (
        "no Chromium and ChromeDriver found (apt-get install chromium chromium-driver, or set "
        "MATTING_CHROMIUM and MATTING_CHROMEDRIVER): the page was not tested in a browser"
    )
    if os.environ.get("MATTING_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def server():
    """The application on a free port of 127.0.0.1, in a thread of this process."""
    import uvicorn

    settings = ServeSettings(foreground="blur_fusion", preview_size=PREVIEW)
    app = create_app(settings)
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    uvicorn_server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uvicorn_server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uvicorn_server.should_exit = True
    thread.join(timeout=15)
    sock.close()


@pytest.fixture(scope="module")
def browser(browser_paths):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = browser_paths
    profile = tempfile.mkdtemp(prefix="matting-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver, condition, what: str, timeout: float = 120):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        lambda d: condition(d), message=f"timed out waiting for {what}"
    )


def _status(driver) -> str:
    return driver.find_element("id", "status").text


def _strokes(alpha: np.ndarray, scale: float, radius: int) -> list[tuple[int, list]]:
    """Horizontal strokes a person might paint, in preview pixels: background where the
    ground truth is surely background, foreground where it is surely foreground, each kept
    ``radius`` px plus a margin away from the object's edge (the band left unknown)."""
    size = (round(alpha.shape[1] * scale), round(alpha.shape[0] * scale))
    strokes = []
    for label, region in ((BG, alpha <= 2), (FG, alpha >= 253)):
        depth = cv2.distanceTransform(np.pad(region.astype(np.uint8), 1), cv2.DIST_L2, 5)
        inside = cv2.resize(
            (depth[1:-1, 1:-1] * scale > radius + 3).astype(np.uint8),
            size,
            interpolation=cv2.INTER_NEAREST,
        )
        for y in range(radius, size[1] - radius // 2, round(1.5 * radius)):
            row = np.flatnonzero(np.diff(np.concatenate([[0], inside[y], [0]])))
            for start, stop in zip(row[::2], row[1::2], strict=True):
                if stop - start > radius:
                    strokes.append((label, [(start + radius // 2, y), (stop - 1 - radius // 2, y)]))
    return strokes


def _paint(driver, canvas, strokes, brush_px: int) -> None:
    """Paint with real pointer events (WebDriver actions: move, press, move, release)."""
    from selenium.webdriver.common.action_chains import ActionChains

    driver.execute_script(
        "const s = document.getElementById('brush-size'); s.value = arguments[0];"
        "s.dispatchEvent(new Event('input'));",
        brush_px,
    )
    width = driver.execute_script("return arguments[0].getBoundingClientRect().width", canvas)
    css = width / int(canvas.get_attribute("width"))  # CSS px per preview px
    half_w = width / 2
    half_h = driver.execute_script("return arguments[0].getBoundingClientRect().height", canvas) / 2
    current = None
    for label, points in strokes:
        if label != current:
            driver.find_element("css selector", f"input[name=brush][value='{label}']").click()
            current = label
        actions = ActionChains(driver, duration=0)
        (x0, y0), *rest = points
        actions.move_to_element_with_offset(
            canvas, x0 * css - half_w + 0.5, y0 * css - half_h + 0.5
        )
        actions.click_and_hold()
        previous = (x0, y0)
        for x, y in rest:
            # In steps, as a hand moves: the page interpolates between pointer events.
            steps = max(1, int(abs(x - previous[0]) // 12))
            for _ in range(steps):
                actions.move_by_offset(
                    (x - previous[0]) * css / steps, (y - previous[1]) * css / steps
                )
            previous = (x, y)
        actions.release()
        actions.perform()


def test_a_person_mats_a_real_photo_in_the_browser(browser, server, case, tmp_path):
    browser.get(server + "/")
    _wait(browser, lambda d: "Open a photo" in _status(d), "the model list")
    options = [
        o.get_attribute("value") for o in browser.find_elements("css selector", "#model option")
    ]
    assert "gca" in options
    assert browser.find_element("id", "model").get_attribute("value") == "gca"

    browser.find_element("id", "photo-file").send_keys(str(case.image))
    _wait(browser, lambda d: "Paint foreground" in _status(d), "the photo")
    preview = browser.execute_script("return [state.width, state.height]")
    assert max(preview) == PREVIEW and preview[0] == PREVIEW
    assert "preview" in _status(browser)

    scale = PREVIEW / case.width
    radius = 7
    strokes = _strokes(cv2.imread(str(case.alpha), cv2.IMREAD_GRAYSCALE), scale, radius)
    assert len(strokes) > 10
    canvas = browser.find_element("id", "trimap-canvas")
    _paint(browser, canvas, strokes, brush_px=2 * radius)

    labels = np.array(browser.execute_script("return Array.from(state.labels)"), np.uint8)
    labels = labels.reshape(preview[1], preview[0])
    for label, points in strokes:  # every stroke left its label along its path
        for x, y in points:
            assert labels[y, x] == label, (label, x, y)
    assert (labels == FG).mean() > 0.05 and (labels == BG).mean() > 0.1
    assert (labels == UNKNOWN).mean() > 0.05  # a band is left around the object

    browser.find_element("id", "run").click()
    _wait(browser, lambda d: "in " in _status(d) and "refine" in _status(d), "the matte")
    alpha_url = browser.find_element("id", "alpha-img").get_attribute("src")
    job_id = alpha_url.rstrip("/").split("/")[-2]
    shown = browser.execute_script(
        "const a = document.getElementById('alpha-img'), c = document.getElementById('cutout-img');"
        "return [a.complete, a.naturalWidth, a.naturalHeight, c.complete, c.naturalWidth];"
    )
    assert shown == [True, case.width, case.height, True, case.width]

    with httpx.Client(base_url=server, timeout=120) as api:
        job = api.get(f"/jobs/{job_id}").json()
        assert job["state"] == "done" and job["model"] == "gca"
        alpha = api.get(f"/jobs/{job_id}/alpha.png").content
        used = api.get(f"/jobs/{job_id}/trimap.png").content
        # The trimap the server used is the painted label map, scaled up to the photo.
        expected = cv2.resize(labels, (case.width, case.height), interpolation=cv2.INTER_NEAREST)
        np.testing.assert_array_equal(cv2.imdecode(np.frombuffer(used, np.uint8), 0), expected)
        # ... and the API, given the photo and that trimap, returns the very same matte.
        direct = api.post(
            "/predict",
            files={
                "image": (case.image.name, case.image.read_bytes(), "image/png"),
                "trimap": ("painted.png", used, "image/png"),
            },
            data={"model": "gca"},
        )
        assert direct.status_code == 200, direct.text
        assert direct.content == alpha

    # The downloads point at the results.
    for kind in ("alpha", "cutout", "trimap"):
        link = browser.find_element("id", f"download-{kind}")
        assert link.get_attribute("href").endswith(f"/jobs/{job_id}/{kind}.png")
        assert link.get_attribute("download") == f"GT04-{kind}.png"

    screenshot = tmp_path / "matting-serve-page.png"
    assert browser.save_screenshot(str(screenshot))
    print(f"\nscreenshot of the page: {screenshot}")
    if os.environ.get("MATTING_SERVE_SCREENSHOT"):
        shutil.copy(screenshot, os.environ["MATTING_SERVE_SCREENSHOT"])
    page = cv2.imread(str(screenshot))
    assert page.shape[:2] == (WINDOW[1], WINDOW[0]) or page.shape[1] == WINDOW[0]


def test_a_rough_mask_starts_the_trimap_in_the_browser(browser, server, case, tmp_path):
    """After the first test's photo: a mask file from the 'Start from' tools fills the label
    map with known regions and an unknown band (matting-data's trimap generation)."""
    gt = cv2.imread(str(case.alpha), cv2.IMREAD_GRAYSCALE)
    mask_path = tmp_path / "selection.png"
    cv2.imwrite(str(mask_path), np.where(gt > 127, 255, 0).astype(np.uint8))
    if browser.execute_script("return state.photo === null"):
        pytest.skip("needs the photo the first browser test opened")
    browser.execute_script("state.labels.fill(128)")
    browser.find_element("id", "mask-file").send_keys(str(mask_path))
    _wait(browser, lambda d: "Trimap from selection.png" in _status(d), "the mask's trimap")
    labels = np.array(browser.execute_script("return Array.from(state.labels)"), np.uint8)
    assert set(np.unique(labels).tolist()) == {BG, UNKNOWN, FG}
    assert 0.02 < (labels == UNKNOWN).mean() < 0.5

    from selenium.webdriver.common.keys import Keys

    browser.find_element("tag name", "body").send_keys(Keys.CONTROL, "z")  # undo
    labels = browser.execute_script("return Array.from(new Set(state.labels))")
    assert labels == [UNKNOWN]


def test_a_trimap_free_model_offers_an_automatic_trimap_in_the_browser(
    browser, server, case, test_models
):
    browser.get(server + "/")  # the model list now has a trimap-free model
    _wait(browser, lambda d: "Open a photo" in _status(d), "the model list")
    assert browser.find_element("id", "auto-model").is_displayed()
    browser.find_element("id", "photo-file").send_keys(str(case.image))
    _wait(browser, lambda d: "Paint foreground" in _status(d), "the photo")

    # other installed plugins may offer trimap-free models too: pick the test's own
    from selenium.webdriver.support.select import Select

    Select(browser.find_element("id", "auto-model-name")).select_by_value("test-luminance")
    browser.find_element("id", "auto-run").click()
    _wait(browser, lambda d: "Automatic trimap from test-luminance" in _status(d), "the trimap")
    labels = set(browser.execute_script("return Array.from(new Set(state.labels))"))
    assert labels == {BG, UNKNOWN, FG}

    # A trimap-free model also mats the photo with nothing painted.
    Select(browser.find_element("id", "model")).select_by_value("test-luminance")
    browser.execute_script("state.labels.fill(128)")
    browser.find_element("id", "run").click()
    _wait(browser, lambda d: "test-luminance: " in _status(d), "the matte")
    width = browser.execute_script("return document.getElementById('alpha-img').naturalWidth")
    assert width == case.width
