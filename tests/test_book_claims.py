"""resnet_lib.book.claims: the sentence follows the numbers it is given."""

import pytest

from resnet_lib.book.claims import degradation_depth, describe_plain_training


def test_nets_near_chance_are_said_not_to_have_trained():
    text = describe_plain_training({"plain-20": 0.02, "plain-44": 0.80, "plain-56": 0.86},
                                   chance=0.9, steps=320)
    assert "plain-44 80.0%, plain-56 86.0%" in text and "barely started" in text
    assert "not the paper's degradation" in text and "The others did train: plain-20 2.0%" in text
    assert "320 SGD steps" in text


def test_trained_nets_are_said_to_have_trained():
    text = describe_plain_training({"plain-20": 0.02, "plain-56": 0.30}, chance=0.9, steps=1000)
    assert text.startswith("Every plain net trained") and "barely" not in text


def test_degradation_depth_is_the_deepest_plain_net_that_trained_but_worse():
    # this cpu run's shape: plain-56 still near chance has not trained; plain-44 degraded
    errors = {20: 0.005, 32: 0.163, 44: 0.488, 56: 0.882}
    assert degradation_depth(errors, chance=0.9) == 44
    assert degradation_depth({20: 0.05, 56: 0.12}, chance=0.9) == 56  # the paper's picture
    assert degradation_depth({20: 0.10, 56: 0.05}, chance=0.9) is None  # deeper is better: no degradation
    assert degradation_depth({20: 0.88, 56: 0.89}, chance=0.9) is None  # nothing trained (smoke)
    with pytest.raises(ValueError, match="empty"):
        degradation_depth({}, chance=0.9)
