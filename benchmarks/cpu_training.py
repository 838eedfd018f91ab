"""Training speed on the CPU: Keras on TensorFlow, JAX and PyTorch against a plain PyTorch loop.

Two measurements, each framework in a process of its own, the order alternated every round:

1. ``synthetic``: steady-state training images per second of ResNet-20 and plain-56 (option A,
   batch 128, 32x32, SGD with momentum 0.9 and the paper's weight decay), on random data:
   - ``keras-tensorflow``, ``keras-jax`` (8 steps per compiled call), ``keras-torch`` (Keras'
     own torch backend), ``keras-torch-layout`` (the same with ``resnet_lib.train.torch_layout``,
     which the recorded runs use);
   - ``torch-nchw`` and ``torch-channels-last``: the same net written in plain PyTorch, the
     outside reference;
   each with its fraction of the CPU's fp32 peak: 3 x 2 x multiply-adds per training image
   (``resnet_lib.complexity.multiply_adds``; backward ~ 2x forward) against
   cores x 2 FMA pipes x 8 fp32 lanes (AVX2) x 2 flops x the clock.
2. ``real`` (``--real PATH``): the recorded runs' path, ``fit`` on real CIFAR-10 with
   augmentation (``--augment-in-model``, Keras on torch with the layout module), against a
   plain PyTorch loop over the same images with its own pad-crop-flip and shuffling, for
   ``--real-steps`` steps of ResNet-20: img/s of each and the ratio.

    python benchmarks/cpu_training.py --rounds 3 --json benchmarks/cpu_training.json
    python benchmarks/cpu_training.py --rounds 2 --real ../shared/data/cifar10-jpeg.tar.gz

Interpreters: ``--python-keras`` must have TensorFlow and JAX (``.venv``), ``--python-torch``
Keras and PyTorch (``.venv-torch``). Run it on an idle machine: a second process on two cores
collapses PyTorch's threads far more than TensorFlow's (the figures in cpu_training.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = ("keras-tensorflow", "keras-jax", "keras-torch", "keras-torch-layout", "torch-nchw",
              "torch-channels-last")
NETS = ("resnet20", "plain56")
BATCH = 128


# ----------------------------------------------------------------------------- workers
def _plain_torch_net(depth: int, residual: bool):
    """Section 4.2's net in plain PyTorch: 3x3/16 stem, 3 stages of n basic blocks, option A."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.stride, self.pad = stride, (cout - cin) // 2

        def forward(self, x):
            y = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
            if not residual:
                return F.relu(y)
            shortcut = x[:, :, ::self.stride, ::self.stride] if self.stride > 1 else x
            if self.pad:  # option A: zero channels on both sides
                shortcut = F.pad(shortcut, (0, 0, 0, 0, self.pad, self.pad))
            return F.relu(y + shortcut)

    n = (depth - 2) // 6
    layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for i, width in enumerate((16, 32, 64)):
        for j in range(n):
            layers.append(Block(cin, width, 2 if i and not j else 1))
            cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    torch.manual_seed(0)
    return nn.Sequential(*layers)


def _torch_worker(net: str, *, channels_last: bool, steps: int, warmup: int) -> float:
    import torch
    from torch.nn import functional as F

    model = _plain_torch_net(int(net.lstrip("plainresnet")), net.startswith("resnet"))
    x, y = torch.randn(BATCH, 3, 32, 32), torch.randint(0, 10, (BATCH,))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)

    def step():
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return BATCH * steps / (time.perf_counter() - started)


def _keras_worker(net: str, *, layout: bool, steps: int, warmup: int) -> float:
    import keras
    import numpy as np

    from resnet_lib.models import build_model
    from resnet_lib.train.torch_layout import channels_last_kernels

    model = build_model(net, num_classes=10, input_shape=(32, 32, 3), weight_decay=1e-4,
                        classifier_activation=None)
    per_call = 1 if keras.backend.backend() == "torch" else 8  # torch's trainer runs eagerly
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), steps_per_execution=per_call,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile="auto")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH * steps, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, BATCH * steps)
    with channels_last_kernels(layout):
        model.fit(x[:BATCH * max(warmup, per_call)], y[:BATCH * max(warmup, per_call)], batch_size=BATCH,
                  epochs=1, verbose=0, shuffle=False)
        started = time.perf_counter()
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
        return len(x) / (time.perf_counter() - started)


