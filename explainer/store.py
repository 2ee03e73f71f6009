"""Saved runs, uploaded models and each student's chosen model, kept across reloads and restarts.

A **desk** is one student's place: a public id (in links and on the class board) and a secret
key that only the student's own browser keeps; whoever holds the key may write to the desk,
anyone with the id may look at it. Both are 128-bit random tokens; only a hash of the key is
stored. A desk holds **runs** — a trained or uploaded model with its settings, architecture,
history and test figures, its checkpoint (safetensors bytes) and, when recorded, the replay of
its insides — and the run the student chose as the model every page uses.

Where it lives: by default one SQLite file in the cache folder (``runs.sqlite3``, WAL journal,
nothing to install or start) with the checkpoint bytes as files beside it (``runs/``); with
``$EXPLAINER_DATABASE_URL`` (e.g. ``postgresql+psycopg://user@host/db``) the same code keeps
everything, bytes included, in that database, which several app replicas share. The schema is
SQLAlchemy Core tables with a schema-version row, so no SQL text is written per backend.

Bounds (settings with defaults): at most ``EXPLAINER_RUNS_PER_DESK`` (20) runs and
``EXPLAINER_DESK_MB`` (40) MB per desk, ``EXPLAINER_STORE_MB`` (2,000) MB in all; past them the
oldest runs that are not pinned (the chosen one is pinned) go first and the caller is told
which. Every failure — a locked or damaged database, a full or read-only disk, a missing
checkpoint file — is a :class:`StoreError` with a sentence to show; nothing else is lost.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from .i18n import LocalizedError
from .paths import cache_dir

SCHEMA_VERSION = 1
NAME_LENGTH = 80  # characters of a desk's or a run's name
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22}$")  # secrets.token_urlsafe(16): 128 bits


class StoreError(LocalizedError):
    """The run store could not do what was asked; the message says why, in the reader's language."""


@dataclass(frozen=True)
class Limits:
    """How much the store keeps: runs and megabytes per desk, megabytes in all."""

    runs_per_desk: int = 20
    desk_mb: float = 40.0
    total_mb: float = 2000.0

    @classmethod
    def from_environment(cls) -> Limits:
        def number(name: str, default: float) -> float:
            try:
                value = float(os.environ.get(name, default))
            except ValueError:
                return default
            return value if value > 0 else default

        return cls(int(number("EXPLAINER_RUNS_PER_DESK", 20)), number("EXPLAINER_DESK_MB", 40.0), number("EXPLAINER_STORE_MB", 2000.0))


@dataclass(frozen=True)
class Desk:
    id: str
    name: str
    created: float
    chosen: str | None  # the id of the run the student uses on every page


@dataclass(frozen=True)
class StoredRun:
    """One saved run, without its bytes (those come with :meth:`RunStore.checkpoint`)."""

    id: str
    desk: str
    name: str
    kind: str  # "simplecnn", "mlp", "softmax"
    model: dict[str, Any]  # the ModelConfig as a dict: the architecture
    settings: dict[str, Any]  # dataset, optimizer, lr, batch, epochs, schedule, seed, digits ...
    history: list[dict[str, Any]]  # per epoch: loss, accuracy, test_loss, test_accuracy, seconds
    test_accuracy: float | None
    seconds: float
    created: float
    source: str  # "trained", "uploaded", "cli"
    size: int  # bytes of the checkpoint and the replay
    has_snapshots: bool
    pinned: bool = False


@dataclass(frozen=True)
class NewRun:
    """What a caller saves: the run's description; the store gives it an id and a time."""

    name: str
    kind: str
    model: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    test_accuracy: float | None = None
    seconds: float = 0.0
    source: str = "trained"


def clean_name(text: object, default: str = "") -> str:
    """A name as plain text: control characters dropped, spaces collapsed, at most :data:`NAME_LENGTH` characters.

    Names are shown escaped (never as HTML or Markdown); this keeps them one readable line.
    """
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in str(text))
    text = " ".join(text.split())
    return text[:NAME_LENGTH] or default


def is_token(value: object) -> bool:
    """Whether ``value`` looks like a desk id or key (22 URL-safe characters, 128 bits)."""
    return isinstance(value, str) and bool(_TOKEN.match(value))


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


