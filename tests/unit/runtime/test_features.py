"""Word-overlap features: definitions by hand, IDF, standardisation round trip."""

from __future__ import annotations

import math

import numpy as np
import pytest

from millicent.errors import ArtifactError
from millicent.runtime.features import OverlapFeatures, compute_idf
from millicent.tokenizers.ptb import ptb_key


def test_idf_counts_documents_not_occurrences() -> None:
    words, idf, unseen = compute_idf([["a", "a", "b"], ["a", "c"], ["-LRB-"]], key=ptb_key)
    got = dict(zip(words, idf.tolist(), strict=True))
    assert got["a"] == pytest.approx(math.log(4 / 3))
    assert got["b"] == pytest.approx(math.log(4 / 2))
    assert "(" in got  # keyed by vector_key, like the stores
    assert unseen == pytest.approx(math.log(4))


def test_overlap_by_hand() -> None:
    feats = OverlapFeatures({"who": 0.1, "wrote": 2.0, "hamlet": 3.0, "?": 0.0}, unseen_idf=5.0, key=ptb_key)
    q = ["who", "wrote", "hamlet", "?"]
    a = ["shakespeare", "wrote", "Hamlet", "."]
    raw = feats.raw(q, a)
    # all words: {who, wrote, hamlet, ?} ∩ answer = {wrote, hamlet}
    assert raw[0] == pytest.approx(2 / 4)
    assert raw[1] == pytest.approx(5.0 / 5.1)
    # non-stopwords: {wrote, hamlet} (who and ? are stopwords), both shared
    assert raw[2] == pytest.approx(1.0)
    assert raw[3] == pytest.approx(1.0)
    # a question made only of stopwords has no non-stopword overlap
    assert feats.raw(["who", "?"], ["who"])[2:].tolist() == [0.0, 0.0]


def test_standardisation_round_trips_through_the_manifest() -> None:
    words, idf, unseen = compute_idf([["x", "y"], ["y", "z"]], key=ptb_key)
    feats = OverlapFeatures(dict(zip(words, idf.tolist(), strict=True)), unseen, key=ptb_key)
    rows = np.stack([feats.raw(["x", "y"], ["y"]), feats.raw(["z"], ["q"]), feats.raw(["x"], ["x"])])
    feats.fit_scaler(rows)
    again = OverlapFeatures.from_manifest(feats.to_manifest(), (words, idf), ptb_key)
    np.testing.assert_array_equal(again(["x", "y"], ["y"]), feats(["x", "y"], ["y"]))
    assert abs(float(feats(["x", "y"], ["y"]).mean())) < 10
    with pytest.raises(ArtifactError):
        OverlapFeatures.from_manifest(feats.to_manifest(), None, ptb_key)
