"""Zero-cost proxies: score an untrained network from one minibatch (or from none).

One function per proxy, all with the signature
``fn(model, batch, *, loss_fn=None, device=None, seed=0) -> float`` (higher = predicted better),
behind the string registry :data:`PROXIES`:

==================  ==============================================================  ===============
name                definition                                                      input
==================  ==============================================================  ===============
``synflow``         Tanaka et al. 2020: ``sum dR/dw * w``, ``|w|``, all-ones x      data-free
``snip``            Lee et al. 2019 / Abdelfattah et al. 2021: ``sum |g * w|``      inputs + labels
``grasp``           Wang et al. 2020 / Abdelfattah et al. 2021: ``sum -w * Hg``     inputs + labels
``gradnorm``        Abdelfattah et al. 2021: ``sum_W ||dL/dW||_2``                  inputs + labels
``fisher``          Theis et al. 2018 / Abdelfattah et al. 2021                     inputs + labels
``jacob_cov``       Mellor et al. 2020 (v1): input-Jacobian correlation             inputs
``naswot``          Mellor et al. 2021: log-det of the ReLU activation-code kernel  inputs
``ntk``             Chen et al. 2021 (TE-NAS): minus condition number of the NTK    inputs
``linear_regions``  Chen et al. 2021 (TE-NAS): distinct ReLU activation patterns    inputs
``zen``             Lin et al. 2021: Gaussian-perturbation expressivity + BN        data-free
``params``          number of parameters                                            none
``flops``           multiply-accumulates of conv/linear layers for one sample       data-free
==================  ==============================================================  ===============

>>> import torch
>>> from nas_meta_tune.oneshot import build_nb201
>>> from nas_meta_tune.proxies import compute_proxy
>>> net = build_nb201("|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|", C=4, N=1)
>>> compute_proxy("params", net, None)
11446.0
>>> compute_proxy("synflow", net, torch.zeros(1, 3, 32, 32)) > 0
True
"""

from __future__ import annotations

from ._common import LossFn, ProxyBatch, gaussian_standin_batch
from ._registry import (
    DATA_FREE,
    NEEDS_TARGETS,
    PROXIES,
    UnknownProxyError,
    compute_proxy,
    score_architectures,
)
from .activation import jacob_cov, naswot
from .cost import flops, params
from .saliency import fisher, gradnorm, grasp, snip, synflow
from .tenas import linear_regions, ntk
from .zen import zen

__all__ = [
    "DATA_FREE",
    "NEEDS_TARGETS",
    "PROXIES",
    "LossFn",
    "ProxyBatch",
    "UnknownProxyError",
    "compute_proxy",
    "gaussian_standin_batch",
    "score_architectures",
    "fisher",
    "flops",
    "gradnorm",
    "grasp",
    "jacob_cov",
    "linear_regions",
    "naswot",
    "ntk",
    "params",
    "snip",
    "synflow",
    "zen",
]
