"""Which passages a search may return, as SQL: shared by the word ranking (`tracker.search`), the
exact meaning ranking (`tracker.vector_matrix`) and the approximate one (`tracker.vector_index`),
so that every path filters by the same rules.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

Connection = Any  # a DB-API connection: sqlite3 or pysqlite3 (Datasette's)

# Passages linked to a recommendation or to one of its parts, by a link or an inline mention.
LINKED_PASSAGES = """select l.passage_id from links l join recommendations r on r.id = l.recommendation_id where :f_rec in (r.id, r.parent_id)
    union select m.passage_id from mentions m join recommendations r on r.id = m.recommendation_id where :f_rec in (r.id, r.parent_id)"""


@dataclass
class Filters:
    """Which passages a search may return; empty fields do not filter."""

    kind: str | None = None
    publisher: str | None = None
    since: str | None = None
    until: str | None = None
    recommendation: int | None = None  # a recommendation id (see `tracker.search.find_recommendation`)

    def active(self) -> bool:
        return any(v not in (None, "") for v in asdict(self).values())

    def document_clause(self) -> tuple[str, dict[str, Any]]:
        """SQL conditions on documents `d` (each starting with ' and ')."""
        parts, params = [], {}
        if self.kind:
            parts.append("d.kind = :f_kind")
            params["f_kind"] = self.kind
        if self.publisher:
            parts.append("d.publisher = :f_publisher")
            params["f_publisher"] = self.publisher
        if self.since:
            parts.append("d.published >= :f_since")
            params["f_since"] = self.since
        if self.until:  # compare at the precision given: until=2024 keeps 2024-12-31
            parts.append("substr(d.published, 1, length(:f_until)) <= :f_until")
            params["f_until"] = self.until
        return "".join(f" and {part}" for part in parts), params

    def clause(self) -> tuple[str, dict[str, Any]]:
        """SQL conditions on passages `p` and documents `d` (each starting with ' and ')."""
        where, params = self.document_clause()
        if self.recommendation is not None:
            where += f" and p.id in ({LINKED_PASSAGES})"
            params["f_rec"] = self.recommendation
        return where, params

    def allowed(self, conn: Connection, ids: Sequence[int]) -> set[int]:
        """Which of these passages still exist and pass the filters: one lookup by id each, however
        large the database (how an approximate ranking's candidates are checked). CROSS JOIN keeps
        that order: left to itself SQLite walks every passage of the documents a filter allows."""
        where, params = self.clause()
        sql = f"""select p.id from json_each(:f_ids) j cross join passages p on p.id = j.value cross join documents d on d.id = p.document_id
            where 1 = 1 {where}"""
        return {row[0] for row in conn.execute(sql, {**params, "f_ids": json.dumps([int(i) for i in ids])})}

    def passage_ids(self, conn: Connection, limit: int) -> list[int]:
        """Up to `limit` passages that pass the filters, the documents found by their indexes."""
        allowed, params = self.document_clause()
        where = f" and p.document_id in (select d.id from documents d where 1 = 1 {allowed})" if allowed else ""
        if self.recommendation is not None:
            where += f" and p.id in ({LINKED_PASSAGES})"
            params["f_rec"] = self.recommendation
        return [row[0] for row in conn.execute(f"select p.id from passages p where 1 = 1 {where} limit :f_limit", {**params, "f_limit": limit})]
