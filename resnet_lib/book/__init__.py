"""What the book's chapters share that is about the book, not about ResNets.

The chapters of "ResNet, reproduced" narrate and call ``resnet_lib``; the models, data
pipelines, training loop and analyses live in their own modules. This package holds the glue
a notebook needs around them, one idea per module:

- ``profiles``: ``RESNET_BOOK_PROFILE`` (smoke / cpu / gpu) read in one place, ``get_profile``.
- ``setup``: ``chapter_setup(title, smoke=..., cpu=..., gpu=...)`` prints the active profile
  (read in ``resnet_lib.book.profiles``), whether a GPU was found and the Keras backend, and returns
  the chapter's settings for that profile; ``by_profile`` picks one value the same way;
  ``embedded_data_notice`` says visibly when a chapter falls back to digits or synthetic VOC.
- ``runs``: shared run directories (``run_dir``, ``fit_cached``; ``resnet_lib.train`` re-opens
  a finished run for free) and the small-image runs of chapters 2, 3, 4 and 8
  (``train_small_image_net``, ``SMALL_IMAGE_RUNS``), their data and input shape
  (``small_image_data``, ``small_image_input_shape``); ``data_dir``; ``progress`` bars.
- ``lesions``: ``labelled_lesion_study``, Veit et al.'s lesion study keyed by the chapter's labels.
- ``sources``: the "Sources of the numbers" page, generated from ``resnet_lib.reference``.
- ``display``: ``markdown_table``, ``show_markdown``, ``show_figure``, and ``explorer``:
  ipywidgets controls with a static rendering beside them, so the HTML book shows the content
  without a kernel (ipywidgets 7 and 8).
- ``voc``: the dataset chapter's views (boxes drawn, the seed's class folders, their leak
  across splits, the seed's ImageDataGenerator and a throughput timer).

The project's wiring (the repository URL, the Colab link and install cell, the map of the
library) is ``resnet_lib.project``; the measured results of ``benchmarks/`` are read by
``resnet_lib.benchmarks``, which also holds the step timing chapter 5 runs
(``compare_step_times``).

Nothing heavy is imported at package level: Keras, IPython and ipywidgets load on first use.
"""

from resnet_lib.book.display import (display_bundle, explorer, explorer_widget, markdown_table, show_figure,
                                     show_markdown)
from resnet_lib.book.runs import (
    SMALL_IMAGE_RUNS, data_dir, fit_cached, progress, run_dir, small_image_data, small_image_input_shape,
    small_image_runs, train_small_image_net,
)
from resnet_lib.book.setup import ChapterConfig, by_profile, chapter_setup, embedded_data_notice

__all__ = [
    "ChapterConfig", "SMALL_IMAGE_RUNS", "by_profile", "chapter_setup",
    "data_dir", "display_bundle", "embedded_data_notice", "explorer", "explorer_widget", "fit_cached",
    "markdown_table", "progress", "run_dir", "show_figure", "show_markdown",
    "small_image_data", "small_image_input_shape", "small_image_runs", "train_small_image_net",
]
