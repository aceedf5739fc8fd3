"""The demo's HTTP API against a real server with the bundled demo model: generate, live events, result,
maps, relit render, zip, history, open, cancel, refusals and the request guards."""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import zipfile

import numpy as np
import pytest

from intrinsix.server.demo_ui.cli import read_token
from intrinsix.server.demo_ui.png_read import read_png
from intrinsix.server.demo_ui.web import HTTPError, generate_options


def request(demo, method: str, path: str, body=None, headers: dict | None = None, timeout: float = 60.0):
    """(status, headers, body bytes) of one HTTP request to the demo."""
    connection = http.client.HTTPConnection("127.0.0.1", demo.port, timeout=timeout)
    sent = dict(headers or {})
    payload = None
    if body is not None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    connection.request(method, path, body=payload, headers=sent)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), data


def events(demo, job_id: str) -> list[tuple[str, dict]]:
    """Every Server-Sent Event of a job until its last one (done or failed)."""
    status, headers, data = request(demo, "GET", f"/api/jobs/{job_id}/events")
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    out = []
    for block in data.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in fields:
            out.append((fields["event"], json.loads(fields["data"])))
    return out


def generate(demo, **form) -> str:
    body = {"prompt": "polished brass tiles", "size": "64", "steps": 3, "profile": "unreal", "seed": "77",
            "preview_every": 1, **form}
    status, _, data = request(demo, "POST", "/api/generate", body)
    assert status == 200, data
    return json.loads(data)["job_id"]


def test_generate_events_result_maps_render_zip(demo):
    job_id = generate(demo, profile="godot", tileable=True)
    seen = events(demo, job_id)
    kinds = [kind for kind, _ in seen]
    assert kinds[0] == "accepted" and kinds[-1] == "done"
    assert seen[0][1]["seed"] == "77"
    assert [p["step"] for k, p in seen if k == "progress" and p["stage"] == "denoising"] == [1, 2, 3]
    previews = [p for k, p in seen if k == "preview"]
    assert [p["step"] for p in previews] == [1, 2, 3]
    assert set(previews[-1]["images"]) == {"albedo", "material", "normal"}
    assert previews[-1]["images"]["normal"].startswith("data:image/png;base64,iVBOR")
    overall = [p["overall"] for k, p in seen if k == "progress"]
    assert overall == sorted(overall) and overall[-1] == 1.0

    status, _, data = request(demo, "GET", f"/api/jobs/{job_id}/result")
    result = json.loads(data)
    assert status == 200 and result == seen[-1][1]
    assert result["profile"] == "godot" and result["tiling"] is True and (result["width"], result["height"]) == (64, 64)
    assert result["material_name"] == "PolishedBrassTiles" and result["prompt"] == "polished brass tiles"
    names = [f["name"] for f in result["files"]]
    assert names == ["PolishedBrassTiles_albedo.png", "PolishedBrassTiles_normal.png", "PolishedBrassTiles_orm.png",
                     "PolishedBrassTiles_height.exr", "material.json"]
    assert [m["semantic"] for m in result["maps"]] == ["albedo", "roughness", "metallic", "normal",
                                                       "ambient_occlusion", "height"]
    sources = {m["semantic"]: m["source"] for m in result["maps"]}
    assert sources["height"] == "PolishedBrassTiles_height.exr, channel R"

    # Maps: the delivered albedo PNG decodes to what the page shows.
    status, headers, albedo = request(demo, "GET", f"/api/jobs/{job_id}/maps/albedo.png")
    assert status == 200 and headers["Content-Type"] == "image/png"
    view = demo.board.get(job_id)
    delivered = read_png((view.folder / "PolishedBrassTiles_albedo.png").read_bytes())
    np.testing.assert_array_equal(read_png(albedo), delivered)
    for m in result["maps"]:
        status, _, png = request(demo, "GET", m["url"])
        assert status == 200 and read_png(png).shape[:2] == (64, 64)

    # The zip holds exactly the manifest's files, byte for byte (sha256 from the manifest).
    status, headers, data = request(demo, "GET", result["zip_url"])
    assert status == 200 and headers["Content-Type"] == "application/zip"
    assert headers["Content-Disposition"] == 'attachment; filename="PolishedBrassTiles_godot.zip"'
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(archive.read("material.json"))
    assert sorted(archive.namelist()) == sorted([f["name"] for f in manifest["files"]] + ["material.json"])
    for entry in manifest["files"]:
        assert hashlib.sha256(archive.read(entry["name"])).hexdigest() == entry["sha256"]

    # The render follows the light without a new job.
    jobs_before = len(demo.client.jobs())
    renders = {}
    for lat, lon in ((45, 0), (10, 60), (45, 0)):
        status, _, png = request(demo, "GET", f"{result['render_url']}?lat={lat}&lon={lon}")
        assert status == 200
        renders.setdefault((lat, lon), []).append(read_png(png))
    assert renders[(45, 0)][0].shape == (64, 64, 3)
    np.testing.assert_array_equal(renders[(45, 0)][0], renders[(45, 0)][1])
    changed = np.any(renders[(45, 0)][0] != renders[(10, 60)][0], axis=-1).mean()
    assert changed > 0.5, f"only {changed:.0%} of the pixels changed with the light"
    assert len(demo.client.jobs()) == jobs_before
    status, _, data = request(demo, "GET", f"{result['render_url']}?lat=95&lon=0")
    assert status == 400 and json.loads(data)["error"] == "lat must be a number of degrees in [0, 90], got '95'"


