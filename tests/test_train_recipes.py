"""Recipes (resnet_lib.train.recipes): the paper's schedule scaled to a run, weight decay."""

import json

import keras
import numpy as np
import pytest

from resnet_lib.models import build_model
from resnet_lib.train import RECIPES, Recipe, get_recipe
from resnet_lib.train.recipes import PaperStepSchedule, WarmupCosineSchedule


def lr_at(schedule, step):
    return float(keras.ops.convert_to_numpy(schedule(step)))


def test_paper_cifar_at_full_length_is_the_papers_schedule():
    recipe = get_recipe("paper-cifar")
    assert (recipe.optimizer, recipe.momentum, recipe.weight_decay, recipe.batch_size) == ("sgd", 0.9, 1e-4, 128)
    schedule = recipe.schedule_for(64_000, batch_size=128, depth=56)
    assert schedule.boundaries == [32_000, 48_000] and schedule.warmup_steps == 0
    for step, lr in [(0, 0.1), (31_999, 0.1), (32_000, 0.01), (47_999, 0.01), (48_000, 0.001), (63_999, 0.001)]:
        assert lr_at(schedule, step) == pytest.approx(lr)


def test_short_runs_keep_the_shape_and_resnet110_warms_up():
    recipe = get_recipe("paper-cifar")
    short = recipe.schedule_for(800, batch_size=128, depth=20)
    assert short.boundaries == [400, 600] and short.warmup_steps == 0
    deep = recipe.schedule_for(64_000, batch_size=128, depth=110)
    assert deep.warmup_steps == 400  # "about 400 iterations"
    assert lr_at(deep, 0) == pytest.approx(0.01) and lr_at(deep, 399) == pytest.approx(0.01)
    assert lr_at(deep, 400) == pytest.approx(0.1)
    assert recipe.schedule_for(80, batch_size=128, depth=110).warmup_steps == 1  # at least one step


def test_paper_cifar_scales_lr_linearly_with_the_batch():
    recipe = get_recipe("paper-cifar")
    schedule = recipe.schedule_for(6_400, batch_size=32, depth=110)
    assert lr_at(schedule, 0) == pytest.approx(0.0025)  # warm-up: 0.01 x 32/128
    assert lr_at(schedule, 100) == pytest.approx(0.025)  # peak: 0.1 x 32/128
    assert lr_at(schedule, 3_200) == pytest.approx(0.0025)
    assert lr_at(recipe.schedule_for(100, batch_size=256, depth=20), 0) == pytest.approx(0.2)


def test_voc_recipe_is_warmup_then_cosine_with_linear_scaling():
    recipe = get_recipe("voc")
    assert recipe.label_smoothing > 0 and recipe.weight_decay > 0
    schedule = recipe.schedule_for(1000, batch_size=128)
    assert isinstance(schedule, WarmupCosineSchedule) and schedule.base_lr == pytest.approx(0.05)
    lrs = [lr_at(schedule, s) for s in (0, 25, 49, 50, 525, 999)]  # 525: halfway through the decay
    assert lrs[0] < lrs[1] < lrs[2] <= 0.05 + 1e-9
    assert lrs[3] == pytest.approx(0.05) and lrs[4] == pytest.approx(0.025) and lrs[5] < 1e-4


def test_seed_recipe_is_the_blogs_adam():
    recipe = get_recipe("seed")
    optimizer = recipe.make_optimizer(100, batch_size=32)
    assert isinstance(optimizer, keras.optimizers.Adam) and recipe.epochs == 60
    assert recipe.weight_decay == 0 and float(optimizer.learning_rate) == pytest.approx(1e-3)


def test_weight_decay_is_coupled_l2_on_kernels_not_the_optimizers():
    recipe = get_recipe("paper-cifar")
    optimizer = recipe.make_optimizer(100, batch_size=128)
    assert isinstance(optimizer, keras.optimizers.SGD) and not optimizer.weight_decay
    model = build_model("resnet8", num_classes=10, input_shape=(16, 16, 3), weight_decay=recipe.weight_decay)
    conv = model.get_layer("conv1_conv")
    # gradient of L2(wd/2) * ||w||^2 is wd * w, as the paper's SGD applies it
    assert conv.kernel_regularizer.l2 == pytest.approx(recipe.weight_decay / 2)


def test_schedules_serialize():
    for schedule in (PaperStepSchedule(0.1, [5, 8], warmup_lr=0.01, warmup_steps=2),
                     WarmupCosineSchedule(0.1, 100, warmup_steps=5)):
        config = json.loads(json.dumps(keras.saving.serialize_keras_object(schedule)))
        again = keras.saving.deserialize_keras_object(config)
        for step in (0, 3, 6, 9):
            assert lr_at(again, step) == pytest.approx(lr_at(schedule, step))


def test_unknown_recipe_names_the_choices():
    with pytest.raises(ValueError, match="paper-cifar"):
        get_recipe("sgd-please")
    assert get_recipe(RECIPES["seed"]) is RECIPES["seed"]
    assert isinstance(RECIPES["voc"], Recipe)


def test_warm_up_is_the_recipes_depth_rule_unless_told():
    recipe = get_recipe("paper-cifar")
    assert recipe.warms_up(depth=110) and recipe.warms_up(depth=1202)
    assert not recipe.warms_up(depth=56) and not recipe.warms_up(depth=None)
    assert recipe.warms_up(depth=20, warmup=True) and not recipe.warms_up(depth=110, warmup=False)
    assert recipe.schedule_for(64_000, batch_size=128, depth=20, warmup=True).warmup_steps == 400
    assert recipe.schedule_for(64_000, batch_size=128, depth=110, warmup=False).warmup_steps == 0
    assert get_recipe("voc").warms_up()  # no depth rule: every net warms up
    with pytest.raises(ValueError, match="no warm-up"):
        get_recipe("seed").warms_up(warmup=True)
