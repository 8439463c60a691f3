"""Artifacts through the proxied mlflow-artifacts service, and dataset inputs."""

from __future__ import annotations

import random
from pathlib import Path

import mlflow
import pandas as pd
import pytest


def _tree(root: Path) -> dict[str, bytes]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


@pytest.fixture
def src_tree(tmp_path) -> Path:
    rng = random.Random(1234)
    root = tmp_path / "src"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.txt").write_text("hello\n")
    (root / "with space.txt").write_text("spaced name\n")
    (root / "empty.bin").write_bytes(b"")
    (root / "sub" / "blob.bin").write_bytes(bytes(rng.getrandbits(8) for _ in range(300_000)))
    (root / "sub" / "deeper" / "c.json").write_text('{"k": [1, 2, 3]}')
    return root


def test_log_artifact_files_and_download(experiment_id, client, tmp_path, src_tree):
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(src_tree / "a.txt"))
        mlflow.log_artifact(str(src_tree / "sub" / "blob.bin"), artifact_path="bin/nested")
        mlflow.log_artifact(str(src_tree / "with space.txt"))
        mlflow.log_text("some text", "notes/readme.md")
        mlflow.log_dict({"k": 1}, "conf/config.json")
    run_id = run.info.run_id
    assert run.info.artifact_uri

    root = client.list_artifacts(run_id)
    listing = {f.path: (f.is_dir, f.file_size) for f in root}
    assert listing == {
        "a.txt": (False, 6),
        "bin": (True, None),
        "conf": (True, None),
        "notes": (True, None),
        "with space.txt": (False, 12),
    }
    nested = client.list_artifacts(run_id, "bin/nested")
    assert [(f.path, f.is_dir, f.file_size) for f in nested] == [("bin/nested/blob.bin", False, 300_000)]
    assert [(f.path, f.is_dir) for f in client.list_artifacts(run_id, "bin")] == [("bin/nested", True)]

    dst = tmp_path / "dl1"
    dst.mkdir()
    local = client.download_artifacts(run_id, "a.txt", str(dst))
    assert Path(local).read_text() == "hello\n"
    local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="bin/nested/blob.bin",
                                               dst_path=str(tmp_path / "dl2"))
    assert Path(local).read_bytes() == (src_tree / "sub" / "blob.bin").read_bytes()
    local = client.download_artifacts(run_id, "with space.txt", str(dst))
    assert Path(local).read_text() == "spaced name\n"
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/notes/readme.md") == "some text"
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/conf/config.json") == {"k": 1}


def test_log_artifacts_folder_roundtrip(experiment_id, client, tmp_path, src_tree):
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(src_tree), artifact_path="data")
        mlflow.log_artifacts(str(src_tree / "sub"))  # into the root
    run_id = run.info.run_id

    top = {f.path: f.is_dir for f in client.list_artifacts(run_id)}
    assert top == {"data": True, "blob.bin": False, "deeper": True}
    data = {f.path: (f.is_dir, f.file_size) for f in client.list_artifacts(run_id, "data")}
    # MLflow omits file_size for an empty file (proto2: 0 left out); 0 is accepted too
    assert data.pop("data/empty.bin") in ((False, None), (False, 0))
    assert data == {
        "data/a.txt": (False, 6),
        "data/sub": (True, None),
        "data/with space.txt": (False, 12),
    }

    # whole directory download, contents equal byte for byte
    out = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="data",
                                                   dst_path=str(tmp_path / "out")))
    assert _tree(out) == _tree(src_tree)
    # whole run download
    whole = Path(client.download_artifacts(run_id, "", str(tmp_path / "whole")))
    got = _tree(whole)
    assert got["blob.bin"] == (src_tree / "sub" / "blob.bin").read_bytes()
    assert got["deeper/c.json"] == b'{"k": [1, 2, 3]}'
    assert got["data/sub/deeper/c.json"] == b'{"k": [1, 2, 3]}'
    assert len(got) == 5 + 2


def test_list_artifacts_empty_and_missing(experiment_id, client):
    with mlflow.start_run() as run:
        pass
    assert client.list_artifacts(run.info.run_id) == []
    assert client.list_artifacts(run.info.run_id, "no/such/dir") == []


def test_download_missing_artifact_fails(experiment_id, client, tmp_path):
    with mlflow.start_run() as run:
        mlflow.log_text("x", "present.txt")
    with pytest.raises(Exception):
        client.download_artifacts(run.info.run_id, "absent.txt", str(tmp_path))


