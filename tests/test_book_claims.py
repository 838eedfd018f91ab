"""resnet_lib.book.claims: the sentence follows the numbers it is given."""

from resnet_lib.book.claims import describe_plain_training


def test_nets_near_chance_are_said_not_to_have_trained():
    text = describe_plain_training({"plain-20": 0.02, "plain-44": 0.80, "plain-56": 0.86},
                                   chance=0.9, steps=320)
    assert "plain-44 80.0%, plain-56 86.0%" in text and "barely started" in text
    assert "not the paper's degradation" in text and "The others did train: plain-20 2.0%" in text
    assert "320 SGD steps" in text


def test_trained_nets_are_said_to_have_trained():
    text = describe_plain_training({"plain-20": 0.02, "plain-56": 0.30}, chance=0.9, steps=1000)
    assert text.startswith("Every plain net trained") and "barely" not in text