_metadata = sa.MetaData()
_meta = sa.Table("explainer_meta", _metadata, sa.Column("key", sa.String(40), primary_key=True), sa.Column("value", sa.String(200)))
_desks = sa.Table(
    "explainer_desks", _metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("name", sa.String(NAME_LENGTH * 4), nullable=False, default=""),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("chosen", sa.String(32)),
)
_runs = sa.Table(
    "explainer_runs", _metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("desk", sa.String(32), sa.ForeignKey("explainer_desks.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("name", sa.String(NAME_LENGTH * 4), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("settings", sa.Text, nullable=False),
    sa.Column("history", sa.Text, nullable=False),
    sa.Column("test_accuracy", sa.Float),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("created", sa.Float, nullable=False, index=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("has_snapshots", sa.Boolean, nullable=False, default=False),
)
_blobs = sa.Table(  # the bytes, in the database itself when it is a server several replicas share
    "explainer_blobs", _metadata,
    sa.Column("run", sa.String(32), sa.ForeignKey("explainer_runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("part", sa.String(16), primary_key=True),  # "checkpoint" or "snapshots"
    sa.Column("data", sa.LargeBinary, nullable=False),
)
_COLUMNS = [c for c in _runs.c]


class RunStore:
    """The runs of every desk, in SQLite (default) or the database ``url`` names. Safe to share between threads."""

    def __init__(self, url: str | None = None, folder: str | Path | None = None, limits: Limits | None = None) -> None:
        self.folder = Path(folder) if folder is not None else cache_dir()
        self.url = url or os.environ.get("EXPLAINER_DATABASE_URL") or f"sqlite:///{self.folder / 'runs.sqlite3'}"
        self.limits = limits or Limits.from_environment()
        self.files = self.url.startswith("sqlite")  # SQLite: the bytes are files beside the database
        self._lock = threading.Lock()  # SQLite writes one at a time anyway; this keeps eviction and insert together
        try:
            if self.files:
                (self.folder / "runs").mkdir(parents=True, exist_ok=True)
                self.engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool, connect_args={"timeout": 15})
                sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            else:
                self.engine = sa.create_engine(self.url, pool_size=5, max_overflow=20, pool_pre_ping=True)
            self._migrate()
        except (SQLAlchemyError, OSError) as exc:
            raise _failure(exc) from None

    # --- schema -------------------------------------------------------------------------------

    def _migrate(self) -> None:
        with self.engine.begin() as db:
            _metadata.create_all(db, checkfirst=True)
            row = db.execute(sa.select(_meta.c.value).where(_meta.c.key == "schema_version")).first()
            if row is None:
                db.execute(_meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
            elif int(row[0]) > SCHEMA_VERSION:
                raise StoreError("store.err_newer", found=row[0], known=SCHEMA_VERSION)
            # (a version 2 would alter the tables here, one step per version, and write its number)

    @contextmanager
    def _session(self, write: bool = False) -> Iterator[sa.Connection]:
        try:
            if write:
                with self._lock, self.engine.begin() as db:
                    yield db
            else:
                with self.engine.connect() as db:
                    yield db
        except StoreError:
            raise
        except (SQLAlchemyError, OSError) as exc:
            raise _failure(exc) from None

    # --- desks --------------------------------------------------------------------------------

    def new_desk(self, name: str = "") -> tuple[str, str]:
        """A fresh desk: (public id, secret key)."""
        desk, key = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        with self._session(write=True) as db:
            db.execute(_desks.insert().values(id=desk, key_hash=_hash(key), name=clean_name(name), created=time.time(), chosen=None))
        return desk, key

    def desk(self, desk_id: str) -> Desk | None:
        if not is_token(desk_id):
            return None
        with self._session() as db:
            row = db.execute(sa.select(_desks).where(_desks.c.id == desk_id)).first()
        return Desk(row.id, row.name, row.created, row.chosen) if row else None

    def owns(self, desk_id: str, key: str | None) -> bool:
        """Whether ``key`` is the desk's secret key (compared in constant time)."""
        if not (is_token(desk_id) and is_token(key)):
            return False
        with self._session() as db:
            stored = db.execute(sa.select(_desks.c.key_hash).where(_desks.c.id == desk_id)).scalar()
        return stored is not None and hmac.compare_digest(stored, _hash(key))

    def _check_owner(self, desk_id: str, key: str | None) -> None:
        if not self.owns(desk_id, key):
            raise StoreError("store.err_not_yours")

    def name_desk(self, desk_id: str, key: str, name: str) -> str:
        self._check_owner(desk_id, key)
        name = clean_name(name)
        with self._session(write=True) as db:
            db.execute(_desks.update().where(_desks.c.id == desk_id).values(name=name))
        return name

    def choose(self, desk_id: str, key: str, run_id: str | None) -> None:
        """The run the desk's student uses on every page (None: back to a shipped model)."""
        self._check_owner(desk_id, key)
        with self._session(write=True) as db:
            db.execute(_desks.update().where(_desks.c.id == desk_id).values(chosen=run_id))

    # --- runs ---------------------------------------------------------------------------------

    def save_run(self, desk_id: str, key: str, run: NewRun, checkpoint: bytes,
                 snapshots: bytes | None = None) -> tuple[StoredRun, list[str]]:
        """Save a run and its bytes; returns it and the names of older runs removed to stay within the bounds."""
        self._check_owner(desk_id, key)
        run_id = secrets.token_hex(16)
        size = len(checkpoint) + len(snapshots or b"")
        if size > self.limits.desk_mb * 1e6:
            raise StoreError("store.err_too_big", mb=f"{size / 1e6:.1f}", limit=f"{self.limits.desk_mb:g}")
        values = dict(id=run_id, desk=desk_id, name=clean_name(run.name, "run"), kind=str(run.kind)[:20],
                      model=json.dumps(run.model), settings=json.dumps(run.settings), history=json.dumps(run.history),
                      test_accuracy=run.test_accuracy, seconds=float(run.seconds), created=time.time(), source=run.source[:16],
                      size=size, has_snapshots=snapshots is not None)
        written: list[Path] = []
        try:
            if self.files:
                written.append(self._write(self._path(run_id, "checkpoint"), checkpoint))
                if snapshots is not None:
                    written.append(self._write(self._path(run_id, "snapshots"), snapshots))
            with self._session(write=True) as db:
                db.execute(_runs.insert().values(**values))
                if not self.files:
                    db.execute(_blobs.insert(), [{"run": run_id, "part": "checkpoint", "data": checkpoint}]
                               + ([{"run": run_id, "part": "snapshots", "data": snapshots}] if snapshots is not None else []))
                evicted = self._evict(db, desk_id, run_id)
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        for gone in evicted:
            self._forget_files(gone[0])
        return self.run(run_id), [name for _, name in evicted]

    def _evict(self, db: sa.Connection, desk_id: str, keep: str) -> list[tuple[str, str]]:
        """Remove the oldest unpinned runs past the desk's and the store's bounds (inside the saving transaction)."""
        chosen = {row[0] for row in db.execute(sa.select(_desks.c.chosen).where(_desks.c.chosen.is_not(None)))}
        gone: list[tuple[str, str]] = []
        mine = db.execute(sa.select(_runs.c.id, _runs.c.name, _runs.c.size).where(_runs.c.desk == desk_id)
                          .order_by(_runs.c.created)).all()
        count, total = len(mine), sum(r.size for r in mine)
        for r in mine:
            if count <= self.limits.runs_per_desk and total <= self.limits.desk_mb * 1e6:
                break
            if r.id in chosen or r.id == keep:
                continue
            gone.append((r.id, r.name))
            count, total = count - 1, total - r.size
        everything = db.execute(sa.select(sa.func.coalesce(sa.func.sum(_runs.c.size), 0))).scalar() - sum(
            r.size for r in mine if r.id in {g for g, _ in gone})
        if everything > self.limits.total_mb * 1e6:
            for r in db.execute(sa.select(_runs.c.id, _runs.c.name, _runs.c.size).order_by(_runs.c.created)).all():
                if everything <= self.limits.total_mb * 1e6:
                    break
                if r.id in chosen or r.id == keep or r.id in {g for g, _ in gone}:
                    continue
                gone.append((r.id, r.name))
                everything -= r.size
        if gone:
            ids = [g for g, _ in gone]
            db.execute(_blobs.delete().where(_blobs.c.run.in_(ids)))
            db.execute(_runs.delete().where(_runs.c.id.in_(ids)))
        return gone

    def runs(self, desk_id: str | None = None, limit: int = 1000) -> list[StoredRun]:
        """The runs of one desk (or of everyone: the class board), newest first."""
        query = sa.select(*_COLUMNS, _desks.c.chosen).join(_desks, _desks.c.id == _runs.c.desk)
        if desk_id is not None:
            if not is_token(desk_id):
                return []
            query = query.where(_runs.c.desk == desk_id)
        with self._session() as db:
            rows = db.execute(query.order_by(_runs.c.created.desc()).limit(limit)).all()
        return [_stored(row) for row in rows]

    def board(self, limit: int = 1000) -> list[tuple[StoredRun, str]]:
        """Every run with its desk's name, newest first."""
        query = (sa.select(*_COLUMNS, _desks.c.chosen, _desks.c.name.label("desk_name"))
                 .join(_desks, _desks.c.id == _runs.c.desk).order_by(_runs.c.created.desc()).limit(limit))
        with self._session() as db:
            rows = db.execute(query).all()
        return [(_stored(row), row.desk_name) for row in rows]

    def run(self, run_id: str) -> StoredRun:
        query = sa.select(*_COLUMNS, _desks.c.chosen).join(_desks, _desks.c.id == _runs.c.desk).where(_runs.c.id == str(run_id))
        with self._session() as db:
            row = db.execute(query).first()
        if row is None:
            raise StoreError("store.err_no_run", run=str(run_id)[:40])
        return _stored(row)

    def checkpoint(self, run_id: str) -> bytes:
        """The run's checkpoint bytes (safetensors)."""
        return self._bytes(run_id, "checkpoint")

    def snapshots(self, run_id: str) -> bytes | None:
        """The run's replay (JSON bytes), or None when it has none."""
        return self._bytes(run_id, "snapshots") if self.run(run_id).has_snapshots else None

    def _bytes(self, run_id: str, part: str) -> bytes:
        stored = self.run(run_id)  # StoreError when there is no such run
        if self.files:
            try:
                return self._path(stored.id, part).read_bytes()
            except OSError:
                raise StoreError("store.err_missing_file", name=stored.name) from None
        with self._session() as db:
            data = db.execute(sa.select(_blobs.c.data).where(_blobs.c.run == stored.id, _blobs.c.part == part)).scalar()
        if data is None:
            raise StoreError("store.err_missing_file", name=stored.name)
        return bytes(data)

    def delete_run(self, run_id: str, desk_id: str | None = None, key: str | None = None, teacher: bool = False) -> None:
        """Delete a run: its desk's owner may, and so may the teacher."""
        stored = self.run(run_id)
        if not teacher:
            if desk_id != stored.desk:
                raise StoreError("store.err_not_yours")
            self._check_owner(desk_id, key)
        with self._session(write=True) as db:
            db.execute(_blobs.delete().where(_blobs.c.run == stored.id))
            db.execute(_runs.delete().where(_runs.c.id == stored.id))
            db.execute(_desks.update().where(_desks.c.chosen == stored.id).values(chosen=None))
        self._forget_files(stored.id)

    def clear(self) -> int:
        """Empty the class board (every run of every desk; the desks and their names stay). Returns how many went."""
        with self._session(write=True) as db:
            ids = [row[0] for row in db.execute(sa.select(_runs.c.id))]
            db.execute(_blobs.delete())
            db.execute(_runs.delete())
            db.execute(_desks.update().values(chosen=None))
        for run_id in ids:
            self._forget_files(run_id)
        return len(ids)

    def total_bytes(self) -> int:
        with self._session() as db:
            return int(db.execute(sa.select(sa.func.coalesce(sa.func.sum(_runs.c.size), 0))).scalar())

    # --- files beside SQLite --------------------------------------------------------------------

    def _path(self, run_id: str, part: str) -> Path:
        return self.folder / "runs" / f"{run_id}.{'safetensors' if part == 'checkpoint' else 'snapshots.json'}"

    @staticmethod
    def _write(path: Path, data: bytes) -> Path:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def _forget_files(self, run_id: str) -> None:
        if self.files:
            for part in ("checkpoint", "snapshots"):
                self._path(run_id, part).unlink(missing_ok=True)

    def close(self) -> None:
        self.engine.dispose()


def _stored(row: Any) -> StoredRun:  # noqa: ANN401 - a SQLAlchemy row
    return StoredRun(id=row.id, desk=row.desk, name=row.name, kind=row.kind, model=json.loads(row.model),
                     settings=json.loads(row.settings), history=json.loads(row.history), test_accuracy=row.test_accuracy,
                     seconds=row.seconds, created=row.created, source=row.source, size=row.size,
                     has_snapshots=bool(row.has_snapshots), pinned=row.chosen == row.id)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:  # noqa: ANN401 - a DB-API connection
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the one writer
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _failure(exc: BaseException) -> StoreError:
    """A database or disk failure as a sentence a teacher can act on."""
    text = str(getattr(exc, "orig", exc) or exc)
    lowered = text.lower()
    if isinstance(exc, OSError) and exc.errno == 28 or "disk is full" in lowered or "no space" in lowered:
        return StoreError("store.err_disk_full")
    if "read-only" in lowered or "readonly" in lowered or isinstance(exc, PermissionError):
        return StoreError("store.err_read_only")
    if "locked" in lowered:
        return StoreError("store.err_locked")
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        return StoreError("store.err_damaged")
    return StoreError("store.err_other", reason=text.splitlines()[0][:200] if text else type(exc).__name__)
