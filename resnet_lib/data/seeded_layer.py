"""A base for augmentation layers whose random stream is saved with the model's weights.

Keras leaves a ``SeedGenerator``'s state out of saved weights, so a model reloaded from a
checkpoint would draw other augmentations than the run that saved it. Layers built on
``SeededAugmentation`` store that state beside their weights, so a resumed training run draws
exactly what an uninterrupted one would.
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["SeededAugmentation"]


class SeededAugmentation(keras.layers.Layer):
    """A shape-preserving layer with ``self.seed_generator``, whose state is checkpointed."""

    def __init__(self, *, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def save_own_variables(self, store):
        store["seed_state"] = ops.convert_to_numpy(self.seed_generator.state.value)

    def load_own_variables(self, store):
        if "seed_state" in store:
            self.seed_generator.state.assign(store["seed_state"])

    def compute_output_shape(self, input_shape):
        return input_shape
