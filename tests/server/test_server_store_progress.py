"""Unit tests of the job store (persistence, recovery, safe paths, retention) and of the overall
progress fraction."""

from __future__ import annotations

import pytest

from intrinsix.pbr.files import ExportedFile, ExportResult
from intrinsix.server.progress import ProgressTracker
from intrinsix.server.protocol import job_pb2
from intrinsix.server.store import JobRecord, JobStore


def _record(job_id: str, state: int, created: float = 1.0) -> JobRecord:
    return JobRecord(job_id=job_id, owner="o", kind=job_pb2.JOB_KIND_GENERATE, state=state, client_request_id="",
                     params=job_pb2.GenerateParams(prompt="p").SerializeToString(), created_at=created)


def _result(*names: str) -> ExportResult:
    files = tuple(ExportedFile(name=n, semantic="base_color", color_space="srgb", format="png8", width=1, height=1,
                               channels=3, data=n.encode() * 3) for n in names)
    return ExportResult(profile="unreal", material_name="M", files=files, manifest={})


def test_recover_interrupts_unfinished_jobs_and_drops_partial_results(tmp_path):
    store = JobStore(tmp_path)
    ids = {state: f"{state:032x}" for state in (job_pb2.JOB_STATE_QUEUED, job_pb2.JOB_STATE_RUNNING,
                                                job_pb2.JOB_STATE_SUCCEEDED)}
    for state, job_id in ids.items():
        store.insert(_record(job_id, state))
    done = ids[job_pb2.JOB_STATE_SUCCEEDED]
    files = store.write_result(done, _result("a.png", "b.png"))
    store.set_succeeded(done, files, "{}", "M", "unreal", 2.0)
    (store.results_dir / (ids[job_pb2.JOB_STATE_RUNNING] + ".partial")).mkdir()  # a crash mid-write
    (store.results_dir / ("f" * 32)).mkdir()  # an orphan folder without a row
    store.close()

    store = JobStore(tmp_path)
    assert store.recover(now=3.0) == 2
    for state in (job_pb2.JOB_STATE_QUEUED, job_pb2.JOB_STATE_RUNNING):
        record = store.get(ids[state])
        assert record.state == job_pb2.JOB_STATE_INTERRUPTED and record.error_code == 10 and record.finished_at == 3.0
    assert sorted(p.name for p in store.results_dir.iterdir()) == [done]
    assert store.result_path(done, "b.png").read_bytes() == b"b.pngb.pngb.png"
    assert store.get(done).total_bytes == 30


def test_lost_result_files_are_reported(tmp_path):
    store = JobStore(tmp_path)
    job_id = "a" * 32
    store.insert(_record(job_id, job_pb2.JOB_STATE_RUNNING))
    store.set_succeeded(job_id, store.write_result(job_id, _result("x.png")), "{}", "M", "unreal", 2.0)
    store.result_path(job_id, "x.png").unlink()
    store.recover(now=3.0)
    record = store.get(job_id)
    assert record.state == job_pb2.JOB_STATE_FAILED and record.error_code == 15 and "x.png" in record.error_message


def test_paths_never_leave_the_results_folder(tmp_path):
    store = JobStore(tmp_path)
    for job_id in ("../../etc", "A" * 32, "a" * 31 + "/"):
        with pytest.raises(ValueError, match="32 lowercase hex digits"):
            store.result_path(job_id, "x.png")
    for name in ("../x.png", "/etc/passwd", ".hidden", "a/b.png", ""):
        with pytest.raises(ValueError, match="is not allowed"):
            store.result_path("b" * 32, name)


def test_expire_deletes_old_terminal_jobs_only(tmp_path):
    store = JobStore(tmp_path)
    old, new, running = "1" * 32, "2" * 32, "3" * 32
    for job_id in (old, new, running):
        store.insert(_record(job_id, job_pb2.JOB_STATE_RUNNING))
    store.set_succeeded(old, store.write_result(old, _result("o.png")), "{}", "M", "unreal", finished_at=10.0)
    store.set_finished(new, job_pb2.JOB_STATE_FAILED, finished_at=100.0)
    assert store.expire(cutoff=50.0) == [old]
    assert store.get(old) is None and not (store.results_dir / old).exists()
    assert store.get(new) is not None and store.get(running) is not None


def test_progress_is_monotonic_and_reaches_one_only_when_stored():
    tracker = ProgressTracker((("denoising", 0.8), ("decoding", 0.1), ("exporting", 0.1)))
    values = [tracker.update("denoising", step, 4).overall for step in (1, 2, 3, 4)]
    assert values == pytest.approx([0.192, 0.384, 0.576, 0.768])
    assert tracker.update("denoising", 1, 4).overall == pytest.approx(0.768)  # a step going back
    assert tracker.update("something else", 5, 9).overall == pytest.approx(0.768)  # unknown stage
    assert tracker.update("exporting", 1, 1).overall == pytest.approx(0.96)
    assert tracker.update("decoding", 1, 1).overall == pytest.approx(0.96)  # an earlier stage again
    assert tracker.update("storing", 0, 1).overall == pytest.approx(0.96)
    assert tracker.snapshot.stage == "storing"
    assert tracker.complete().overall == 1.0
    with pytest.raises(ValueError, match="weight 0.0"):
        ProgressTracker((("denoising", 0.0),))
