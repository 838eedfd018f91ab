"""The first cell of every chapter: the profile, the GPU, the settings; the embedded-data notice.

``RESNET_BOOK_PROFILE`` is read in one place, ``resnet_lib.book.profiles``; this module prints
what it decided and hands the chapter its settings for that profile.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sys

from resnet_lib.book.profiles import ENV_VAR, PROFILES, get_profile, gpu_available

__all__ = ["ChapterConfig", "by_profile", "chapter_setup", "embedded_data_notice"]


def by_profile(*, smoke, cpu, gpu, profile: str | None = None):
    """The value for the active profile (or ``profile``): ``by_profile(smoke=2, cpu=30, gpu=182)``."""
    profile = profile or get_profile()
    if profile not in PROFILES:
        raise ValueError(f"profile={profile!r}; expected one of {PROFILES}")
    return {"smoke": smoke, "cpu": cpu, "gpu": gpu}[profile]


@dataclasses.dataclass(frozen=True)
class ChapterConfig:
    """A chapter's settings for the active profile; settings read as attributes (``cfg.epochs``)."""

    title: str
    profile: str
    gpu: bool
    settings: dict

    def __getattr__(self, name):
        settings = self.__dict__.get("settings", {})
        if name in settings:
            return settings[name]
        raise AttributeError(
            f"chapter {self.__dict__.get('title')!r} has no setting {name!r}; it has {sorted(settings)}"
        )

    @property
    def embedded(self) -> bool:
        """True when the chapter runs on embedded data (digits, synthetic VOC): smoke and cpu."""
        return self.profile != "gpu"


def chapter_setup(title: str, *, smoke: dict | None = None, cpu: dict | None = None,
                  gpu: dict | None = None, verbose: bool = True) -> ChapterConfig:
    """Print the profile, GPU and backend; return the chapter's settings for the profile.

    The three dicts must have the same keys, so a cell never works in one profile and fails
    in another. Raises ``ValueError`` naming the keys that differ.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _native_stderr_silenced():  # TensorFlow's C++ start-up lines, not Python warnings
        import keras

        try:  # the data pipelines use tf.data on every backend
            import tensorflow  # noqa: F401
        except ImportError:
            pass
    # tf.function retracing notes (a lesion study builds one model per lesion, on purpose)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    given = {"smoke": smoke or {}, "cpu": cpu or {}, "gpu": gpu or {}}
    keys = {name: set(d) for name, d in given.items()}
    if len({frozenset(k) for k in keys.values()}) > 1:
        every = set().union(*keys.values())
        missing = {name: sorted(every - k) for name, k in keys.items() if every - k}
        raise ValueError(f"chapter_setup({title!r}): every profile needs the same settings; missing {missing}")
    profile = get_profile()
    gpu_found = gpu_available()
    config = ChapterConfig(title=title, profile=profile, gpu=gpu_found, settings=dict(given[profile]))
    if verbose:
        source = f"{ENV_VAR}={os.environ[ENV_VAR]}" if os.environ.get(ENV_VAR) else "default for this machine"
        print(f"Chapter: {title}")
        print(f"Profile: {profile} ({source}); the others: {', '.join(p for p in PROFILES if p != profile)}")
        print(f"GPU: {'found' if gpu_found else 'none found'}; Keras {keras.__version__}, "
              f"backend {keras.backend.backend()}")
        if profile == "gpu" and not gpu_found:
            print("Warning: the gpu profile on a machine without a GPU runs at paper scale on the CPU: "
                  "expect hours, not minutes.")
        if config.settings:
            print("Settings: " + ", ".join(f"{k}={v!r}" for k, v in config.settings.items()))
    return config


@contextlib.contextmanager
def _native_stderr_silenced():
    """Point file descriptor 2 at /dev/null for a moment (native libraries' start-up logs).

    TensorFlow's C++ runtime prints "oneDNN custom operations are on" through absl before
    ``TF_CPP_MIN_LOG_LEVEL`` applies; in a notebook it lands in the first cell's output.
    Python-level exceptions still propagate; only the native stream is muted, then restored.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real descriptor 2 (some frontends)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def embedded_data_notice(uses: str, *, instead_of: str) -> None:
    """Show, visibly, that the chapter runs on embedded data ``uses`` rather than ``instead_of``."""
    plain = (f"NOTE - embedded data: this run uses {uses} instead of {instead_of}. "
             f"Set {ENV_VAR}=gpu (the default on a GPU machine) for the real dataset.")
    markdown = (f"> **Embedded data.** This run uses {uses} instead of {instead_of}, so that it "
                f"finishes in minutes on a CPU. Set `{ENV_VAR}=gpu` (the default on a GPU machine, "
                f"e.g. Colab with a GPU runtime) for the real dataset.")
    from resnet_lib.book.display import display_bundle

    display_bundle({"text/plain": plain, "text/markdown": markdown})
