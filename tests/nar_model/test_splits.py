import numpy as np
import pytest

from nar_model.splits import family_kfold, family_split

FAMS = ["a"] * 5 + ["b"] * 3 + ["c"] * 4 + ["d"] * 2 + ["unknown"] * 3 + ["e"] * 6


def test_family_split_is_disjoint_seeded_and_keeps_unknown_in_train():
    train, test = family_split(FAMS, 0.3, seed=1)
    assert len(train) + len(test) == len(FAMS)
    tr, te = {FAMS[i] for i in train}, {FAMS[i] for i in test}
    assert not (tr & te) and "unknown" not in te and te
    again = family_split(FAMS, 0.3, seed=1)
    assert np.array_equal(again[1], test)
    labelled = sum(f != "unknown" for f in FAMS)
    assert len(test) >= 0.3 * labelled


def test_kfold_holds_each_family_out_once():
    folds = family_kfold(FAMS, k=3, seed=0)
    held = [sorted({FAMS[i] for i in te}) for _, te in folds]
    flat = sorted(f for h in held for f in h)
    assert flat == sorted(set(FAMS) - {"unknown"})
    for train, test in folds:
        assert not ({FAMS[i] for i in train} & {FAMS[i] for i in test})


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        family_split(FAMS, 1.5)
    with pytest.raises(ValueError):
        family_kfold(FAMS, 1)
