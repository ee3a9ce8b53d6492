"""The HTTP API through FastAPI's test client, on a real photo (GT04, 400 px wide)."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from matting_core import get_model_info, list_models, load_model, predict
from matting_core.cli import main
from matting_data import (
    estimate_foreground,
    read_image,
    read_trimap,
    trimap_from_mask,
)
from matting_serve import ServeSettings, create_app

# blur_fusion: the same matting-data estimator interface as the default multilevel, without
# pymatting's numba compilation (tens of seconds on a fresh install) in every test run.
SETTINGS = ServeSettings(foreground="blur_fusion")


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(SETTINGS)) as client:
        yield client


def _files(case, trimap: Path | None = None) -> dict:
    files = {"image": (case.image.name, case.image.read_bytes(), "image/png")}
    trimap = case.trimap if trimap is None else trimap
    files["trimap"] = (trimap.name, trimap.read_bytes(), "image/png")
    return files


def _decode(data: bytes) -> np.ndarray:
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert array is not None
    return array


def _finish(client: TestClient, job: dict, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while job["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, f"job still {job['state']}: {job['stage']}"
        time.sleep(0.05)
        job = client.get(f"/jobs/{job['id']}").json()
    return job


@pytest.fixture(scope="module")
def cli_alpha(case, tmp_path_factory) -> bytes:
    """What ``matting predict --model gca IMAGE TRIMAP -o ALPHA.png`` writes."""
    out = tmp_path_factory.mktemp("cli") / "alpha.png"
    assert (
        main(["predict", "--model", "gca", str(case.image), str(case.trimap), "-o", str(out)]) == 0
    )
    return out.read_bytes()


# -- the page and the models -------------------------------------------------------------------


def test_the_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/static/app.js" in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200


def test_models_lists_every_installed_model(client):
    body = client.get("/models").json()
    assert [m["name"] for m in body["models"]] == list_models()
    gca = next(m for m in body["models"] if m["name"] == "gca")
    assert gca["provider"] == "gca" and gca["needs_trimap"] and gca["weights"] == "bundled"
    assert gca["default"] and body["default"] == "gca"
    # the trimap-free models among those installed (none in this package's own session)
    assert body["trimap_free"] == [n for n in list_models() if not get_model_info(n).needs_trimap]


# -- predict -------------------------------------------------------------------------------------


def test_predict_returns_the_bytes_matting_predict_writes(client, case, cli_alpha):
    response = client.post("/predict", files=_files(case), data={"model": "gca"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert 'filename="GT04-alpha.png"' in response.headers["content-disposition"]
    assert response.content == cli_alpha


def test_cutout_is_rgba_with_the_estimated_foreground_and_the_alpha(client, case, cli_alpha):
    response = client.post("/predict", files=_files(case), data={"output": "cutout"})
    assert response.status_code == 200, response.text
    bgra = _decode(response.content)
    assert bgra.shape == (case.height, case.width, 4) and bgra.dtype == np.uint8
    np.testing.assert_array_equal(bgra[:, :, 3], _decode(cli_alpha))

    loaded = load_model("gca")
    image = read_image(case.image)
    alpha = predict(loaded.model, image, read_trimap(case.trimap), info=loaded.info)
    colours = estimate_foreground(image, alpha, method="blur_fusion")
    expected = np.rint(colours * 255)
    got = bgra[:, :, 2::-1].astype(np.float64)
    assert np.abs(got - expected).max() <= 2  # float summation order may differ by a level
    # The colours are the estimate, not the photo: they differ where alpha is fractional.
    photo = np.rint(image * 255)
    fractional = (alpha > 0.1) & (alpha < 0.9)
    assert np.abs(got - photo)[fractional].mean() > 1


# -- the page's flow: photo kept, background job, progress, results ------------------------------


def test_a_job_on_a_kept_photo_gives_alpha_cutout_and_trimap(client, case, cli_alpha):
    photo = client.post(
        "/images", files={"image": (case.image.name, case.image.read_bytes(), "image/png")}
    ).json()
    assert (photo["width"], photo["height"]) == (case.width, case.height)
    assert (photo["preview"]["width"], photo["preview"]["height"]) == (case.width, case.height)
    preview = _decode(client.get(photo["preview"]["url"]).content)
    np.testing.assert_array_equal(preview, cv2.imread(str(case.image)))

    trimap = case.trimap.read_bytes()
    response = client.post(
        "/jobs",
        data={"image_id": photo["id"], "model": "gca"},
        files={"trimap": ("t.png", trimap, "image/png")},
    )
    assert response.status_code == 202, response.text
    job = _finish(client, response.json())
    assert job["state"] == "done", job["error"]
    assert job["progress"] == 1.0 and job["elapsed_s"] > 0
    assert set(job["results"]) == {"alpha", "cutout", "trimap"}
    assert client.get(job["results"]["alpha"]).content == cli_alpha
    used = _decode(client.get(job["results"]["trimap"]).content)
    np.testing.assert_array_equal(used, read_trimap(case.trimap))
    assert _decode(client.get(job["results"]["cutout"]).content).shape[2] == 4


def test_a_large_photo_is_painted_on_a_preview_and_matted_at_full_size(case, tmp_path):
    settings = ServeSettings(foreground="blur_fusion", preview_size=200)
    with TestClient(create_app(settings)) as small_previews:
        photo = small_previews.post(
            "/images", files={"image": ("GT04.png", case.image.read_bytes(), "image/png")}
        ).json()
        size = (photo["preview"]["height"], photo["preview"]["width"])
        assert max(size) == 200 and size == (round(case.height / 2), 200)
        assert _decode(small_previews.get(photo["preview"]["url"]).content).shape[:2] == size

        painted = cv2.resize(read_trimap(case.trimap), size[::-1], interpolation=cv2.INTER_NEAREST)
        painted_png = cv2.imencode(".png", painted)[1].tobytes()
        job = small_previews.post(
            "/jobs",
            data={"image_id": photo["id"]},
            files={"trimap": ("painted.png", painted_png, "image/png")},
        ).json()
        job = _finish(small_previews, job)
        assert job["state"] == "done", job["error"]
        alpha = small_previews.get(job["results"]["alpha"]).content
        assert _decode(alpha).shape == (case.height, case.width)

        # The trimap was scaled up by nearest neighbour; with that trimap at full size, the
        # curl-style request gives the same bytes.
        full = cv2.resize(painted, (case.width, case.height), interpolation=cv2.INTER_NEAREST)
        used = _decode(small_previews.get(job["results"]["trimap"]).content)
        np.testing.assert_array_equal(used, full)
        full_path = tmp_path / "full.png"
        cv2.imwrite(str(full_path), full)
        direct = small_previews.post("/predict", files=_files(case, full_path))
        assert direct.content == alpha


def test_predictions_run_off_the_event_loop_with_progress_and_a_queue(client, case, test_models):
    gate = test_models
    photo = client.post(
        "/images", files={"image": (case.image.name, case.image.read_bytes(), "image/png")}
    ).json()
    form = {"image_id": photo["id"], "model": "test-gated"}
    trimap = {"trimap": ("t.png", case.trimap.read_bytes(), "image/png")}
    first = client.post("/jobs", data=form, files=trimap).json()
    second = client.post("/jobs", data=form, files=trimap).json()

    deadline = time.monotonic() + 30
    while (first := client.get(f"/jobs/{first['id']}").json())["state"] != "running":
        assert time.monotonic() < deadline, first
        time.sleep(0.02)
    # The first job is stuck inside its forward pass, yet the server answers.
    assert client.get("/models").status_code == 200
    assert client.get("/").status_code == 200
    first = client.get(f"/jobs/{first['id']}").json()
    assert first["state"] == "running" and first["stage"] == "running test-gated"
    assert 0 < first["progress"] < 1  # one module of three has run
    second = client.get(f"/jobs/{second['id']}").json()
    assert second["state"] == "queued" and second["queue_position"] == 1
    assert client.get(f"/jobs/{second['id']}/alpha.png").status_code == 409

    gate.set()
    for job in (first, second):
        job = _finish(client, job)
        assert job["state"] == "done", job["error"]
        alpha = _decode(client.get(job["results"]["alpha"]).content)
        np.testing.assert_array_equal(alpha, (read_trimap(case.trimap) == 255) * 255)


def test_a_trimap_free_model_needs_no_trimap_and_makes_automatic_trimaps(client, case, test_models):
    assert "test-luminance" in client.get("/models").json()["trimap_free"]
    photo = {"image": (case.image.name, case.image.read_bytes(), "image/png")}
    response = client.post("/predict", files=photo, data={"model": "test-luminance"})
    assert response.status_code == 200, response.text
    brightness = read_image(case.image).mean(axis=2)
    expected_alpha = np.clip((brightness - 0.3) * 4, 0, 1)
    assert np.abs(_decode(response.content) - expected_alpha * 255).max() <= 1

    band = 12
    response = client.post(
        "/trimap", files=photo, data={"source": "model", "model": "test-luminance", "band": band}
    )
    assert response.status_code == 200, response.text
    loaded = load_model("test-luminance")
    alpha = predict(loaded.model, read_image(case.image), None, info=loaded.info)
    # matting trimap's mask route: the model's alpha is a soft mask
    expected = trimap_from_mask(alpha, band)
    np.testing.assert_array_equal(_decode(response.content), expected)
    assert {0, 128, 255} == set(np.unique(expected).tolist())

    # The page's route: a background job, then its trimap.
    job = client.post(
        "/jobs", files=photo, data={"task": "trimap", "model": "test-luminance", "band": band}
    ).json()
    job = _finish(client, job)
    assert set(job["results"]) == {"alpha", "trimap"}
    np.testing.assert_array_equal(_decode(client.get(job["results"]["trimap"]).content), expected)

    refused = client.post("/jobs", files=photo, data={"task": "trimap", "model": "gca"}).json()
    refused = _finish(client, refused)
    assert refused["state"] == "failed" and "trimap-free" in refused["error"]


def test_a_rough_mask_becomes_a_trimap_with_an_unknown_band(client, case, tmp_path):
    gt = cv2.imread(str(case.alpha), cv2.IMREAD_GRAYSCALE)
    mask = np.where(gt > 127, 255, 0).astype(np.uint8)
    path = tmp_path / "selection.png"
    cv2.imwrite(str(path), mask)
    band = 16
    response = client.post(
        "/trimap",
        files={"file": ("selection.png", path.read_bytes(), "image/png")},
        data={"source": "mask", "band": band},
    )
    assert response.status_code == 200, response.text
    assert 'filename="selection-trimap.png"' in response.headers["content-disposition"]
    trimap = _decode(response.content)
    assert set(np.unique(trimap).tolist()) == {0, 128, 255}
    assert (mask[trimap == 255] == 255).all() and (mask[trimap == 0] == 0).all()
    # Distance of every pixel to the mask's edge: unknown near it, known far from it.
    inside = cv2.distanceTransform((mask > 0).astype(np.uint8), cv2.DIST_L2, 5)
    outside = cv2.distanceTransform((mask == 0).astype(np.uint8), cv2.DIST_L2, 5)
    to_edge = np.maximum(inside, outside)
    assert (trimap[to_edge <= band / 2 - 1] == 128).all()
    assert (trimap[to_edge >= band / 2 + 2] != 128).all()

    # Fitted to a kept photo: a mask at the photo's size is taken as it is.
    photo = client.post(
        "/images", files={"image": (case.image.name, case.image.read_bytes(), "image/png")}
    ).json()
    fitted = client.post(
        "/trimap",
        files={"file": ("selection.png", path.read_bytes(), "image/png")},
        data={"source": "mask", "band": band, "image_id": photo["id"]},
    )
    assert fitted.content == response.content
    normalised = client.post(
        "/trimap",
        files={"file": ("t.png", case.trimap.read_bytes(), "image/png")},
        data={"source": "trimap", "image_id": photo["id"]},
    )
    np.testing.assert_array_equal(_decode(normalised.content), read_trimap(case.trimap))


# -- bad input ---------------------------------------------------------------------------------


def _assert_one_sentence(response, status: int) -> str:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and "Traceback" not in detail
    assert "matting-serve-" not in detail, "the server's work folder leaked into the message"
    return detail


def test_a_corrupt_photo_is_a_400_naming_the_upload(client, case):
    truncated = case.image.read_bytes()[:5000]
    response = client.post(
        "/predict",
        files={
            "image": ("holiday.png", truncated, "image/png"),
            "trimap": ("t.png", case.trimap.read_bytes(), "image/png"),
        },
    )
    assert "holiday.png" in _assert_one_sentence(response, 400)
    text = client.post("/images", files={"image": ("notes.txt", b"not an image", "text/plain")})
    assert "notes.txt" in _assert_one_sentence(text, 400)


def test_a_trimap_with_bad_values_is_a_400(client, case, tmp_path):
    bad = np.full((case.height, case.width), 60, np.uint8)
    path = tmp_path / "bad.png"
    cv2.imwrite(str(path), bad)
    detail = _assert_one_sentence(client.post("/predict", files=_files(case, path)), 400)
    assert "bad.png" in detail


def test_a_trimap_of_another_size_is_a_400(client, case, shared_data):
    other = shared_data / "alphamatting_training_lowres" / "trimap" / "GT05.png"
    detail = _assert_one_sentence(client.post("/predict", files=_files(case, other)), 400)
    assert "800x552" in detail and f"{case.width}x{case.height}" in detail


def test_requests_missing_something_are_one_sentence(client, case):
    photo_only = {"image": (case.image.name, case.image.read_bytes(), "image/png")}
    assert "needs a trimap" in _assert_one_sentence(client.post("/predict", files=photo_only), 400)
    assert "'image'" in _assert_one_sentence(client.post("/predict", data={"model": "gca"}), 400)
    unknown = client.post("/predict", files=_files(case), data={"model": "no-such-model"})
    assert "gca" in _assert_one_sentence(unknown, 400)  # the message lists the known models
    bad_output = client.post("/predict", files=_files(case), data={"output": "jpeg"})
    assert "output" in _assert_one_sentence(bad_output, 422)
    no_file = client.post("/images", data={"x": "1"})
    assert "'image'" in _assert_one_sentence(no_file, 422)
    assert "band" in _assert_one_sentence(
        client.post("/trimap", data={"source": "mask", "band": "0"}), 422
    )
    gone = client.post("/jobs", data={"image_id": "nope"}, files={"trimap": ("t", b"x")})
    assert "nope" in _assert_one_sentence(gone, 404)
    assert "nope" in _assert_one_sentence(client.get("/jobs/nope"), 404)


def test_uploads_over_the_size_limit_are_413(case):
    settings = ServeSettings(max_upload_bytes=50_000)
    body = case.image.read_bytes()
    assert len(body) > 50_000
    with TestClient(create_app(settings)) as limited:
        declared = limited.post("/images", files={"image": ("big.png", body, "image/png")})
        assert "limit" in _assert_one_sentence(declared, 413)

        # Without a Content-Length header the limit applies while the body streams in.
        boundary = "matting-test-boundary"
        multipart = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="image"; '
                f'filename="big.png"\r\nContent-Type: image/png\r\n\r\n'
            ).encode()
            + body
            + f"\r\n--{boundary}--\r\n".encode()
        )
        chunks = (multipart[i : i + 16384] for i in range(0, len(multipart), 16384))
        streamed = limited.post(
            "/images",
            content=chunks,
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )
        assert "limit" in _assert_one_sentence(streamed, 413)


def test_photos_over_the_pixel_limit_are_413(case):
    with TestClient(create_app(ServeSettings(max_pixels=10_000))) as limited:
        response = limited.post(
            "/images", files={"image": ("GT04.png", case.image.read_bytes(), "image/png")}
        )
        assert "10,000" in _assert_one_sentence(response, 413)
