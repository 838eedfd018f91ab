"""resnet_lib: the tested library behind "ResNet, reproduced".

He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition" (arXiv:1512.03385),
reproduced with Keras 3. Submodules hold one idea each:

- ``resnet_lib.models``: plain and residual networks of the paper (Table 1, Section 4.2).
- ``resnet_lib.complexity``: multiply-adds ("FLOPs" in the paper) and Table 1 regenerated.
- ``resnet_lib.reference``: the published numbers the book and tests cite, each with its source.
- ``resnet_lib.data``: Pascal VOC2012, CIFAR-10 and scikit-learn digits pipelines.
- ``resnet_lib.train``, ``resnet_lib.metrics``: recipes, resumable runs, metrics.
- ``resnet_lib.pretrained``: keras.applications' ImageNet weights, transferred by layer name.
- ``resnet_lib.analysis``, ``resnet_lib.plots``: lesion study, responses, gradients, figures.
- ``resnet_lib.book``: what the book's chapters share (execution profiles, run cache, widgets).

Importing ``resnet_lib`` imports nothing heavy; the models, and training on CIFAR-10 and
digits, need only Keras 3 and a backend (tested: TensorFlow and JAX), so they run on machines
with JAX and no TensorFlow. Only the VOC input pipeline (``tf.data``) needs TensorFlow.
"""

__version__ = "0.1.0"