def test_history_and_opening_a_job_made_elsewhere(demo, tmp_path):
    # A job made by another client of the same token (the SDK directly) ...
    made = demo.client.generate("rusty corrugated steel", tmp_path / "sdk", profile="gltf", size=64, steps=2, seed=5)
    status, _, data = request(demo, "GET", "/api/history")
    rows = json.loads(data)["jobs"]
    assert status == 200 and rows[0]["job_id"] == made.job_id
    assert rows[0]["state"] == "SUCCEEDED" and rows[0]["prompt"] == "rusty corrugated steel"
    assert rows[0]["profile"] == "gltf" and rows[0]["size"] == "64x64" and rows[0]["seed"] == "5"
    # ... opens on the page with the same files (WatchJob through the SDK).
    status, _, data = request(demo, "POST", f"/api/jobs/{made.job_id}/open", {})
    assert status == 200 and json.loads(data) == {"job_id": made.job_id}
    seen = events(demo, made.job_id)
    assert seen[0][0] == "accepted" and seen[0][1]["reattached"] is True and seen[-1][0] == "done"
    result = seen[-1][1]
    assert [f["sha256"] for f in result["files"]] == [f.sha256 for f in made.files]
    assert result["maps"][0]["source"] == "RustyCorrugatedSteel.glb, image RustyCorrugatedSteel_base_color"


def test_cancel_and_refusals(demo):
    job_id = generate(demo, steps=100, preview_every=0, prompt="slow marble")
    status, _, data = request(demo, "POST", f"/api/jobs/{job_id}/cancel", {})
    assert status == 200 and json.loads(data)["state"] in ("QUEUED", "RUNNING", "CANCELLED")
    last = events(demo, job_id)[-1]
    assert last == ("failed", {"state": "CANCELLED", "code": 1, "message": last[1]["message"]})
    status, _, data = request(demo, "GET", f"/api/jobs/{job_id}/result")
    assert status == 409 and "has no result to show (state CANCELLED)" in json.loads(data)["error"]

    # The server's own INVALID_ARGUMENT message reaches the page.
    status, _, data = request(demo, "POST", "/api/generate", {"prompt": "x", "size": 100, "profile": "unreal"})
    assert status == 400
    assert json.loads(data)["error"].startswith("INVALID_ARGUMENT: params.width: 100 is out of range")
    status, _, data = request(demo, "GET", "/api/jobs/" + "0" * 32 + "/result")
    assert status == 404 and "is not open on this page" in json.loads(data)["error"]
    status, _, _ = request(demo, "GET", "/api/jobs/../../etc/passwd")
    assert status == 404
    status, _, data = request(demo, "POST", "/api/jobs/" + "0" * 32 + "/open", {})
    assert status == 404 and json.loads(data)["error"].startswith("NOT_FOUND")


