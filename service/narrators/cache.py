"""Explanation cache: repeat questions cost nothing, a new model or prompt invalidates.

SQLite, one row per key. The key covers the customer, the model version, the prompt version, the
provider and model, the agent's question and a digest of the facts themselves (a re-score with the
same model but newer data changes the facts, and a narrative checked against old facts must not be
served). Only explanations whose every attempt got an answer are stored: a timeout or a connection
error is not remembered.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from pathlib import Path

from service.explain import Explanation, Facts

_SCHEMA = """
CREATE TABLE IF NOT EXISTS explanations (
  key TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL,
  model_version TEXT NOT NULL,
  prompt_version TEXT NOT NULL,
  narrator TEXT NOT NULL,
  created_at REAL NOT NULL,
  payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS explanations_model ON explanations (model_version);
"""


def cache_key(facts: Facts, narrator_identity: str, prompt_version: str, question: str | None = None) -> str:
    h = hashlib.sha256()
    for part in (
        facts.customer_id,
        facts.model_version,
        prompt_version,
        narrator_identity,
        question or "",
        facts.model_dump_json(),
    ):
        h.update(part.encode("utf-8") + b"\0")
    return h.hexdigest()


class ExplanationCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def _key(facts: Facts, narrator, question: str | None) -> str:
        return cache_key(
            facts, getattr(narrator, "identity", narrator.name), getattr(narrator, "prompt_version", "") or "", question
        )

    def get(self, facts: Facts, narrator, question: str | None = None) -> Explanation | None:
        with self._lock:
            row = self._con.execute(
                "SELECT payload FROM explanations WHERE key = ?", (self._key(facts, narrator, question),)
            ).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        return Explanation.model_validate_json(row[0])

    def put(self, facts: Facts, narrator, question: str | None, exp: Explanation) -> None:
        with self._lock, self._con:
            self._con.execute(
                "INSERT OR REPLACE INTO explanations VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    self._key(facts, narrator, question),
                    facts.customer_id,
                    facts.model_version,
                    getattr(narrator, "prompt_version", "") or "",
                    getattr(narrator, "identity", narrator.name),
                    time.time(),
                    exp.model_dump_json(),
                ),
            )

    def purge(self, keep_model_version: str | None = None) -> int:
        """Delete entries of other model versions (all entries when None); returns how many."""
        with self._lock, self._con:
            if keep_model_version is None:
                cur = self._con.execute("DELETE FROM explanations")
            else:
                cur = self._con.execute("DELETE FROM explanations WHERE model_version != ?", (keep_model_version,))
            return cur.rowcount

    def __len__(self) -> int:
        with self._lock:
            return self._con.execute("SELECT COUNT(*) FROM explanations").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._con.close()
