"""Sentences about a run, computed from its results, so that the text never contradicts the run.

A chapter that draws a conclusion from a small cpu run prints it from here: the numbers and
the wording both follow from the results passed in.
"""

from __future__ import annotations

__all__ = ["degradation_depth", "describe_plain_training", "gradient_health"]


def describe_plain_training(final_train_error: dict, *, chance: float, steps: int,
                            near: float = 0.15) -> str:
    """What the plain nets' final training errors show: trained, or barely started.

    final_train_error: {"plain-20": 0.05, ...} as fractions; chance: the error of guessing
    (0.9 for 10 classes); steps: SGD steps each net took; near: within this much of chance a
    net counts as not yet trained.
    """
    stuck = {k: e for k, e in final_train_error.items() if e >= chance - near}
    trained = {k: e for k, e in final_train_error.items() if k not in stuck}

    def listing(d):
        return ", ".join(f"{k} {100 * e:.1f}%" for k, e in d.items())

    if stuck:
        text = (f"In this run ({steps:,} SGD steps per net), {listing(stuck)} training error is "
                f"within {100 * near:.0f} points of chance ({100 * chance:.0f}%): "
                f"{'that net has' if len(stuck) == 1 else 'those nets have'} barely started to "
                f"train. So this figure shows deep plain nets that are slow to start, not the "
                f"paper's degradation, in which plain-56 trains and converges to a higher "
                f"training error than plain-20. ")
        if trained:
            text += f"The others did train: {listing(trained)}. "
        return text + "The recorded CIFAR-10 run, where there is one, shows the paper-scale curves."
    return (f"Every plain net trained well away from chance ({100 * chance:.0f}%) in this run's "
            f"{steps:,} SGD steps: {listing(trained)}.")


def degradation_depth(final_train_error: dict, *, chance: float, near: float = 0.15) -> int | None:
    """The deepest depth at which the plain net degrades in this run, or None.

    Degrades, as in He et al. 2015 (Section 4.1, Fig. 1): the net trained (its final training
    error more than ``near`` below ``chance``) and ends above the shallowest net's training
    error. A net still near chance has not trained, which is not the paper's degradation, so
    it does not count. ``final_train_error``: {depth: fraction}.
    """
    if not final_train_error:
        raise ValueError("final_train_error is empty: expected {depth: final training error}")
    shallowest = min(final_train_error)
    degraded = [d for d, e in final_train_error.items()
                if d != shallowest and e < chance - near and e > final_train_error[shallowest]]
    return max(degraded) if degraded else None


def gradient_health(norms, *, factor: float = 100.0) -> dict:
    """Whether each net's gradients vanish or explode, in the sense of He et al. 2015, Section 4.1.

    The paper verifies "that the backward propagated gradients exhibit healthy norms with BN. So
    neither forward nor backward signals vanish": healthy means neither vanishing nor exploding.
    Measured here on each convolution's relative gradient (``||dL/dW|| / ||W||``, how far one SGD
    step moves the layer against its size), compared with the last convolution's: a layer more
    than ``factor`` times smaller vanishes, more than ``factor`` times larger explodes.

    norms: ``analysis.gradients.GradientNorms`` of each net. Returns ``{name: {"smallest",
    "largest", "first_over_last", "vanishing", "exploding", "healthy", "sentence"}}``.
    """
    import numpy as np

    out = {}
    for n in norms:
        relative = np.asarray(n.gradient_norm) / np.asarray(n.weight_norm)
        scaled = relative / relative[-1]
        vanishing, exploding = bool(scaled.min() < 1 / factor), bool(scaled.max() > factor)
        if not (vanishing or exploding):
            verdict = f"healthy: every layer within {factor:.0f}x of the last"
        else:
            verdict = " and ".join(
                word for word, flag in (("vanishing", vanishing), ("exploding", exploding)) if flag)
            verdict = (f"not healthy: {verdict} (some layer more than {factor:.0f}x "
                       f"{'smaller' if vanishing and not exploding else 'larger'} than the last)"
                       if vanishing != exploding else f"not healthy: {verdict}")
        out[n.model_name] = {
            "smallest": float(scaled.min()), "largest": float(scaled.max()),
            "first_over_last": float(scaled[0]), "vanishing": vanishing, "exploding": exploding,
            "healthy": not (vanishing or exploding),
            "sentence": (f"{n.model_name}: relative gradients from {scaled.min():.2g}x to "
                         f"{scaled.max():.3g}x the last layer's (first layer {scaled[0]:.3g}x): "
                         f"{verdict}")}
    return out