def test_artifact_overwrite(experiment_id, client, tmp_path):
    with mlflow.start_run() as run:
        mlflow.log_text("v1", "f.txt")
        mlflow.log_text("version two", "f.txt")
    assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/f.txt") == "version two"
    [info] = client.list_artifacts(run.info.run_id)
    assert info.file_size == len("version two")


# ------------------------------------------------------------------ datasets


@pytest.fixture
def frame():
    return pd.DataFrame({"x1": [1.0, 2.0, 3.0, 4.0], "x2": [0.5, 0.1, 0.2, 0.9], "y": [0, 1, 0, 1]})


def test_log_input_dataset_roundtrip(experiment_id, client, frame, tmp_path):
    csv = tmp_path / "train.csv"
    frame.to_csv(csv, index=False)
    ds = mlflow.data.from_pandas(frame, source=str(csv), name="toy", targets="y")
    ev = mlflow.data.from_pandas(frame.head(2), name="toy-eval")
    with mlflow.start_run() as run:
        mlflow.log_input(ds, context="training", tags={"split": "train"})
        mlflow.log_input(ev, context="eval")
    got = client.get_run(run.info.run_id)
    inputs = {di.dataset.name: di for di in got.inputs.dataset_inputs}
    assert set(inputs) == {"toy", "toy-eval"}
    di = inputs["toy"]
    ent = ds._to_mlflow_entity()
    assert di.dataset.digest == ds.digest == ent.digest
    assert di.dataset.source_type == ent.source_type == "local"
    assert di.dataset.source == ent.source == ds.source.to_json()
    assert di.dataset.schema == ent.schema
    assert di.dataset.profile == ent.profile
    tags = {t.key: t.value for t in di.tags}
    assert tags["mlflow.data.context"] == "training"
    assert tags["split"] == "train"
    assert {t.key: t.value for t in inputs["toy-eval"].tags}["mlflow.data.context"] == "eval"

    # the dataset can be rebuilt by the client from what the server returned
    src = mlflow.data.get_source(di)
    assert src.to_json() == ds.source.to_json()


def test_log_same_dataset_twice_is_deduplicated(experiment_id, client, frame):
    ds = mlflow.data.from_pandas(frame, name="dup")
    with mlflow.start_run() as run:
        mlflow.log_input(ds, context="training")
        mlflow.log_input(ds, context="training")
    got = client.get_run(run.info.run_id)
    assert [d.dataset.name for d in got.inputs.dataset_inputs] == ["dup"]


def test_search_runs_by_dataset(experiment_id, client, frame):
    a = mlflow.data.from_pandas(frame, name="ds-alpha")
    b = mlflow.data.from_pandas(frame.head(3), name="ds-beta")
    with mlflow.start_run(run_name="ra"):
        mlflow.log_input(a, context="training")
    with mlflow.start_run(run_name="rb"):
        mlflow.log_input(b, context="eval")
    with mlflow.start_run(run_name="rnone"):
        pass

    def names(flt):
        return sorted(r.info.run_name for r in client.search_runs([experiment_id], flt))

    assert names("datasets.name = 'ds-alpha'") == ["ra"]
    assert names("datasets.name LIKE 'ds-%'") == ["ra", "rb"]
    assert names("datasets.name IN ('ds-beta', 'zzz')") == ["rb"]
    assert names("datasets.context = 'eval'") == ["rb"]
    assert names(f"datasets.digest = '{a.digest}'") == ["ra"]
    assert names(f"datasets.digest IN ('{a.digest}', '{b.digest}')") == ["ra", "rb"]


def test_log_metric_with_dataset(experiment_id, client, frame):
    ds = mlflow.data.from_pandas(frame, name="metric-ds")
    with mlflow.start_run() as run:
        mlflow.log_metric("acc", 0.9, step=1, dataset=ds)
    got = client.get_run(run.info.run_id)
    assert got.data.metrics["acc"] == 0.9
    assert [d.dataset.name for d in got.inputs.dataset_inputs] == ["metric-ds"]
    [m] = client.get_metric_history(run.info.run_id, "acc")
    assert (m.step, m.value) == (1, 0.9)
    # NB: MLflow's get-history does not echo dataset_name/dataset_digest back; not asserted.
