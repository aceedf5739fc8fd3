"""The demo page in a real headless Chromium, driven by playwright-core, against the real
`intrinsix demo-ui` command (a subprocess) and a real server with the bundled demo model.

Needs (CI installs them; the test FAILS with these commands when one is missing):
    apt-get install -y chromium nodejs npm
    npm install --prefix .dev/playwright playwright-core
INTRINSIX_CHROMIUM and INTRINSIX_PLAYWRIGHT_CORE override where they are looked for.
INTRINSIX_DEMO_UI_SCREENSHOT=docs/images/demo-ui.png also saves the page's screenshot there.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).resolve().parent / "browser_check.cjs"
CHROMIUM = Path(os.environ.get("INTRINSIX_CHROMIUM", "/usr/bin/chromium"))
PLAYWRIGHT_CORE = Path(os.environ.get("INTRINSIX_PLAYWRIGHT_CORE",
                                      ROOT / ".dev" / "playwright" / "node_modules" / "playwright-core"))


@pytest.fixture
def browser_tools() -> tuple[str, Path, Path]:
    """(node, Chromium, playwright-core folder); fails naming the install commands if one is missing."""
    node = shutil.which("node")
    missing = []
    if node is None:
        missing.append("node (apt-get install -y nodejs npm)")
    if not CHROMIUM.is_file():
        missing.append(f"Chromium at {CHROMIUM} (apt-get install -y chromium)")
    if not (PLAYWRIGHT_CORE / "package.json").is_file():
        missing.append(f"playwright-core at {PLAYWRIGHT_CORE} (npm install --prefix {ROOT / '.dev' / 'playwright'} "
                       "playwright-core)")
    if missing:
        pytest.fail("the browser test needs " + "; ".join(missing))
    return node, CHROMIUM, PLAYWRIGHT_CORE


@pytest.fixture
def demo_command(model_server, sdk_site, tmp_path):
    """`python -m intrinsix.server.demo_ui` (= `intrinsix demo-ui`) on a free port; yields its URL."""
    port_file = tmp_path / "port"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(sdk_site), os.environ.get("PYTHONPATH")) if p))
    process = subprocess.Popen([sys.executable, "-m", "intrinsix.server.demo_ui", "--server", model_server.address,
                                "--port", "0", "--port-file", str(port_file)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.monotonic() + 60
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"intrinsix demo-ui did not start:\n{process.communicate()[0]}")
        time.sleep(0.05)
    port = int(port_file.read_text())
    yield f"http://127.0.0.1:{port}/", process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


def test_generate_inspect_relight_download_in_chromium(browser_tools, demo_command, model_server, tmp_path):
    node, chromium, playwright_core = browser_tools
    url, process = demo_command
    screenshot = tmp_path / "demo-ui.png"
    env = dict(os.environ, CHROMIUM=str(chromium), PLAYWRIGHT_CORE=str(playwright_core))
    run = subprocess.run([node, str(SCRIPT), url, str(tmp_path), str(screenshot)], capture_output=True, text=True,
                         timeout=120, env=env)
    lines = run.stdout.strip().splitlines()
    assert run.returncode == 0 and lines, f"browser script failed:\n{run.stdout}\n{run.stderr}"
    report = json.loads(lines[-1])
    assert report["ok"], f"{report.get('error')}\n(screenshot of the failure: {tmp_path / 'failure.png'})"
    assert report["console_errors"] == [] and report["external_requests"] == []
    assert "demo_model" in report["status_text"] and "ready" in report["status_text"]

    # Live progress and previews while generating, then the result.
    assert report["progress_width"] == "100%" and report["progress_text"].startswith("Done: 5 files")
    assert report["preview_sources"] == ["data:image/png;base64,"] * 3
    assert report["material_name"] == "SatinGreenCeramicTilesWithGreyGrout"
    assert [m["map"] for m in report["maps"]] == ["albedo", "roughness", "metallic", "normal", "ambient_occlusion",
                                                  "height"]
    assert all((m["width"], m["height"]) == (256, 256) for m in report["maps"])  # the model's default size
    assert report["maps"][1]["source"] == "T_SatinGreenCeramicTilesWithGreyGrout_ORM.png, channel G"
    assert report["render_size"] == [256, 256]

    # The job is this token's newest, as the page's history says.
    from intrinsix_client import Client

    with Client(model_server.address) as client:
        job = client.jobs(limit=1)[0]
    assert report["current_job"] == job.job_id and report["history_rows"][0] == [job.job_id, "SUCCEEDED"]
    assert job.generate.prompt == "satin green ceramic tiles with grey grout" and job.generate.seed == 1234 and job.generate.steps == 12

    # The downloaded zip holds exactly the manifest's files, as the files table lists them.
    assert report["zip_name"] == "SatinGreenCeramicTilesWithGreyGrout_unreal.zip"
    with zipfile.ZipFile(report["zip_path"]) as archive:
        manifest = json.loads(archive.read("material.json"))
        assert archive.namelist() == report["files_table"] == [f["name"] for f in manifest["files"]] + ["material.json"]
        for entry in manifest["files"]:
            assert hashlib.sha256(archive.read(entry["name"])).hexdigest() == entry["sha256"]
    assert [f.name for f in job.files] == report["files_table"]

    # Moving the light sliders re-rendered the image (no new job) and relit the 3D preview.
    assert report["render_changed_pixels"] > 0.5 * report["render_pixels"]
    assert report["webgl"] == "ready", "WebGL 2 was not available in headless Chromium (SwiftShader)"
    assert report["viewer_center"] != report["viewer_corner"], "the 3D preview drew nothing"
    assert report["viewer_corner"] == [17, 20, 26]  # the clear colour around the sphere
    assert report["viewer_center"] != report["viewer_center_after"]

    with Image.open(screenshot) as image:
        assert image.width == 1440 and image.height >= 900
    if os.environ.get("INTRINSIX_DEMO_UI_SCREENSHOT"):
        shutil.copyfile(screenshot, os.environ["INTRINSIX_DEMO_UI_SCREENSHOT"])

    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=10)
    assert process.returncode == 0 and output.startswith(f"intrinsix demo-ui: {url} (server {model_server.address})")
