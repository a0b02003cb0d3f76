"""One home for "which recommendation": every reference form resolves through tracker.recommendations,
and forgetting a recommendation takes what hangs off it."""

import pytest

from tracker.recommendations import NotFoundError, forget, list_recommendations, refresh_mentions, resolve, resolve_id
from tracker.references import LABEL, reference_number


def add_review(db, slug: str) -> None:
    db.execute("pragma foreign_keys = off")  # bare rows: these tests look at resolution, not at documents
    db["reviews"].insert({"slug": slug, "title": slug})
    db["recommendations"].insert_all(
        [
            {
                "id": None,
                "review": slug,
                "key": "prevention-share",
                "slug": "prevention-share",
                "number": 1,
                "label": "R1",
                "text": "Spend more on prevention.",
            },
            {
                "id": None,
                "review": slug,
                "key": "peer-review",
                "slug": "peer-review",
                "number": None,
                "label": "peer-review",
                "text": "Peer review for systems.",
            },
            {"id": None, "review": slug, "key": "7", "slug": None, "number": 7, "label": "R7", "text": "A parsed recommendation."},
        ]
    )


@pytest.fixture
def two_reviews(db):
    add_review(db, "hewitt-2023")
    add_review(db, "other-2024")
    return db


@pytest.mark.parametrize("ref", ["1", "R1", "r1", "Recommendation 1", "rec. 1", " 1 "])
def test_every_written_number_resolves(db, ref):
    add_review(db, "hewitt-2023")
    assert resolve(db, ref)["slug"] == "prevention-share"


def test_slug_key_and_label_resolve(db):
    add_review(db, "hewitt-2023")
    assert resolve(db, "peer-review")["text"] == "Peer review for systems."
    assert resolve(db, "R7")["key"] == "7"
    assert resolve(db, "7")["label"] == "R7"


def test_ids_resolve_only_when_asked(db):
    add_review(db, "hewitt-2023")
    peer = resolve(db, "peer-review")
    with pytest.raises(NotFoundError):
        resolve(db, str(peer["id"] + 100))
    assert resolve(db, str(peer["id"]), by_id=True)["slug"] == "peer-review"


def test_ambiguous_across_reviews_needs_the_review(two_reviews):
    with pytest.raises(NotFoundError, match="2 reviews"):
        resolve(two_reviews, "R1")
    assert resolve(two_reviews, "R1", review="other-2024")["review"] == "other-2024"
    assert resolve_id(two_reviews, "nothing-like-this") is None


def test_unknown_reference_is_a_clear_error(db):
    add_review(db, "hewitt-2023")
    with pytest.raises(NotFoundError, match="no recommendation 'R99'"):
        resolve(db, "R99")


def test_mentions_resolve_by_number_and_slug_in_one_statement(db):
    add_review(db, "hewitt-2023")
    db["documents"].insert({"id": 5, "kind": "evidence", "review": "hewitt-2023", "sha256": "x", "text": "", "source_path": "n.md"}, alter=False)
    db["mentions"].insert_all([{"document_id": 5, "ref": "1"}, {"document_id": 5, "ref": "peer-review"}, {"document_id": 5, "ref": "99"}])
    refresh_mentions(db)
    resolved = [row["recommendation_id"] for row in db["mentions"].rows_where(order_by="id")]
    assert resolved == [resolve(db, "R1")["id"], resolve(db, "peer-review")["id"], None]


def test_forget_takes_parts_links_and_statuses(db):
    add_review(db, "hewitt-2023")
    rec = resolve(db, "R1")
    db["recommendations"].insert({"review": "hewitt-2023", "key": "1a", "parent_id": rec["id"], "text": "part"})
    db["links"].insert({"id": "L1", "recommendation_id": rec["id"]})
    db["statuses"].insert({"recommendation_id": rec["id"], "status": "planned"})
    db["mentions"].insert({"document_id": 1, "ref": "1", "recommendation_id": rec["id"]})
    forget(db, [rec["id"]])
    assert db.execute("select count(*) from recommendations where id = ? or parent_id = ?", [rec["id"], rec["id"]]).fetchone()[0] == 0
    assert db["links"].count == 0 and db["statuses"].count == 0
    assert [row["recommendation_id"] for row in db["mentions"].rows] == [None]


def test_listing_orders_numbers_first(db):
    add_review(db, "hewitt-2023")
    assert [row["label"] for row in list_recommendations(db)] == ["R1", "R7", "peer-review"]


@pytest.mark.parametrize(("text", "number"), [("Recommendation 12: Do it.", "12"), ("Rec. 3 - Fund it", "3"), ("REC 4: x", "4")])
def test_labels_share_one_pattern(text, number):
    assert LABEL.match(text).group("number") == number
    assert reference_number(text.split(":")[0].split(" -")[0]) == number
