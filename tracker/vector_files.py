"""The approximate index's files, and how they stay consistent with the database.

Beside the database `DB`, the folder `DB.usearch/` holds:

- `state.json`, the commit point: the passages table's signature at the last update (row count,
  largest id, a checksum of every id with its text hash), the segments in use, the ids dropped from
  the main segment (passages deleted or changed since it was written) and the passages that had no
  vector yet;
- `main-<token>.usearch` and `.npy`: the bulk of the vectors (usearch HNSW, cosine, float16) and their
  keys (passage id, first 64 bits of the text's sha256);
- `delta-<token>.usearch` and `.npy`: the vectors added since; a writer merges them into a new main
  segment once they pass a tenth of it (a reader only ever writes a delta);
- `lock`: held by the one process updating the folder.

An update writes new segments under new names, then replaces `state.json` (a temporary file, synced,
renamed), then deletes the files no state names. A process killed at any point leaves the previous
state whole, and the next update or open finds the database ahead of it and tops it up.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .embed import DIMENSIONS
from .filters import Connection
from .progress import Progress, no_progress

if TYPE_CHECKING:
    from usearch.index import Index

FORMAT = 1
STATE, LOCK = "state.json", "lock"
DTYPE, CONNECTIVITY, EXPANSION_ADD = "f16", 16, 128  # int8 halves the file but cost recall here (bench/README.md)
EXPANSION_SEARCH = 256  # HNSW search breadth ("ef"): 128 lost one query of 200 at 1M (bench/README.md)
MERGE_FRACTION = 0.1  # a delta past this share of the main segment is merged into it by the next writer
CHUNK = 20_000  # passages read from SQLite and added per step
THREADS = 0  # threads inserting vectors: 0 is every core; 1 builds the same graph on every run (tests)
# Per passage, a number that changes with its id or its text hash; summed by `signature`.
CHECKSUM = (
    "(id * 1000003 + unicode(sha256) + 97 * unicode(substr(sha256, 2)) + 9409 * unicode(substr(sha256, 3)) + 912673 * unicode(substr(sha256, 4))) % 1000000007"
)
ROWS = """select p.id, p.sha256, e.vector from passages p left join embeddings e on e.model = ? and e.sha256 = p.sha256
    where p.id in (select value from json_each(?))"""


@dataclass
class Segment:
    name: str
    count: int  # vectors in the file
    bytes: int  # the file's size, checked before it is mapped


@dataclass
class State:
    model: str
    passages: dict[str, int]  # `signature` of the passages table when the index last matched it
    main: Segment | None = None
    delta: Segment | None = None
    dropped: list[int] = field(default_factory=list)  # ids whose vector in the main segment is stale
    pending: list[int] = field(default_factory=list)  # passages that had no vector at the last update


def usearch() -> type[Index]:
    """usearch's index class, onnxruntime (the embedding model's runtime) imported first where it is
    installed: imported after usearch 2.26, onnxruntime 1.32 crashes (SIGSEGV) in its own import."""
    with contextlib.suppress(ImportError):
        import onnxruntime  # noqa: F401

    from usearch.index import Index

    return Index


def index_folder(database: str | Path) -> Path:
    return Path(f"{database}.usearch")


def state_key(folder: Path) -> tuple | None:
    """Changes whenever a process commits a new state."""
    try:
        found = os.stat(folder / STATE)
    except OSError:
        return None
    return (found.st_ino, found.st_mtime_ns, found.st_size)


def signature(conn: Connection, upto: int | None = None) -> dict[str, int]:
    """Row count, largest id and checksum of the passages (with id <= `upto`): an insert, a delete or
    a changed text moves it. One pass over the table (~0.35 s at a million passages)."""
    row = conn.execute(
        f"select count(*), coalesce(max(id), 0), coalesce(sum({CHECKSUM}), 0) from passages where id <= ?", [2**62 if upto is None else upto]
    ).fetchone()
    return {"count": row[0], "max_id": row[1], "checksum": row[2]}


def sha_keys(hashes: list[str]) -> np.ndarray:
    """The first 64 bits of each hex sha256, as int64 (what a segment's keys file records)."""
    return np.frombuffer(bytes.fromhex("".join((h or "").ljust(16, "0")[:16] for h in hashes)), dtype=">i8").astype(np.int64)


def files(folder: Path, segment: Segment) -> tuple[Path, Path]:
    return folder / f"{segment.name}.usearch", folder / f"{segment.name}.npy"


def read_state(folder: Path, model: str) -> State | None:
    """The committed state, or None when it is missing, unreadable, for another model or format, or
    names a segment whose file is missing, of the wrong size or with a header that does not match."""
    try:
        data = json.loads((folder / STATE).read_text())
        if data["format"] != FORMAT or data["model"] != model:
            return None
        main, delta = (Segment(**data[part]) if data[part] else None for part in ("main", "delta"))
        state = State(model, dict(data["passages"]), main, delta, list(data["dropped"]), list(data["pending"]))
        if not all(whole(folder, segment) for segment in filter(None, (state.main, state.delta))):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state


def whole(folder: Path, segment: Segment) -> bool:
    """Both files there, the index of the size written and with a usearch header counting its vectors."""
    index_file, keys_file = files(folder, segment)
    if index_file.stat().st_size != segment.bytes or not keys_file.exists():
        return False
    return (usearch().metadata(str(index_file)) or {}).get("count_present") == segment.count


def synced(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def write_state(folder: Path, state: State) -> None:
    """Commit: write a temporary file, sync it, rename it over the state (atomic), sync the folder."""
    temporary = folder / f"{STATE}.tmp"
    temporary.write_text(json.dumps({"format": FORMAT, "dtype": DTYPE, "connectivity": CONNECTIVITY, **asdict(state)}))
    synced(temporary)
    os.replace(temporary, folder / STATE)
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def new_index() -> Index:
    return usearch()(ndim=DIMENSIONS, metric="cos", dtype=DTYPE, connectivity=CONNECTIVITY, expansion_add=EXPANSION_ADD)


def restore(folder: Path, segment: Segment, view: bool) -> Index:
    """A segment memory-mapped read-only (`view`) or loaded to be changed; ValueError if it is damaged."""
    index = usearch().restore(str(files(folder, segment)[0]), view=view, expansion_search=EXPANSION_SEARCH)
    if index is None or len(index) != segment.count:
        raise ValueError(f"index segment {segment.name} does not hold {segment.count} vectors")
    return index


def vectors_of(index: Index, ids: np.ndarray) -> np.ndarray:
    """The stored vectors of these keys (all present), as float32 rows."""
    return np.vstack(cast(tuple, index.get(ids.astype(np.uint64)))).astype(np.float32)


def load_keys(folder: Path, segment: Segment | None) -> np.ndarray:
    return np.load(files(folder, segment)[1]) if segment else np.zeros((0, 2), dtype=np.int64)


def save_segment(folder: Path, prefix: str, index: Index, keys: np.ndarray) -> Segment | None:
    """Write a segment under a new name (nothing names it until the state is committed)."""
    if not len(keys):
        return None
    segment = Segment(f"{prefix}-{secrets.token_hex(6)}", len(keys), 0)
    index_file, keys_file = files(folder, segment)
    index.save(str(index_file))
    np.save(keys_file, keys)
    for path in (index_file, keys_file):
        synced(path)
    return replace(segment, bytes=index_file.stat().st_size)


@contextlib.contextmanager
def locked(folder: Path, wait: bool) -> Iterator[bool]:
    """Hold the folder's lock while inside (True), or yield False at once if another process has it
    and `wait` is false."""
    import fcntl

    with open(folder / LOCK, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True


def column(conn: Connection, sql: str, params: list[Any] | None = None) -> np.ndarray:
    return np.fromiter((row[0] for row in conn.execute(sql, params or [])), dtype=np.int64)


def chunks(ids: np.ndarray) -> Iterator[str]:
    for start in range(0, len(ids), CHUNK):
        yield json.dumps(ids[start : start + CHUNK].tolist())


def indexed(folder: Path, state: State) -> np.ndarray:
    """(id, hash key) of every vector the index serves: the delta's, and the main segment's others."""
    main, delta = load_keys(folder, state.main), load_keys(folder, state.delta)
    main = main[~np.isin(main[:, 0], np.union1d(state.dropped, delta[:, 0]))]
    both = np.vstack([main, delta])
    return both[np.argsort(both[:, 0])]


def changes(conn: Connection, folder: Path, state: State | None, now: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """(passages to read again, indexed ids whose vector is stale): every passage for a new index;
    the pending and newer ones when rows were only added; else a comparison of every (id, hash)."""
    nothing = np.zeros(0, dtype=np.int64)
    if state is None:
        return column(conn, "select id from passages order by id"), nothing
    pending = np.asarray(state.pending, dtype=np.int64)
    if state.passages == now:
        return pending, nothing
    if signature(conn, state.passages["max_id"]) == state.passages:
        return np.concatenate([pending, column(conn, "select id from passages where id > ?", [state.passages["max_id"]])]), nothing
    served = indexed(folder, state)
    rows = conn.execute("select id, sha256 from passages order by id").fetchall()
    current = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    hashes = sha_keys([row[1] for row in rows])
    at = np.searchsorted(current, served[:, 0]).clip(max=max(len(current) - 1, 0))
    same = (current[at] == served[:, 0]) & (hashes[at] == served[:, 1]) if len(current) else np.zeros(len(served), dtype=bool)
    return current[~np.isin(current, served[same, 0])], served[~same, 0]


def has_vectors(conn: Connection, ids: np.ndarray, model: str) -> bool:
    sql = "select 1 from passages p join embeddings e on e.model = ? and e.sha256 = p.sha256 where p.id in (select value from json_each(?)) limit 1"
    return any(conn.execute(sql, [model, chunk]).fetchone() for chunk in chunks(ids))


def without(index: Index, keys: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Remove these ids from a loaded segment; its remaining keys."""
    gone = np.isin(keys[:, 0], ids)
    if gone.any():
        index.remove(keys[gone, 0].astype(np.uint64))
    return keys[~gone]


def add_rows(conn: Connection, index: Index, keys: np.ndarray, ids: np.ndarray, model: str, progress: Progress) -> tuple[np.ndarray, list[int]]:
    """Add the stored vectors of these passages; (the segment's keys, the passages with no vector)."""
    parts, pending = [keys], []
    with progress("Indexing vectors", len(ids)) as advance:
        for chunk in chunks(ids):
            rows = conn.execute(ROWS, [model, chunk]).fetchall()
            good = [row for row in rows if row[2] is not None and len(row[2]) == DIMENSIONS * 4]
            pending += [row[0] for row in rows if row[2] is None or len(row[2]) != DIMENSIONS * 4]
            if good:
                added = np.fromiter((row[0] for row in good), dtype=np.int64, count=len(good))
                index.add(added.astype(np.uint64), np.frombuffer(b"".join(row[2] for row in good), dtype="<f4").reshape(len(good), DIMENSIONS), threads=THREADS)
                parts.append(np.column_stack([added, sha_keys([row[1] for row in good])]))
            advance(len(rows))
    return np.vstack(parts), sorted(pending)


def apply(
    conn: Connection, folder: Path, model: str, state: State | None, now: dict[str, int], reread: np.ndarray, stale: np.ndarray, merge: bool, progress: Progress
) -> State:
    """Write the segments for these changes and return the state to commit: a new delta; or one
    merged main segment, for a new index or (a writer) once the delta passes MERGE_FRACTION."""
    old = state or State(model, now)
    main_keys, delta_keys = load_keys(folder, old.main), load_keys(folder, old.delta)
    dropped = np.asarray(old.dropped, dtype=np.int64)
    gone = np.union1d(stale, reread)  # ids whose vectors the older segments must no longer serve
    if old.main is not None and not (merge and len(delta_keys) + len(reread) > MERGE_FRACTION * len(main_keys)):
        index = restore(folder, old.delta, view=False) if old.delta else new_index()
        keys, pending = add_rows(conn, index, without(index, delta_keys, gone), reread, model, progress)
        dropped = np.intersect1d(np.union1d(dropped, gone), main_keys[:, 0])
        return State(model, now, old.main, save_segment(folder, "delta", index, keys), dropped.tolist(), pending)
    index = restore(folder, old.main, view=False) if old.main else new_index()
    keys = without(index, main_keys, np.union1d(np.union1d(dropped, gone), delta_keys[:, 0]))
    carried = delta_keys[~np.isin(delta_keys[:, 0], gone)]
    if old.delta and len(carried):
        index.add(carried[:, 0].astype(np.uint64), vectors_of(restore(folder, old.delta, view=True), carried[:, 0]), threads=THREADS)
        keys = np.vstack([keys, carried])
    keys, pending = add_rows(conn, index, keys, reread, model, progress)
    return State(model, now, save_segment(folder, "main", index, keys), None, [], pending)


def collect_garbage(folder: Path, state: State) -> None:
    """Delete what no committed state names: old segments, and files of a process killed mid-update."""
    keep = {STATE, LOCK} | {path.name for segment in filter(None, (state.main, state.delta)) for path in files(folder, segment)}
    for path in folder.iterdir():
        if path.name not in keep:
            path.unlink(missing_ok=True)


def sync(conn: Connection, folder: Path, model: str, build: bool, progress: Progress = no_progress) -> State | None:
    """Bring the index in `folder` in step with the database and return its committed state. A writer
    (`build`) waits for the lock, builds a missing or damaged index and merges a large delta; a reader
    tops up a stale index with a delta, and takes the state as it is if another process holds the lock.
    None when there is no usable index and `build` is false."""
    with locked(folder, wait=build) as mine:
        state = read_state(folder, model)
        if not mine or (state is None and not build):
            return state
        now = signature(conn)
        if state is not None and state.passages == now and not has_vectors(conn, np.asarray(state.pending, dtype=np.int64), model):
            return state
        reread, stale = changes(conn, folder, state, now)
        if state is not None and not len(stale) and not has_vectors(conn, reread, model):
            state = replace(state, passages=now, pending=reread.tolist())  # nothing to index: new rows without vectors
        else:
            try:
                state = apply(conn, folder, model, state, now, reread, stale, build, progress)
            except ValueError:  # a segment that does not load: a writer starts again from the database
                if not build:
                    raise
                state = apply(conn, folder, model, None, now, *changes(conn, folder, None, now), build, progress)
        write_state(folder, state)
        collect_garbage(folder, state)
        return state
