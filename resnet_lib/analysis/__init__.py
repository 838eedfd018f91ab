"""Analyses of trained and untrained networks, one idea per module.

- ``lesion``: delete or swap blocks at test time (Veit, Wilber, Belongie 2016).
- ``lesion_study``: the error of such lesioned networks, ResNet vs plain (Veit et al. Sec. 5).
- ``responses``: standard deviation of layer responses (He et al. 2015, Sec. 4.2, Fig. 7).
- ``gradients``: per-layer gradient norms, plain vs residual.
- ``paths``: the path-length distribution of a ResNet (Veit et al. 2016, Sec. 3).
"""
