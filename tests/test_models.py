"""The learned parts that ship with the package are current: fitted on the features this version
computes and on the training sentences in the package."""

import hashlib
import json
from importlib import resources

import numpy as np

from tracker.learn import fit_logistic
from tracker.readers import reader_models
from tracker.scorer import FEATURES, LinkScorer, choose_thresholds, shipped_scorer


def test_the_shipped_link_scorer_matches_the_features_computed_now():
    scorer = shipped_scorer()
    assert scorer is not None, "tracker/data/link_scorer.json is stale: run `tracker fit DB --gold ... --texts ... --out tracker/data/link_scorer.json`"
    assert 0 < scorer.link_threshold <= scorer.auto_threshold <= 1
    assert scorer.trained_on["pages"] > 0 and scorer.trained_on["positives"] > 0


def test_a_scorer_fitted_on_other_features_is_refused():
    spec = shipped_scorer().as_dict()
    spec["features"] = [*FEATURES, "something-new"]
    try:
        LinkScorer.from_dict(spec)
    except ValueError as error:
        assert "tracker fit" in str(error)
    else:
        raise AssertionError("a stale scorer was accepted")


def test_the_shipped_readers_were_fitted_on_the_shipped_sentences():
    data = resources.files("tracker") / "data"
    spec = json.loads((data / "readers.json").read_text(encoding="utf-8"))
    assert spec["training_sha256"] == hashlib.sha256((data / "training_sentences.jsonl").read_bytes()).hexdigest(), (
        "refit the readers: python -m tracker.readers"
    )
    assert set(reader_models()) == {"stance", "signal", "position"}


def test_logistic_fit_is_deterministic_and_separates_a_clear_case():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, 3))
    y = ["yes" if v > 0 else "no" for v in x[:, 0]]
    first, second = fit_logistic(x, y), fit_logistic(x, y)
    assert np.array_equal(first.weights, second.weights)
    predicted = np.array(first.labels)[first.probabilities(x).argmax(axis=1)]
    assert (predicted == np.array(y)).mean() > 0.95


def test_thresholds_give_the_precise_cut_for_automatic_decisions():
    probabilities = np.array([0.99, 0.97, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5])
    linked = np.array([True, True, True, False, True, False, False, False])
    link, auto = choose_thresholds(probabilities, linked)
    assert auto == 0.95  # the three links above it are all right; adding 0.9 would drop precision to 0.75
    assert link <= auto
