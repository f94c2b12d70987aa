"""Zero-cost proxies (nas_meta_tune.proxies) and the NAS-Bench-201 network builder."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from torch import nn

from nas_meta_tune.exceptions import InvalidArchitectureError
from nas_meta_tune.oneshot import NB201Net, build_nb201
from nas_meta_tune.proxies import (
    DATA_FREE,
    PROXIES,
    ProxyBatch,
    UnknownProxyError,
    compute_proxy,
    gaussian_standin_batch,
    score_architectures,
)
from nas_meta_tune.spaces import get_space

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"
NONE_CELL = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
ALL = sorted(PROXIES)


def _tiny(arch: str = ARCH, seed: int = 0) -> NB201Net:
    torch.manual_seed(seed)
    return build_nb201(arch, C=4, N=1)


@pytest.fixture(scope="module")
def batch() -> ProxyBatch:
    # a stand-in (Gaussian images, random labels): these tests check properties, not quality
    return gaussian_standin_batch(8, seed=1)


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# ------------------------------------------------------------------------------------ builder
def test_nb201_builder_shapes_and_errors():
    net = build_nb201(ARCH, C=4, N=1, num_classes=7)
    x = torch.randn(2, 3, 32, 32)
    assert net(x).shape == (2, 7)
    assert net.forward_features(x).shape == (2, 16, 8, 8)
    assert net.to_string() == ARCH
    arch = get_space("nb201").from_string(ARCH)
    assert build_nb201(arch, C=4, N=1).to_string() == ARCH
    assert build_nb201(tuple(arch.spec), C=4, N=1).to_string() == ARCH
    # stem + 3 stages of N cells + 2 reduction blocks
    assert sum(type(m).__name__ == "NB201Cell" for m in build_nb201(ARCH, N=2).modules()) == 6
    with pytest.raises(InvalidArchitectureError):
        build_nb201("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    with pytest.raises(ValueError, match="C must be"):
        build_nb201(ARCH, C=0)


def test_nb201_builder_matches_benchmark_params(data_root):
    import pandas as pd

    df = pd.read_parquet(data_root / "nb201_tabular" / "nb201_accuracy.parquet")
    for i in (0, 4321, 15624):
        row = df.iloc[i]
        n = sum(p.numel() for p in build_nb201(row["arch_str"]).parameters())
        assert n / 1e6 == pytest.approx(row["h200_cifar10valid_params_mb"], abs=1e-6)


# ------------------------------------------------------------------------------------ proxies
@pytest.mark.parametrize("name", ALL)
def test_proxy_finite_reproducible_and_side_effect_free(name, batch):
    net = _tiny()
    net.eval()
    net.classifier.train()  # mixed flags must survive
    before = _state(net)
    flags = [m.training for m in net.modules()]
    rng_before = torch.random.get_rng_state()
    v1 = compute_proxy(name, net, batch, device="cpu", seed=3)
    v2 = compute_proxy(name, net, batch, device="cpu", seed=3)
    assert isinstance(v1, float) and math.isfinite(v1)
    assert v1 == v2
    after = _state(net)
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before), "parameters/buffers changed"
    assert all(p.grad is None for p in net.parameters())
    assert [m.training for m in net.modules()] == flags
    assert torch.equal(torch.random.get_rng_state(), rng_before)
    # same architecture, same init -> same score whatever the model's mode was
    assert compute_proxy(name, _tiny(), batch, device="cpu", seed=3) == v1


def test_proxies_differ_between_architectures(batch):
    other = (
        "|skip_connect~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|nor_conv_3x3~0|none~1|skip_connect~2|"
    )
    # linear_regions counts distinct ReLU patterns, at most one per sample: on this batch of 8
    # high-dimensional images every network with a ReLU gives each sample its own region (8), as
    # the definition says; tests/test_proxies_tenas.py checks it on inputs where counts differ
    for name in (n for n in ALL if n != "linear_regions"):
        assert compute_proxy(name, _tiny(), batch, device="cpu") != compute_proxy(
            name, _tiny(other), batch, device="cpu"
        ), name


@pytest.mark.parametrize("name", sorted(DATA_FREE))
def test_data_free_proxies_ignore_values(name, batch):
    net = _tiny()
    other = ProxyBatch((torch.rand_like(batch.x) * 50,), None)
    assert compute_proxy(name, net, batch, device="cpu") == compute_proxy(
        name, net, other, device="cpu"
    )


def test_synflow_is_data_independent(batch):
    net = _tiny()
    ref = compute_proxy("synflow", net, batch, device="cpu")
    # any batch of the same image shape (size and values do not matter), labels or not
    for x in (torch.zeros(1, 3, 32, 32), torch.randn(5, 3, 32, 32)):
        assert compute_proxy("synflow", net, x, device="cpu") == ref
    assert ref > 0
    # SynFlow is positively homogeneous in each layer's weights: scaling the classifier by 2
    # doubles R and hence every w * dR/dw
    with torch.no_grad():
        net.classifier.weight.mul_(2)
        net.classifier.bias.mul_(2)
    assert compute_proxy("synflow", net, batch, device="cpu") == pytest.approx(2 * ref, rel=1e-9)


def test_seed_changes_stochastic_proxies(batch):
    net = _tiny()
    assert compute_proxy("zen", net, batch, seed=0, device="cpu") != compute_proxy(
        "zen", net, batch, seed=1, device="cpu"
    )


def test_params_and_flops_exact():
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=True),  # 3*4*9 + 4 = 112 params
        nn.ReLU(),
        nn.Conv2d(4, 6, 1, stride=2, groups=2, bias=False),  # 2*3*6 = 12 params
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 2),  # 12 + 2 params
    )
    x = torch.randn(5, 3, 8, 8)
    assert compute_proxy("params", net, x) == 112 + 12 + 14
    # MACs for one sample: conv1 4*8*8 * 3*3*3; grouped 1x1 stride 2: 6*4*4 * 2; linear 2*6
    assert compute_proxy("flops", net, x, device="cpu") == 4 * 64 * 27 + 6 * 16 * 2 + 12
    nb = build_nb201(ARCH, C=4, N=1)
    assert compute_proxy("params", nb, None) == sum(p.numel() for p in nb.parameters())


def test_disconnected_cell_documented_values(batch):
    net = _tiny(NONE_CELL)
    vals = {n: compute_proxy(n, net, batch, device="cpu") for n in ALL}
    # output is a constant: no weight gets a gradient through the cells
    for n in ("synflow", "snip", "grasp", "gradnorm"):
        assert vals[n] == 0.0, n
    assert vals["naswot"] == -math.inf and vals["zen"] == -math.inf
    assert math.isfinite(vals["jacob_cov"]) and math.isfinite(vals["fisher"])
    assert vals["jacob_cov"] < compute_proxy("jacob_cov", _tiny(), batch, device="cpu")
    assert vals["params"] > 0 and vals["flops"] > 0


def test_errors(batch):
    net = _tiny()
    with pytest.raises(ValueError, match="synflow.*snip"):
        compute_proxy("synflw", net, batch)
    with pytest.raises(UnknownProxyError):
        score_architectures("nb201", [ARCH], ["synflow", "nope"])
    with pytest.raises(ValueError, match="labels"):
        compute_proxy("snip", net, batch.x)
    with pytest.raises(ValueError, match="real data"):
        score_architectures("nb201", [ARCH], "snip")  # no default batch for data proxies
    with pytest.raises(TypeError):
        compute_proxy("snip", net, "not a batch")


# ------------------------------------------------------------------------------- many archs
def test_score_architectures_nb201(batch):
    archs = get_space("nb201").sample(4, seed=5) + [NONE_CELL]
    tiny = functools.partial(build_nb201, C=4, N=1)
    names = ["synflow", "snip", "naswot"]
    s = score_architectures("nb201", archs, names, builder=tiny, batch=batch, device="cpu")
    assert s.shape == (5, 3)
    again = score_architectures(get_space("nb201"), archs, names, builder=tiny, batch=batch)
    np.testing.assert_array_equal(s, again)
    one = score_architectures("nb201", archs, "synflow", builder=tiny, device="cpu")
    np.testing.assert_array_equal(one, s[:, 0])
    # the proxy-first form: score_architectures(proxy, archs, space=..., seed=...)
    first = score_architectures("synflow", archs, space="nb201", builder=tiny, seed=0)
    np.testing.assert_array_equal(first, s[:, 0])
    with pytest.raises(TypeError, match="proxy twice"):
        score_architectures("nb201", archs, "synflow", space="nb201")
    with pytest.raises(TypeError, match="space and the proxy"):
        score_architectures("synflow", archs)
    # same as building with the same seed and scoring by hand
    torch.manual_seed(0)
    net = tiny(archs[2])
    assert compute_proxy("snip", net, batch, device="cpu") == s[2, 1]
    timings: dict[str, list[float]] = {}
    score_architectures("nb201", archs[:2], "flops", builder=tiny, timings=timings)
    assert len(timings["flops"]) == 2 and len(timings["build"]) == 2


def test_score_architectures_graph_space():
    space = get_space("nasbench_graph")
    archs = space.sample(2, seed=0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(12, 5, generator=g)
    edge_index = torch.randint(0, 12, (2, 40), generator=g)
    y = torch.randint(0, 3, (12,), generator=g)
    s = score_architectures(space, archs, ["synflow", "naswot", "snip"], batch=((x, edge_index), y))
    assert s.shape == (2, 3) and np.isfinite(s).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(batch):
    net = _tiny()
    for name in ("synflow", "snip", "params", "flops"):
        cpu = compute_proxy(name, net, batch, device="cpu")
        gpu = compute_proxy(name, net, batch, device="cuda")
        assert gpu == pytest.approx(cpu, rel=1e-3), name
    assert next(net.parameters()).device.type == "cpu"  # the model is not moved


# ------------------------------------------------------------------------------- real data
def test_synflow_correlates_with_real_nb201_accuracy(data_root):
    """Data-free SynFlow at small width ranks 60 random cells like their real CIFAR-10 accuracy."""
    from nas_meta_tune.benchmarks import load_benchmark

    bench = load_benchmark("nb201", data_root=data_root)
    archs = get_space("nb201").sample(60, seed=0)
    acc = bench.values(archs, "cifar10-valid")  # 200-epoch validation accuracy, mean of seeds
    assert np.isfinite(acc).all()
    scores = score_architectures(
        "nb201", archs, "synflow", builder=functools.partial(build_nb201, C=4, N=1), device="cpu"
    )
    rho = spearmanr(scores, acc)[0]
    assert rho > 0.5, rho  # 0.77 measured; published full-size NB201 CIFAR-10 values are ~0.76
