"""Sessions on disk (SQLite, stdlib `sqlite3`): every session's config and every event it
streamed, in order, so a restarted server resumes each unfinished order without losing a fill.

Tables: `sessions(id, config, created_s, status)` and `events(seq, session, type, payload)`;
`seq` is one global, increasing number (the dashboard's stream resumes after it). Writes are
committed per interval (`append`); WAL journal mode lets readers run beside the writer.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, config TEXT NOT NULL, created_s REAL NOT NULL, status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, session TEXT NOT NULL, type TEXT NOT NULL, payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_session ON events(session, seq);
"""


class SessionStore:
    """A SQLite file of sessions and their events (`path` ":memory:" for a throwaway one)."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
        self.last_seq = int(row[0])

    def add_session(self, sid: str, config: dict) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, 'running')",
                (sid, json.dumps(config), time.time()),
            )

    def set_status(self, sid: str, status: str) -> None:
        with self._lock, self._db:
            self._db.execute("UPDATE sessions SET status = ? WHERE id = ?", (status, sid))

    def append(self, sid: str, events: list[dict]) -> list[dict]:
        """Give each event the next `seq` and its `session`, store them in one transaction."""
        with self._lock, self._db:
            for e in events:
                self.last_seq += 1
                e["seq"], e["session"] = self.last_seq, sid
            self._db.executemany(
                "INSERT INTO events VALUES (?, ?, ?, ?)",
                [(e["seq"], sid, e["type"], json.dumps(e)) for e in events],
            )
        return events

    def sessions(self) -> list[tuple[str, dict, str]]:
        """(id, config, status) of every session, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, config, status FROM sessions ORDER BY created_s, id"
            ).fetchall()
        return [(sid, json.loads(cfg), status) for sid, cfg, status in rows]

    def events(self, sid: str, types: tuple = ()) -> list[dict]:
        """The events of session `sid` in order (only `types` when given)."""
        query, args = "SELECT payload FROM events WHERE session = ?", [sid]
        if types:
            query += f" AND type IN ({','.join('?' * len(types))})"
            args += list(types)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY seq", args).fetchall()
        return [json.loads(r[0]) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
