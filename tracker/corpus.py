"""Corpus folders: the review register (review.yaml) and the manifest that orders a build.

A register is what the tracker follows until the official review is ingested: one entry per verified
recommendation item with a stable slug, a number only where verified, and its sources.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils
import yaml

from .errors import TrackerError
from .ingest import normalise_date
from .register import position_record


@dataclass
class Manifest:
    root: Path
    review: Path
    folders: list[tuple[Path, str]]


def read_manifest(corpus_dir: Path) -> Manifest:
    path = corpus_dir / "manifest.yaml"
    if not path.exists():
        raise TrackerError(f"{corpus_dir}: no manifest.yaml (see README, 'Adding a corpus')")
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        folders = [(corpus_dir / item["path"], item["kind"]) for item in spec.get("folders", [])]
        review = corpus_dir / spec["review"]
    except (yaml.YAMLError, KeyError, TypeError) as error:
        raise TrackerError(f"{path}: invalid manifest ({error})") from error
    return Manifest(corpus_dir, review, folders)


def load_register(db: sqlite_utils.Database, path: Path) -> tuple[str, int]:
    """Upsert the review and its register items; return (review slug, items). Ids stay stable."""
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        slug = spec["slug"]
        items = spec.get("register", [])
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise TrackerError(f"{path}: not a review register ({error})") from error
    with db.atomic():
        db.table("reviews").upsert(
            {
                "slug": slug,
                "title": spec.get("title"),
                "author": spec.get("author"),
                "publisher": spec.get("publisher"),
                "published": normalise_date(spec.get("published")),
                "url": spec.get("url"),
                "pages": spec.get("pages"),
                "expected_count": spec.get("recommendations_expected"),
                "chapters": json.dumps(spec.get("chapters", [])),
                "principles": json.dumps(spec.get("principles", [])),
                "register_note": spec.get("register_note"),
            },
            pk="slug",
        )
        for item in items:
            row = {
                "review": slug,
                "key": item["slug"],
                "slug": item["slug"],
                "number": item.get("number"),
                "label": f"R{item['number']}" if item.get("number") else item["slug"],
                "title": item.get("title"),
                "text": " ".join(str(item["summary"]).split()),
                "summary": " ".join(str(item["summary"]).split()),
                "chapter": item.get("chapter"),
                "addressees": json.dumps(item.get("addressees", [])),
                "number_verified": 1 if item.get("number_verified") else 0,
                "origin": "register",
                "confidence": item.get("confidence"),
                "sources": json.dumps(item.get("sources", [])),
                "profile": json.dumps([" ".join(str(line).split()) for line in [*item.get("profile", []), *item.get("profile_more", [])]]),
                "aliases": json.dumps(item.get("aliases", [])),
                "direction": item.get("direction"),
                "direction_note": item.get("direction_note"),
                "government_position": position_record(item, spec.get("government_response")),
            }
            existing = db.execute("select id from recommendations where review = ? and (key = ? or slug = ?)", [slug, item["slug"], item["slug"]]).fetchone()
            if existing:
                reconciled = db.table("recommendations").get(existing[0])
                if reconciled["origin"] == "reconciled":  # keep the official number and text
                    row = {
                        k: v
                        for k, v in row.items()
                        if k in ("title", "summary", "confidence", "sources", "profile", "aliases", "direction", "direction_note", "government_position")
                    }
                db.table("recommendations").update(existing[0], row)
            else:
                db.table("recommendations").insert(row)
    return slug, len(items)