def test_request_guards(demo):
    status, headers, data = request(demo, "GET", "/")
    assert status == 200 and b'<script src="/static/app.js">' in data
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    for name in ("app.js", "viewer3d.js", "style.css"):
        assert request(demo, "GET", f"/static/{name}")[0] == 200
    assert request(demo, "GET", "/static/../web.py")[0] == 404
    # DNS rebinding: a loopback-bound demo answers only to loopback host names.
    status, _, data = request(demo, "GET", "/api/info", headers={"Host": "evil.example:80"})
    assert status == 421 and b"localhost names only" in data
    # Cross-site POSTs (which would use the demo's token) and non-JSON bodies are refused.
    status, _, data = request(demo, "POST", "/api/generate", {"prompt": "x"},
                              headers={"Origin": "http://evil.example"})
    assert status == 403 and b"cross-origin request from 'http://evil.example' refused" in data
    status, _, _ = request(demo, "POST", "/api/generate", b"prompt=x",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 415
    status, _, data = request(demo, "GET", "/api/info")
    info = json.loads(data)
    assert status == 200 and info["ready"] is True and info["model"]["name"] == "demo_model"
    assert info["profiles"] == ["unreal", "godot", "gltf", "unity", "raw"] and info["limits"]["size_multiple"] == 16


def test_form_checks_and_token_file(tmp_path):
    prompt, params = generate_options({"prompt": "oak", "seed": "12", "size": 128, "tileable": True,
                                       "profile": "unity", "steps": ""})
    assert prompt == "oak" and params == {"seed": 12, "size": 128, "tileable": True, "profile": "unity"}
    for body, message in (({"prompt": " "}, "prompt: must be a non-empty text"),
                          ({"prompt": "a", "seed": "-1"}, "seed: must be a whole number >= 0, got '-1'"),
                          ({"prompt": "a", "size": "big"}, "size: must be a whole number"),
                          ({"prompt": "a", "profile": "blender"}, "profile: must be one of"),
                          ({"prompt": "a", "tileable": "yes"}, "tileable: must be true or false")):
        with pytest.raises(HTTPError, match=message):
            generate_options(body)
    token_file = tmp_path / "token"
    token_file.write_text("# demo token\n\n  s3cret-token-0123456789  \nsecond\n")
    assert read_token(str(token_file)) == "s3cret-token-0123456789"
    token_file.write_text("# nothing\n")
    with pytest.raises(ValueError, match="holds no token"):
        read_token(str(token_file))


def test_token_scopes_the_page_and_a_wrong_token_is_shown(tmp_path, make_demo):
    from intrinsix_client import Client
    from server_harness import ServerThread

    alice, bob = "alice-token-0123456789", "bob-token-0123456789ab"
    with ServerThread(tmp_path / "server", tokens=(alice, bob)) as srv:
        with Client(srv.address, token=bob) as client:  # a job of another token
            client.generate("bob's floor", tmp_path / "bob", profile="raw", size=64, steps=1)
        page = make_demo(srv.address, token=alice)
        status, _, data = request(page, "GET", "/api/info")
        assert status == 200 and json.loads(data)["auth_required"] is True
        status, _, data = request(page, "GET", "/api/history")
        assert status == 200 and json.loads(data)["jobs"] == []  # bob's job is not alice's
        wrong = make_demo(srv.address, token="not-a-token-0123456789")
        status, _, data = request(wrong, "GET", "/api/history")
        assert status == 502 and json.loads(data)["error"].startswith("PERMISSION_DENIED")
