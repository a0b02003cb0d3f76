"""The Datasette plugin through `datasette.client`: pages and their JSON, hybrid search, filters,
dashboard counts, the recommendation page, cell rendering, SQL functions and HTML escaping.

The published database (conftest's `published_db`) has no embeddings; hybrid search is exercised
with fake passage vectors and a stubbed query embedding, and once with the real model (marked slow).
The search library itself is tested in test_search.py.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from datasette.app import Datasette

import tracker
import tracker.search
from datasette_plugins.review_tracker import render_cell
from tracker.corpus import load_register
from tracker.embed import to_blob
from tracker.publish import metadata

PAGES = [
    "/-/tracker/search",
    "/-/tracker/search?q=prevention",
    "/-/tracker/dashboard",
    "/-/tracker/recommendation/1",
    "/-/tracker/recommendation/harps",
]


@pytest.fixture
def ds(published_db) -> Datasette:
    return Datasette([str(published_db)], metadata=metadata(published_db))


def rec_id(db_path: Path, label: str) -> int:
    return sqlite3.connect(db_path).execute("select id from recommendations where label = ? or slug = ?", [label, label]).fetchone()[0]


@pytest.mark.parametrize("path", PAGES)
async def test_pages_and_their_json(ds, path):
    response = await ds.client.get(path)
    assert response.status_code == 200, response.text[:500]
    assert "text/html" in response.headers["content-type"]
    base, _, query = path.partition("?")
    data = await ds.client.get(base + ".json" + ("?" + query if query else ""))
    assert data.status_code == 200 and data.json()["database"] == "tracker"


async def test_datasette_pages_of_the_database(ds):
    for path in ("/", "/tracker", "/tracker/passages", "/tracker/documents", "/tracker/links", "/tracker/statuses", "/tracker/recommendation_progress",
                 "/tracker/government_positions", "/tracker/stakeholder_positions", "/tracker/evidence_timeline", "/tracker/recommendations/1"):  # fmt: skip
        response = await ds.client.get(path)
        assert response.status_code == 200, path


async def test_unknown_recommendation_and_database(ds):
    assert (await ds.client.get("/-/tracker/recommendation/99999")).status_code == 404
    assert (await ds.client.get("/-/tracker/dashboard?db=nope")).status_code == 404
    assert (await ds.client.get("/-/tracker/dashboard?db=tracker")).status_code == 200


async def test_search_finds_fts_hits_and_says_it_fell_back(ds):
    data = (await ds.client.get("/-/tracker/search.json?q=running+costs")).json()
    assert data["mode"] == "hybrid" and data["mode_used"] == "fts"
    assert any("no passage embeddings" in note for note in data["notes"])
    texts = [hit["text"] for hit in data["hits"]]
    assert len(texts) == 2 and all("running costs" in t for t in texts)
    hit = data["hits"][0]
    assert hit["fts_rank"] == 1 and hit["document"] and hit["publisher"] and hit["date"] and hit["url"].startswith("https://")
    assert hit["row_url"] == f"/tracker/passages/{hit['id']}"
    assert {r["label"] for h in data["hits"] for r in h["recommendations"]} == {"running-costs"}
    html = (await ds.client.get("/-/tracker/search?q=running+costs")).text
    assert "no passage embeddings" in html and "<mark>running</mark>" in html
    assert f'href="/tracker/passages/{hit["id"]}"' in html and 'href="https://example.org/nhse/running-costs"' in html
    assert f'href="/-/tracker/recommendation/{hit["recommendations"][0]["id"]}"' in html


async def test_search_stems_and_falls_back_to_any_word(ds):
    data = (await ds.client.get("/-/tracker/search.json?q=supporting&mode=fts")).json()
    assert [h["fts_rank"] for h in data["hits"]] == [1] and "support" in data["hits"][0]["text"]
    data = (await ds.client.get("/-/tracker/search.json?q=zebra+prevention&mode=fts")).json()
    assert data["fts_match"] == "any" and data["hits"] and any("any of them" in n for n in data["notes"])
    assert (await ds.client.get("/-/tracker/search.json?q=zebra&mode=fts")).json()["hits"] == []
    assert (await ds.client.get('/-/tracker/search.json?q="unbalanced+AND+OR+(')).status_code == 200


@pytest.mark.parametrize(
    ("query", "publishers"),
    [
        ("", {"Local Government Association", "NHS England"}),
        ("&kind=evidence", {"NHS England"}),
        ("&publisher=Local+Government+Association", {"Local Government Association"}),
        ("&since=2025-01-01", {"NHS England"}),
        ("&until=2024", {"Local Government Association"}),
        ("&until=2025-03", {"Local Government Association", "NHS England"}),
        ("&recommendation=running-costs", {"Local Government Association", "NHS England"}),
        ("&recommendation=R1", set()),
        ("&kind=government_response", set()),
    ],
)
async def test_filters_narrow_results(ds, query, publishers):
    data = (await ds.client.get(f"/-/tracker/search.json?q=running+costs{query}")).json()
    assert {hit["publisher"] for hit in data["hits"]} == publishers


async def test_recommendation_filter_keeps_linked_passages(ds, published_db):
    r1 = rec_id(published_db, "R1")
    data = (await ds.client.get(f"/-/tracker/search.json?q=government&recommendation={r1}")).json()
    assert data["filters"]["recommendation_id"] == r1
    assert data["hits"] and all(any(r["id"] == r1 for r in hit["recommendations"]) for hit in data["hits"])
    unfiltered = (await ds.client.get("/-/tracker/search.json?q=government")).json()
    assert len(unfiltered["hits"]) > len(data["hits"])


async def test_hybrid_search_page_with_vectors(vector_db, monkeypatch):
    path, fake = vector_db
    monkeypatch.setattr(tracker.search, "embed_query", lambda text: fake["query"])
    ds = Datasette([str(path)])
    data = (await ds.client.get("/-/tracker/search.json?q=running+costs")).json()
    assert data["mode_used"] == "hybrid" and data["notes"] == [] and data["vector_hits"] > 0
    assert fake["dental"] in [h["id"] for h in data["hits"]]
    assert {h["id"] for h in data["hits"][:2]} == {h["id"] for h in data["hits"] if h["fts_rank"]}
    html = (await ds.client.get("/-/tracker/search?q=running+costs")).text
    assert "meaning #1" in html and "fused by reciprocal rank" in html


async def test_model_failure_falls_back_to_fts(vector_db, monkeypatch):
    path, _ = vector_db

    def broken(text):
        raise OSError("model files missing")

    monkeypatch.setattr(tracker.search, "embed_query", broken)
    ds = Datasette([str(path)])
    data = (await ds.client.get("/-/tracker/search.json?q=running+costs")).json()
    assert data["mode_used"] == "fts" and len(data["hits"]) == 2
    assert any("could not be loaded" in note and "model files missing" in note for note in data["notes"])


async def test_search_without_published_indexes(tmp_path):
    db = tracker.open_db(tmp_path / "bare.db")
    load_register(db, Path(__file__).resolve().parents[1] / "corpus" / "hewitt-2023" / "review.yaml")
    db.close()
    ds = Datasette([str(tmp_path / "bare.db")])
    response = await ds.client.get("/-/tracker/search?q=prevention&mode=fts")
    assert response.status_code == 200 and "tracker publish" in response.text
    assert (await ds.client.get("/-/tracker/dashboard")).status_code == 200


async def test_dashboard_counts_match_statuses(ds, published_db):
    conn = sqlite3.connect(published_db)
    expected = dict(
        conn.execute(
            "select s.status, count(*) from statuses s join recommendations r on r.id = s.recommendation_id where r.parent_id is null group by s.status"
        )
    )
    assert expected == {  # as tracker.status derives them: 11 register positions, the fixture links, a status set by hand
        "not_accepted": 2, "deferred": 1, "noted_no_commitment": 2, "accepted_no_action_found": 4, "implemented": 1, "in_progress": 1,
        "reversed": 1, "no_position_found": 18,
    }  # fmt: skip
    data = (await ds.client.get("/-/tracker/dashboard.json")).json()
    assert {s: n for s, n in data["counts"].items() if n} == expected
    assert data["total"] == 30 == sum(len(c["recommendations"]) for c in data["chapters"])
    assert data["chapters"][0]["chapter"] == "From focusing on illness to promoting health"
    assert {s: n for s, n in data["timeline"][-1]["counts"].items() if n} == expected
    assert data["timeline"][0]["date"] == "2023-04-04" and data["timeline"][0]["counts"] == {"no_position_found": 30}
    assert {p: n for p, n in data["position_counts"].items() if n} == {
        "accepted": 5, "accepted_in_principle": 1, "further_work": 1, "noted": 2, "not_accepted": 2, "none_found": 19,
    }  # fmt: skip
    html = (await ds.client.get("/-/tracker/dashboard")).text
    for status, n in expected.items():
        assert html.count('class="tr-cell" href') == 30
        assert html.count(f'data-status="{status}"') == n + 1  # n cells and the count
    assert "<svg" in html and "<script" not in html.split("<footer")[0].split("</header>")[1]
    r1 = rec_id(published_db, "R1")
    assert f'href="/-/tracker/recommendation/{r1}"' in html


async def test_recommendation_page_shows_verification_status_and_quote(ds, published_db):
    r1 = rec_id(published_db, "R1")
    html = (await ds.client.get(f"/-/tracker/recommendation/{r1}")).text
    assert "number verified against the official review" in html
    assert "did not accept the call to raise the prevention share" in html
    assert "not accepted" in html and "Local Government Association" in html and "support" in html
    assert 'href="https://example.org/dhsc/response"' in html
    assert "https://www.impower.co.uk/insights/hewitt-review-the-case-for-glaziers/" in html
    data = (await ds.client.get(f"/-/tracker/recommendation/{r1}.json")).json()
    assert data["recommendation"]["number_verified"] == 1 and data["recommendation"]["label"] == "R1"
    assert data["status"]["status"] == "not_accepted" and data["status"]["deciding_link"] == "register:prevention-share"
    assert data["government_position"]["label"] == "not_accepted" and data["government_position"]["method"] == "register"
    assert data["government_position"]["sources"][0].startswith("https://healthcareleadernews.com/")
    assert [p["method"] for p in data["government_positions"]] == ["register", "explicit"]  # the register first: it decides
    assert [s["publisher"] for s in data["stakeholder_positions"]] == ["Local Government Association"]
    assert data["history"][0]["to_status"] == "not_accepted"


async def test_recommendation_page_for_a_register_item(ds):
    data = (await ds.client.get("/-/tracker/recommendation/harps.json")).json()
    assert data["recommendation"]["number"] is None and data["recommendation"]["number_verified"] == 0
    assert data["status"]["status"] == "in_progress" and data["overrides"][0]["note"] == "Checked by hand"
    html = (await ds.client.get("/-/tracker/recommendation/harps")).text
    assert "number not verified" in html and "Checked by hand" in html and "2024-07-26" in html
    running = (await ds.client.get("/-/tracker/recommendation/running-costs.json")).json()
    assert [(e["date"], e["label"], e["target_date"], e["assessor"]) for e in running["evidence"]] == [("2025-03-13", "reversed", "2025-12-31", "government")]
    dental = (await ds.client.get("/-/tracker/recommendation/dental-reform.json")).json()
    assert dental["stakeholder_positions"][0]["decision"] == "reject"
    assert dental["overrides"][0]["action"] == "reject"


async def test_a_status_resting_on_an_unconfirmed_machine_link_is_marked_as_a_lead(published_copy):
    from conftest import insert_links

    from tracker.audit import decide_link
    from tracker.publish import publish
    from tracker.status import refresh_statuses

    db = tracker.open_db(published_copy)
    link = ("ICBs ordered to halve running costs", "cut their running costs", "end-small-funding-pots", "signal", "implemented", "semantic", 0.7, None)
    insert_links(db, {"L-sig-m": link})
    db.execute("update links set probability = 0.99, threshold = 0.9 where id = 'L-sig-m'")  # above the auto threshold: decides alone
    refresh_statuses(db)
    publish(db)
    ds = Datasette([str(published_copy)], metadata=metadata(published_copy))
    marked_url = f"/{published_copy.stem}/recommendation_progress.json?_shape=array&machine_set=1"
    marked = (await ds.client.get(marked_url)).json()
    assert [(row["slug"], row["status"]) for row in marked] == [("end-small-funding-pots", "implemented")]  # a confirmed machine link is not marked
    page = (await ds.client.get("/-/tracker/recommendation/end-small-funding-pots")).text
    assert "rests on a machine link no person has confirmed (probability 0.99)" in page
    assert "status set by a machine link that no person has confirmed" in (await ds.client.get("/-/tracker/dashboard")).text
    db.execute("update links set reading_probability = 0.5 where id = 'L-sig-m'")  # the reader unsure: waits for a person
    refresh_statuses(db)
    evidence = (await ds.client.get(f"/{published_copy.stem}/evidence_timeline.json?_shape=array&link_id=L-sig-m")).json()
    assert [row["decides"] for row in evidence] == [0] and (await ds.client.get(marked_url)).json() == []
    decide_link(db, "L-sig-m", "confirm", "ana", note="Checked the guidance")
    refresh_statuses(db)
    db.close()
    assert (await ds.client.get(marked_url)).json() == []
    assert "rests on a machine link" not in (await ds.client.get("/-/tracker/recommendation/end-small-funding-pots")).text


async def test_render_cell_badges_and_links(ds):
    links = (await ds.client.get("/tracker/links")).text
    assert 'class="tr-badge"' in links and ">not accepted</span>" in links
    statuses = (await ds.client.get("/tracker/statuses")).text
    assert ">in progress</span>" in statuses
    assert 'rel="noopener nofollow"' in statuses and '<a href="/-/tracker/recommendation/1?db=tracker">R1</a>' in statuses
    assert render_cell("javascript:alert(1)", "url", "documents", None, None, None) is None
    assert render_cell("R1", "label", "recommendations", None, None, None) is None
    assert "tr-badge" in render_cell("support", "label", "links", None, None, None)
    assert str(render_cell('["https://a.example/x", "https://b.example/y"]', "sources", "recommendations", None, None, None)).count("<a ") == 2
    assert render_cell("Cut costs (register: running-costs).", "quote", "links", None, None, None) == "Cut costs."


async def test_sql_similarity_function(ds):
    one = to_blob(np.array([1, 0, 0], dtype="<f4")).hex()
    other = to_blob(np.array([0, 2, 0], dtype="<f4")).hex()
    sql = f"select tracker_similarity(X'{one}', X'{one}') as same, tracker_similarity(X'{one}', X'{other}') as orth, tracker_similarity(X'{one}', null) as missing"
    row = (await ds.client.get("/tracker.json", params={"sql": sql, "_shape": "array"})).json()[0]
    assert row == {"same": pytest.approx(1.0), "orth": 0.0, "missing": None}


async def test_metadata_applied_by_datasette(ds):
    documents = (await ds.client.get("/tracker/documents.json?_extra=facet_results")).json()
    assert {"kind", "publisher"} <= set(documents["facet_results"])
    tables = {t["name"]: t for t in (await ds.client.get("/tracker.json")).json()["tables"]}
    assert tables["embeddings"]["hidden"] and tables["passages_fts"]["hidden"] and not tables["passages"]["hidden"]
    rejected = (await ds.client.get("/tracker/government_rejected.json?_shape=array")).json()
    assert [(r["label"], r["method"]) for r in rejected] == [("R1", "register"), ("national-health-mission", "register")]
    said = (await ds.client.get("/tracker/stakeholders_on.json?label=R1&_shape=array")).json()
    assert [(r["publisher"], r["stance"]) for r in said] == [("Local Government Association", "support")]
    since = (await ds.client.get("/tracker/evidence_since.json?since=2025-01-01&_shape=array")).json()
    assert {r["signal"] for r in since} == {"reversed", "implemented"}
    searchable = (await ds.client.get("/tracker/recommendation_progress.json?_search=prevention&_shape=array")).json()
    assert searchable and all("prevent" in (r["title"] + r["text"]).lower() for r in searchable)


HOSTILE_PAGES = [
    "/-/tracker/search?q=dentistry",
    "/-/tracker/search?q=dentistry&mode=fts&kind=stakeholder_response",
    "/-/tracker/search?q=hostile",
    "/-/tracker/dashboard",
    "/-/tracker/recommendation/dental-reform",
    "/tracker/passages",
    "/tracker/documents",
    "/tracker/documents/4",
    "/tracker/links",
    "/tracker/stakeholder_positions",
    "/tracker/passages?_search=dentistry",
]


@pytest.mark.parametrize("path", HOSTILE_PAGES)
async def test_document_text_is_escaped_everywhere(ds, path, hostile):
    html = (await ds.client.get(path)).text
    assert "<script>alert(1)" not in html and hostile["img"] not in html and "<img src=x" not in html
    assert hostile["script"] not in html


async def test_hostile_text_is_shown_escaped(ds):
    html = (await ds.client.get("/-/tracker/search?q=dentistry")).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    options = (await ds.client.get("/-/tracker/search")).text
    assert "Mischief &lt;img src=x onerror=alert(1)&gt; Ltd" in options


@pytest.mark.slow
async def test_hybrid_search_with_the_real_model(published_copy):
    """The only test that loads all-MiniLM-L6-v2 (~8 s)."""
    from tracker.embed import embed_texts, get_embedder, texts_to_embed

    path = published_copy
    db = tracker.open_db(path)
    embed_texts(db, texts_to_embed(db), get_embedder())
    db.close()
    ds = Datasette([str(path)])
    data = (await ds.client.get("/-/tracker/search.json?q=dentists")).json()
    assert data["mode_used"] == "hybrid" and data["fts_hits"] == 0 and data["notes"] == []
    assert "dental reform" in data["hits"][0]["text"] and data["hits"][0]["vector_rank"] == 1
    data = (await ds.client.get("/-/tracker/search.json?q=running+costs")).json()
    assert data["mode_used"] == "hybrid" and data["fts_hits"] == 2 and data["vector_hits"] > 2
    fts_ids = {h["id"] for h in data["hits"] if h["fts_rank"]}
    assert {h["id"] for h in data["hits"][:2]} == fts_ids
    sql = "select tracker_embed_similarity('dentists', e.vector) as s from passages p join embeddings e on e.sha256 = p.sha256 where p.text like '%dental reform%'"
    row = (await ds.client.get(f"/{path.stem}.json", params={"sql": sql, "_shape": "array"})).json()[0]
    assert 0.2 < row["s"] <= 1.0