def _real_keras_worker(source: str, *, steps: int) -> float:
    """``fit``'s CPU path on real CIFAR-10 (the recorded runs'): train_seconds of ``steps``."""
    import tempfile

    from resnet_lib.train import fit

    with tempfile.TemporaryDirectory() as run_dir:
        result = fit("resnet20", "cifar10", data_source=source, epochs=1, steps_per_epoch=steps,
                     augment="model", test_curve=False, tensorboard=False, verbose=0, run_dir=run_dir)
        import csv

        with open(Path(run_dir) / "history.csv") as f:
            row = next(csv.DictReader(f))
    del result
    return BATCH * steps / float(row["train_seconds"])


def _real_torch_worker(source: str, *, steps: int) -> float:
    """A plain PyTorch loop over the same 45k images: shuffle, per-pixel mean, pad-4 crop and
    flip done in torch per batch, channels-last ResNet-20; timed like ``fit``'s epoch."""
    import numpy as np
    import torch
    from torch.nn import functional as F

    from resnet_lib.data.small_images import load_cifar10

    splits = load_cifar10(source=source)
    x_all = torch.from_numpy(splits.x_train)  # uint8 NHWC
    y_all = torch.from_numpy(np.asarray(splits.y_train, np.int64))
    mean = torch.from_numpy(np.asarray(splits.pixel_mean, np.float32))
    model = _plain_torch_net(20, True).to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(0)
    started = time.perf_counter()
    order = torch.randperm(len(x_all), generator=generator)
    for i in range(steps):
        idx = order[i * BATCH:(i + 1) * BATCH]
        images = x_all[idx].float().div_(255).sub_(mean).permute(0, 3, 1, 2)  # NCHW view, NHWC memory
        padded = F.pad(images, (4, 4, 4, 4))
        dx, dy = torch.randint(0, 9, (2, len(idx)), generator=generator)
        rows = (torch.arange(32)[None, :] + dy[:, None])[:, None, :, None].expand(-1, 3, -1, 40)
        crop = padded.gather(2, rows)
        cols = (torch.arange(32)[None, :] + dx[:, None])[:, None, None, :].expand(-1, 3, 32, -1)
        crop = crop.gather(3, cols)
        flip = torch.rand(len(idx), generator=generator) < 0.5
        crop = torch.where(flip[:, None, None, None], crop.flip(3), crop)
        crop = crop.contiguous(memory_format=torch.channels_last)
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(crop), y_all[idx]).backward()
        optimizer.step()
    return BATCH * steps / (time.perf_counter() - started)


def worker(args) -> None:
    framework, net = args.worker, args.net
    if framework == "real-keras":
        rate = _real_keras_worker(args.real, steps=args.real_steps)
    elif framework == "real-torch":
        rate = _real_torch_worker(args.real, steps=args.real_steps)
    elif framework.startswith("torch-"):
        rate = _torch_worker(net, channels_last=framework == "torch-channels-last", steps=args.steps,
                             warmup=args.warmup)
    else:
        rate = _keras_worker(net, layout=framework == "keras-torch-layout", steps=args.steps,
                             warmup=args.warmup)
    print("RESULT " + json.dumps({"framework": framework, "net": net, "images_per_second": rate}), flush=True)


# ----------------------------------------------------------------------------- driver
def _backend(framework: str) -> str:
    return {"keras-tensorflow": "tensorflow", "keras-jax": "jax"}.get(framework, "torch")


