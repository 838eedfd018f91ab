"""The analyses of the recorded Fig. 6 nets, and the nets themselves, as committed records.

From each net's validation-selected weights (``best.weights.h5`` of its run), at record time,
on the real CIFAR-10 test images:

- ``test_error.json``: each net's test error recomputed on all 10,000 test images by the
  exported model (it equals the record's best-on-validation test error up to float noise);
- ``fig7.json``: He et al. 2015, Fig. 7: the std of each 3x3 layer's response (after BN,
  before the addition and ReLU), plain against ResNet at each depth
  (``resnet_lib.analysis.responses``), on all 10,000 test images;
- ``lesion.json``: Veit et al. 2016: ResNet-56 against plain-56 with each block deleted,
  ``k`` random blocks deleted and ``k`` random pairs swapped (``resnet_lib.analysis.lesion_study``),
  on a fixed subset of ``LESION_IMAGES`` test images drawn with ``LESION_SEED``;
- ``models/resnet<d>.keras``: ResNet-20 and -56 as whole Keras models without optimizer state.
  Each takes raw 32x32 RGB images (uint8, 0-255), subtracts the training set's per-pixel mean
  inside (``PixelMeanSubtraction``) and returns class probabilities, so that after
  ``import resnet_lib.models`` (which registers the library's layers with Keras),
  ``keras.saving.load_model(path, safe_mode=True).predict(images)`` gives the recorded test
  error on any Keras backend. Their SHA-256 go into ``provenance.json``.

A reader with CIFAR-10 can rerun every analysis from the models, without training.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

__all__ = ["LESION_IMAGES", "LESION_SEED", "EXPORTED", "selected_model", "export_model",
           "analyse_records", "model_path"]

LESION_IMAGES = 2000  # test images for the lesion study (about 140 forward passes of ResNet-56)
LESION_SEED = 0  # draws the subset and the random lesions
LESION_DELETIONS = (1, 2, 4, 6, 8, 10)  # k random blocks deleted (Veit et al. Fig. 5a)
LESION_SWAPS = (1, 2, 3, 4, 5)  # k random pairs swapped (Fig. 5b)
LESION_TRIALS = 3  # random draws per k
EXPORTED = ("resnet20", "resnet56")  # the nets committed as whole models (at most 5 MiB each)
MAX_MODEL_BYTES = 5 * 2**20


def model_path(out, net: str) -> Path:
    return Path(out) / "models" / f"{net}.keras"


def selected_model(run_dir):
    """The run's model at its validation-selected weights: ``(trained, net, preprocessing)``.

    ``trained`` is the whole trained model (preprocessing layers in front of the net, as
    ``fit(augment="model")`` builds it), ``net`` the network alone (it takes mean-subtracted
    images) and ``preprocessing`` the ``PixelMeanSubtraction`` layer.
    """
    import keras

    from resnet_lib.data.crop_flip_layer import PixelMeanSubtraction
    from resnet_lib.train.rundir import RunDir

    run = RunDir(run_dir)
    saved = run.saved_checkpoints()
    if not saved:
        raise FileNotFoundError(f"{run.checkpoints}: no epoch_*.keras checkpoint")
    if run.best_epoch() is None:
        raise FileNotFoundError(f"{run.best_weights} or {run.best_json}: missing, no selected epoch")
    trained = keras.saving.load_model(run.checkpoint_path(saved[-1]), compile=True, safe_mode=True)
    trained.load_weights(run.best_weights)
    preprocessing = next((layer for layer in trained.layers if isinstance(layer, PixelMeanSubtraction)), None)
    nets = [layer for layer in trained.layers if isinstance(layer, keras.Model)]
    if preprocessing is None or len(nets) != 1:
        raise ValueError(f"{run.root}: expected a model trained with augment='model' (a "
                         "PixelMeanSubtraction layer in front of one network)")
    return trained, nets[0], preprocessing


def inference_model(net, preprocessing, *, name: str):
    """Raw uint8 images in, class probabilities out: the preprocessing, the net, a softmax."""
    import keras

    from resnet_lib.data.crop_flip_layer import PixelMeanSubtraction

    inputs = keras.Input(net.input_shape[1:], dtype="uint8", name="images")
    x = PixelMeanSubtraction(preprocessing.pixel_mean, scale=preprocessing.scale,
                             name="pixel_mean_subtraction")(inputs)
    x = net(x)
    outputs = keras.layers.Activation("softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


def export_model(net, preprocessing, path, *, name: str) -> dict:
    """Save ``inference_model(net, preprocessing)`` to ``path`` (module docstring); ``net`` and
    ``preprocessing`` as ``selected_model`` gives them."""
    from resnet_lib.data.cifar10 import sha256_of

    model = inference_model(net, preprocessing, name=name)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise ValueError(f"{path}: {size:,} bytes, more than the {MAX_MODEL_BYTES:,} allowed")
    return {"path": f"models/{path.name}", "bytes": size, "sha256": sha256_of(path)}


def _write(path: Path, payload) -> None:
    path.write_text(json.dumps(payload, indent=2) + "\n")


def analyse_records(*, out, runs, data_source=None, backend: str | None = None,
                    log=print) -> dict:
    """Write ``test_error.json``, ``fig7.json``, ``lesion.json`` and the models into ``out``
    (module docstring), from the runs under ``runs``; add them to ``provenance.json``."""
    from resnet_lib.train.torch_layout import channels_last_kernels

    with channels_last_kernels():
        return _analyse(Path(out), Path(runs), data_source=data_source, backend=backend, log=log)


def _analyse(out, runs, *, data_source, backend, log) -> dict:
    import keras

    from resnet_lib.analysis.lesion_study import lesion_study
    from resnet_lib.analysis.responses import response_std
    from resnet_lib.data.small_images import load_cifar10
    from resnet_lib.metrics import top1_error
    from resnet_lib.reproduce import _git_commit, read_records

    records = read_records(out)
    nets = [net for net in records if (runs / net).is_dir()]
    started = time.time()
    splits = load_cifar10(source=data_source)
    x_test, y_test = splits.x_test, np.asarray(splits.y_test).reshape(-1)
    loaded = {net: selected_model(runs / net) for net in nets}

    errors = {}
    for net, (_, model, preprocessing) in loaded.items():
        probabilities = inference_model(model, preprocessing, name=net).predict(x_test, batch_size=500, verbose=0)
        error = top1_error(y_test, probabilities)
        recorded = records[net]["summary"].get("best_val_test_error")
        errors[net] = {"test_error": error, "images": int(len(x_test)), "recorded_best_val_test_error": recorded}
        log(f"[fig6] {net}: test error {100 * error:.2f}% on {len(x_test):,} images "
            f"(record: {100 * recorded:.2f}%)" if recorded is not None else f"[fig6] {net}: {error:.4f}")
    _write(out / "test_error.json", errors)

    def preprocessed(images, preprocessing):
        return keras.ops.convert_to_numpy(preprocessing(images)).astype(np.float32)

    fig7 = {"what": "std of each 3x3 layer's response after BN (He et al. 2015, Fig. 7)",
            "images": int(len(x_test)), "nets": {}}
    for net, (_, model, preprocessing) in loaded.items():
        responses = response_std(model, preprocessed(x_test, preprocessing), batch_size=500, label=net)
        fig7["nets"][net] = {"layers": list(responses.layer_names), "std": [float(v) for v in responses.std]}
        log(f"[fig6] Fig. 7 {net}: mean response std {np.mean(responses.std):.3f}")
    _write(out / "fig7.json", fig7)

    lesion = None
    pairs = [int(n[6:]) for n in loaded if n.startswith("resnet") and f"plain{n[6:]}" in loaded]
    depth = max(pairs, default=None)  # the deepest pair: 56 in the record
    if depth:
        subset = np.sort(np.random.default_rng(LESION_SEED).choice(len(x_test), LESION_IMAGES, replace=False))
        _, resnet, pre = loaded[f"resnet{depth}"]
        _, plain, _ = loaded[f"plain{depth}"]
        data = (preprocessed(x_test[subset], pre), y_test[subset])
        results = lesion_study(resnet, data, plain_model=plain, deletions=LESION_DELETIONS, swaps=LESION_SWAPS,
                               trials=LESION_TRIALS, seed=LESION_SEED, batch_size=500)
        lesion = {"what": "Veit et al. 2016 lesion study at test time", "depth": depth, "images": LESION_IMAGES,
                  "image_seed": LESION_SEED, "trials": LESION_TRIALS, "nets": {}}
        for name, result in results.items():
            lesion["nets"][name] = result.to_json()
            log(f"[fig6] lesion {name}: baseline {100 * result.baseline_error:.2f}% on {LESION_IMAGES} images")
        _write(out / "lesion.json", lesion)

    models = {}
    for net in EXPORTED:
        if net in loaded:
            _, model, preprocessing = loaded[net]
            models[net] = export_model(model, preprocessing, model_path(out, net), name=net)
            log(f"[fig6] exported {models[net]['path']} ({models[net]['bytes']:,} bytes)")
    provenance_path = out / "provenance.json"
    provenance = json.loads(provenance_path.read_text()) if provenance_path.exists() else {}
    provenance["analyses"] = {
        "commit": _git_commit(None), "date": time.strftime("%Y-%m-%d"),
        "backend": backend or keras.backend.backend(), "seconds": round(time.time() - started, 1),
        "weights": "each run's validation-selected epoch (best.weights.h5)",
        "files": ["test_error.json", "fig7.json"] + (["lesion.json"] if lesion else []),
        "lesion_images": LESION_IMAGES if lesion else None, "models": models}
    _write(provenance_path, provenance)
    return {"test_error": errors, "fig7": fig7, "lesion": lesion, "models": models}
