"""Names found as bags of words in one clause (`NameBags`): a list sentence that names several items
in its own word order gives each of them the `name_cover` feature, and a linked item whose name is
found only that way is still carried by the passage."""

from __future__ import annotations

import numpy as np

from tracker.link import carriers
from tracker.names import Name, clause_stems
from tracker.scorer import FEATURES, FeatureTally, Profiles, document_features
from tracker.view import DocumentView


def profiles(*names: list[str]) -> Profiles:
    aliases = [[Name.parse(alias) for alias in item] for item in names]
    return Profiles(list(range(len(names))), np.zeros(0, dtype=np.int64), np.zeros((0, 4)), aliases, [{} for _ in names])


TARGETS = ["count of central targets", "LOBs"]
BUDGETS = ["budgets spanning several years"]
GRANT = ["council health grant"]


def test_a_list_sentence_splits_into_one_clause_per_item():
    clauses = clause_stems("The paper asks ministers to trim central targets; to fix budgets, and to protect the grant.")
    assert len(clauses) == 3
    assert {"centr", "targe"} <= clauses[0] and "budge" in clauses[1] and "grant" in clauses[2]


def test_every_word_of_a_name_in_one_clause_covers_it_in_any_order():
    found = profiles(TARGETS, BUDGETS, GRANT).name_cover(
        ["Leaders want the targets set centrally cut to a small count, and several years of budgets spanning them."]
    )
    assert found[0].tolist() == [1.0, 1.0, 0.0]


def test_words_spread_over_clauses_cover_only_part_of_a_name():
    found = profiles(TARGETS).name_cover(["The count went up. Central bodies set the targets."])
    assert 0 < found[0, 0] < 1


def test_an_acronym_name_is_left_to_name_hits():
    assert profiles(["LOBs"]).name_cover(["lobs everywhere, said the memo"]).tolist() == [[0.0]]


def test_cover_is_given_for_the_columns_asked_in_their_order():
    found = profiles(TARGETS, BUDGETS, GRANT).name_cover(["A council health grant for prevention.", "Nothing to see"], [2, 0])
    assert found.tolist() == [[1.0, 0.0], [0.0, 0.0]]


def test_the_tally_keeps_each_items_fullest_clause():
    tally = FeatureTally.empty(2)
    for cover in ([[0.5, 0.0]], [[1.0, 0.25]], [[0.0, 0.0]]):
        zeros = np.zeros((1, 2), dtype=np.float32)
        tally.add(zeros + 0.3, zeros, zeros, np.array(cover, dtype=np.float32))
    features = document_features(tally, "stakeholder_response", np.zeros(2), np.zeros(2))
    assert features[:, FEATURES.index("name_cover")].tolist() == [1.0, 0.25]


def view_with(covered: dict[int, dict[int, float]]) -> DocumentView:
    tally = FeatureTally.empty(2)
    tally.passages = 2
    return DocumentView(
        document={}, task="stance", recs=[{}, {}], tally=tally, priors=np.zeros(2), terms=np.zeros(2),
        peak=np.array([0.7, 0.6], dtype=np.float32), closest=np.array([[0, 1], [0, 1]]),
        closest_scores=np.array([[0.7, 0.2], [0.69, 0.1]], dtype=np.float32), cited={}, named={}, covered=covered,
        leads={}, overall=None, fetch=lambda rows: ([], np.zeros((0, 4))),
    )  # fmt: skip


def test_a_linked_item_named_only_across_a_clause_is_carried_by_that_passage():
    view = view_with({1: {1: 0.1}})
    assert carriers(view, 1, linked=True) == [(1, "named", 0.1)]
    assert carriers(view, 1, linked=False) == []


def test_covered_passages_do_not_add_to_the_closest_ones():
    view = view_with({0: {5: 0.3}})
    assert [(row, method) for row, method, _ in carriers(view, 0, linked=True)] == [(0, "semantic"), (1, "semantic")]