def _run(framework, net, args) -> float | None:
    python = args.python_keras if _backend(framework) in ("tensorflow", "jax") else args.python_torch
    command = [python, __file__, "--worker", framework, "--net", net, "--steps", str(args.steps),
               "--warmup", str(args.warmup), "--real-steps", str(args.real_steps)]
    if args.real:
        command += ["--real", args.real]
    env = {**os.environ, "KERAS_BACKEND": _backend(framework), "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])["images_per_second"]
    print(f"{framework} {net} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
    return None


def peak_gflops(*, ghz: float, cores: int) -> float:
    """fp32 peak: cores x 2 FMA pipes x 8 lanes (AVX2, 256 bit) x 2 flops per FMA x GHz."""
    return cores * 2 * 8 * 2 * ghz


def _clock_ghz() -> float:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                return float(line.split(":")[1]) / 1000
    except OSError:
        pass
    return 3.0


def _steal_percent(seconds: float = 0.0, before=None):
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    if before is None:
        return fields
    total = sum(fields) - sum(before)
    return round(100 * (fields[7] - before[7]) / total, 2) if total else 0.0


def driver(args) -> dict:
    sys.path.insert(0, str(ROOT))
    from resnet_lib.complexity import multiply_adds
    from resnet_lib.fig6 import cpu_model
    from resnet_lib.models import build_model

    ghz = args.ghz or _clock_ghz()
    cores = os.cpu_count()
    peak = peak_gflops(ghz=ghz, cores=cores)
    steal_before = _steal_percent()
    jobs = [(f, n) for n in args.nets for f in args.frameworks]
    if args.real:
        jobs += [("real-keras", "resnet20"), ("real-torch", "resnet20")]
    rates = {job: [] for job in jobs}
    for r in range(args.rounds):
        for job in (jobs if r % 2 == 0 else list(reversed(jobs))):
            rate = _run(*job, args)
            if rate is not None:
                rates[job].append(rate)
            print(f"round {r + 1}: {job[0]:22s} {job[1]:9s} {rate or float('nan'):7.1f} img/s", flush=True)
    rows = []
    flops = {net: 3 * 2 * multiply_adds(build_model(net, num_classes=10, input_shape=(32, 32, 3)))
             for net in {n for _, n in jobs}}
    reference = {n: statistics.median(rates[("torch-channels-last", n)])
                 for n in args.nets if rates.get(("torch-channels-last", n))}
    for (framework, net), values in rates.items():
        if not values:
            continue
        median = statistics.median(values)
        rows.append({"framework": framework, "net": net, "images_per_second": round(median, 1),
                     "all": [round(v, 1) for v in values],
                     "fraction_of_peak": round(median * flops[net] / (peak * 1e9), 3),
                     "vs_torch_channels_last": round(median / reference[net], 2) if net in reference
                     and not framework.startswith("real") else None})
    real = None
    if args.real and rates[("real-keras", "resnet20")] and rates[("real-torch", "resnet20")]:
        k, t = (statistics.median(rates[(f, "resnet20")]) for f in ("real-keras", "real-torch"))
        real = {"keras_fit_torch_layout": round(k, 1), "plain_torch_loop": round(t, 1), "ratio": round(k / t, 2),
                "steps": args.real_steps}
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpu": cpu_model(), "cores": cores, "clock_ghz": ghz,
              "peak_gflops_fp32": peak, "steal_percent": _steal_percent(before=steal_before),
              "python": platform.python_version(), "rounds": args.rounds, "steps": args.steps,
              "batch": BATCH, "flops_per_training_image": flops, "rows": rows, "real": real,
              "command": "python benchmarks/cpu_training.py " + " ".join(sys.argv[1:])}
    print(json.dumps(result, indent=2))
    if args.json:
        path = Path(args.json)
        history = json.loads(path.read_text()) if path.exists() else []
        path.write_text(json.dumps(history + [result], indent=2) + "\n")
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=24, help="timed steps per measurement")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--nets", nargs="+", default=list(NETS))
    p.add_argument("--frameworks", nargs="+", default=list(FRAMEWORKS), choices=FRAMEWORKS)
    p.add_argument("--real", help="CIFAR-10 copy: also time fit's real-data path against a plain loop")
    p.add_argument("--real-steps", type=int, default=60)
    p.add_argument("--python-keras", default=str(ROOT / ".venv" / "bin" / "python"))
    p.add_argument("--python-torch", default=str(ROOT / ".venv-torch" / "bin" / "python"))
    p.add_argument("--ghz", type=float, help="clock for the peak (default: /proc/cpuinfo)")
    p.add_argument("--json", help="append the result to this JSON list")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--net", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        sys.path.insert(0, str(ROOT))
        return worker(args)
    return driver(args)


if __name__ == "__main__":
    main()
