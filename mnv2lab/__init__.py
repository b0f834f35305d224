"""mnv2lab: reproduce, check and extend the analyses of MobileNetV2 (Sandler et al., CVPR 2018).

The package holds all logic; the notebooks in ``notebooks/`` are thin narrative wrappers around it.
"""

__version__ = "0.1.0"
