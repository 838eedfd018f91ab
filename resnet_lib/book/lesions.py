"""Veit et al.'s lesion study (``resnet_lib.analysis.lesion_study``) on networks the chapter names.

``lesion_study`` keys its results by ``model.name``; a chapter compares networks by its own
labels ("ResNet-20", "plain-20"), and trained models re-opened from run directories may share
a name. ``labelled_lesion_study`` runs the study on each model and keys the results by label,
without renaming the models.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

__all__ = ["labelled_lesion_study"]


def labelled_lesion_study(models: Mapping[str, object], data, **options) -> dict:
    """``{label: LesionResult}`` for ``{label: model}``, each result's ``label`` set to its key.

    ``options`` go to ``lesion_study`` (``deletions``, ``swaps``, ``trials``, ``seed``, ...);
    ``plain_model`` is not one of them: pass every network in ``models``.
    """
    from resnet_lib.analysis.lesion_study import lesion_study

    if "plain_model" in options:
        raise TypeError("plain_model: pass every network in models={label: model} instead")
    results = {}
    for label, model in models.items():
        (result,) = lesion_study(model, data, **options).values()
        results[label] = dataclasses.replace(result, label=label)
    return results
