"""TE-NAS proxies ``ntk`` and ``linear_regions`` (nas_meta_tune.proxies.tenas).

Unit tests of the mechanics: every input here is a SYNTHETIC random tensor (never real data), so
the values checked are closed forms and invariants, not the proxies' predictive quality.
"""

from __future__ import annotations

import copy
import functools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import nas_meta_tune.proxies as proxies_pkg
from nas_meta_tune.oneshot import build_nb201
from nas_meta_tune.proxies import (
    DATA_FREE,
    NEEDS_TARGETS,
    PROXIES,
    ProxyBatch,
    compute_proxy,
    linear_regions,
    ntk,
    score_architectures,
)
from nas_meta_tune.spaces import get_space

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"
NONE_CELL = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
NAMES = ("ntk", "linear_regions")
tiny_nb201 = functools.partial(build_nb201, C=4, N=1)


def synthetic(*shape: int, seed: int = 0) -> torch.Tensor:
    """SYNTHETIC standard-Gaussian inputs (not data)."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def synthetic_images() -> torch.Tensor:
    return synthetic(8, 3, 16, 16, seed=1)


def _net(arch: str = ARCH, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return tiny_nb201(arch)


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _mlp(*widths: int, dropout: float = 0.0, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-2], widths[1:-1]):
        layers += [nn.Linear(a, b), nn.ReLU(), nn.Dropout(dropout)]
    return nn.Sequential(*layers, nn.Linear(widths[-2], widths[-1]))


# ------------------------------------------------------------------------------ registry
def test_registered_and_classified_like_jacob_cov_and_naswot():
    for name, fn in zip(NAMES, (ntk, linear_regions)):
        assert PROXIES[name] is fn
        assert name in proxies_pkg.__all__ and getattr(proxies_pkg, name) is fn
        assert name in (proxies_pkg.__doc__ or "")
        # inputs only: not data-free, no labels
        assert name not in DATA_FREE and name not in NEEDS_TARGETS
    assert "jacob_cov" not in DATA_FREE and "naswot" not in NEEDS_TARGETS


# ---------------------------------------------------------------- determinism, side effects
@pytest.mark.parametrize("name", NAMES)
def test_deterministic_and_side_effect_free(name, synthetic_images):
    net = _net()
    net.eval()
    net.classifier.train()  # mixed flags must survive
    before = _state(net)
    flags = [m.training for m in net.modules()]
    requires = [p.requires_grad for p in net.parameters()]
    rng = torch.random.get_rng_state()
    v1 = compute_proxy(name, net, synthetic_images, device="cpu", seed=3)
    v2 = PROXIES[name](net, synthetic_images, device="cpu", seed=3)
    assert isinstance(v1, float) and math.isfinite(v1) and v1 == v2
    after = _state(net)
    assert all(torch.equal(before[k], after[k]) for k in before), "parameters/buffers changed"
    assert all(p.grad is None for p in net.parameters())
    assert [m.training for m in net.modules()] == flags
    assert [p.requires_grad for p in net.parameters()] == requires
    assert torch.equal(torch.random.get_rng_state(), rng)
    # same architecture, same init -> same score whatever the mode the model was left in
    assert compute_proxy(name, _net(), synthetic_images, device="cpu", seed=3) == v1


@pytest.mark.parametrize("name", NAMES)
def test_seed_fixes_dropout(name):
    net = _mlp(4, 32, 32, 3, dropout=0.5)
    x = synthetic(6, 4, seed=2)
    a = compute_proxy(name, net, x, device="cpu", seed=7)
    assert compute_proxy(name, net, x, device="cpu", seed=7) == a
    assert net.training  # dropout ran in training mode (TE-NAS's setting), flag restored


# -------------------------------------------------------------------------------------- ntk
def test_ntk_of_a_linear_model_is_the_gram_condition_number():
    """f(x) = W x + b with k outputs: J_i = (1_k x_i^T, 1_k), so Theta = k (X X^T + 1 1^T)."""
    x = synthetic(5, 7, seed=3)
    xd = x.double().numpy()
    gram = xd @ xd.T
    lin = nn.Linear(7, 3)
    assert -compute_proxy("ntk", lin, x, device="cpu") == pytest.approx(
        np.linalg.cond(3 * (gram + 1.0)), rel=1e-6
    )
    no_bias = nn.Linear(7, 3, bias=False)
    assert -ntk(no_bias, x, device="cpu") == pytest.approx(np.linalg.cond(gram), rel=1e-6)
    # only trainable parameters count: a frozen bias drops its 1 1^T term
    lin.bias.requires_grad_(False)
    assert -ntk(lin, x, device="cpu") == pytest.approx(np.linalg.cond(gram), rel=1e-6)
    assert not lin.bias.requires_grad and lin.weight.requires_grad
    # cond >= 1: the best possible score is -1 (orthonormal samples, no bias)
    assert ntk(no_bias, torch.eye(7)[:5], device="cpu") == pytest.approx(-1.0)


def test_ntk_matches_a_per_sample_backward_loop_on_nb201():
    """TE-NAS's procedure: train mode, one forward, backward of each sample's summed logits."""
    x = synthetic(6, 3, 8, 8, seed=4)
    net = _net()
    ref = copy.deepcopy(net).train()
    params = list(ref.parameters())
    out = ref(x)
    rows = []
    for i in range(len(x)):
        grads = torch.autograd.grad(out[i].sum(), params, retain_graph=True, allow_unused=True)
        rows.append(
            torch.cat(
                [
                    (torch.zeros_like(p) if g is None else g).reshape(-1)
                    for p, g in zip(params, grads)
                ]
            )
        )
    j = torch.stack(rows).double()
    ev = torch.linalg.eigvalsh(j @ j.T)
    assert compute_proxy("ntk", net, x, device="cpu") == pytest.approx(
        -float(ev[-1] / ev[0]), rel=1e-5
    )


def test_ntk_singular_kernel_is_minus_inf(synthetic_images):
    x = synthetic(5, 2, seed=5)
    assert ntk(nn.Linear(2, 1, bias=False), x, device="cpu") == -math.inf  # rank 2 < 5 samples
    twice = torch.cat([x[:3], x[:1]])  # a repeated sample: two equal rows of J
    assert ntk(_mlp(2, 16, 3), twice, device="cpu") == -math.inf
    # a cell of `none` ops: the output is constant, all J_i are equal (only the classifier bias)
    assert compute_proxy("ntk", _net(NONE_CELL), synthetic_images, device="cpu") == -math.inf


def test_ntk_mask_selects_the_kernel_rows():
    net = _mlp(4, 16, 3)  # no BatchNorm: per-sample gradients do not depend on the other rows
    x = synthetic(7, 4, seed=6)
    mask = torch.tensor([True, False, True, True, False, True, False])
    masked = ntk(net, ProxyBatch((x,), None, mask), device="cpu")
    assert masked == pytest.approx(ntk(net, x[mask], device="cpu"), rel=1e-9)
    assert masked != ntk(net, x, device="cpu")


# --------------------------------------------------------------------------- linear regions
class _FunctionalReLUNet(nn.Module):
    """Two hidden layers through F.relu and Tensor.relu (no nn.ReLU modules)."""

    def __init__(self, w1: torch.Tensor, b1: torch.Tensor) -> None:
        super().__init__()
        self.fc1 = nn.Linear(1, len(b1))
        self.fc2 = nn.Linear(len(b1), 1)
        with torch.no_grad():
            self.fc1.weight.copy_(w1.reshape(-1, 1))
            self.fc1.bias.copy_(b1)
            self.fc2.weight.fill_(1.0)
            self.fc2.bias.fill_(-2.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.fc1(x))
        return self.fc2(h).relu()


def test_linear_regions_of_hand_made_1d_networks():
    # hidden pre-activations x, x - 1, x - 2: breakpoints 0, 1, 2 -> 4 regions on the line
    net = _FunctionalReLUNet(torch.ones(3), torch.tensor([0.0, -1.0, -2.0]))
    x = torch.tensor([[-1.0], [0.5], [0.7], [1.5], [2.5], [3.0]])
    # the output ReLU (2x - 3.5 > 0 on (1, 2)) splits (1, 2) at 1.75: 5 regions, 4 occupied
    assert linear_regions(net, x, device="cpu") == 4.0  # (-inf,0) (0,1) (1,1.75) (2,inf)
    assert linear_regions(net, x[[0, 5]], device="cpu") == 2.0
    assert linear_regions(net, x[[1, 2]], device="cpu") == 1.0
    assert linear_regions(net, torch.tensor([[1.5], [1.9]]), device="cpu") == 2.0  # 2nd ReLU
    assert linear_regions(net, x[:1], device="cpu") == 1.0


def test_linear_regions_count_intervals_of_a_random_1d_mlp():
    """One hidden layer of h units on 1-D inputs: the regions are the intervals between the
    h breakpoints -b_j / w_j; the count is the number of intervals holding a sample."""
    h = 6
    net = _mlp(1, h, 1, seed=8)
    x = synthetic(200, 1, seed=9) * 2
    w = net[0].weight.detach().reshape(-1).double().numpy()
    b = net[0].bias.detach().double().numpy()
    cuts = np.sort(-b / w)
    expected = len(np.unique(np.searchsorted(cuts, x.reshape(-1).double().numpy())))
    assert linear_regions(net, x, device="cpu") == float(expected)
    assert 1 <= expected <= h + 1


def test_linear_regions_bounds_and_saturation(synthetic_images):
    n = len(synthetic_images)
    # few high-dimensional SYNTHETIC samples: every sample gets its own region
    assert compute_proxy("linear_regions", _net(), synthetic_images, device="cpu") == n
    # a cell of `none` ops: every ReLU sees the same input for every sample
    assert compute_proxy("linear_regions", _net(NONE_CELL), synthetic_images, device="cpu") == 1.0
    # many low-dimensional samples: a wider network has more regions
    x = synthetic(300, 2, seed=10)
    narrow = linear_regions(_mlp(2, 2, 1), x, device="cpu")
    wide = linear_regions(_mlp(2, 16, 1), x, device="cpu")
    assert 1 <= narrow <= 4 < wide <= 300


# ----------------------------------------------------------------------- scoring many archs
def test_score_architectures_on_nb201_cells(synthetic_images):
    archs = [*get_space("nb201").sample(2, seed=5), NONE_CELL]
    s = score_architectures(
        "nb201", archs, list(NAMES), builder=tiny_nb201, batch=synthetic_images, device="cpu"
    )
    assert s.shape == (3, 2)
    assert np.isfinite(s[:2]).all() and (s[:2, 0] < -1).all()
    assert s[2, 0] == -math.inf and s[2, 1] == 1.0
    np.testing.assert_array_equal(
        s[:, 1],
        score_architectures(
            "nb201", archs, "linear_regions", builder=tiny_nb201, batch=synthetic_images
        ),
    )
    # the same as building with the same seed and scoring by hand
    torch.manual_seed(0)
    net = tiny_nb201(archs[1])
    assert compute_proxy("ntk", net, synthetic_images, device="cpu") == s[1, 0]
    with pytest.raises(ValueError, match="need a batch"):
        score_architectures("nb201", archs, "ntk", builder=tiny_nb201)


def test_score_architectures_on_a_synthetic_graph():
    space = get_space("nasbench_graph")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(12, 5, generator=g)  # SYNTHETIC node features and edges
    edge_index = torch.randint(0, 12, (2, 40), generator=g)
    y = torch.randint(0, 3, (12,), generator=g)
    s = score_architectures(space, space.sample(2, seed=0), list(NAMES), batch=((x, edge_index), y))
    assert s.shape == (2, 2)
    assert (s[:, 0] <= -1).all()  # -cond or -inf
    assert ((s[:, 1] >= 1) & (s[:, 1] <= 12)).all()


# ------------------------------------------------------------------------------------ errors
def test_bad_batches_raise_clear_errors(synthetic_images):
    net = _net()
    with pytest.raises(ValueError, match=">= 2 samples, but got 1"):
        compute_proxy("ntk", net, synthetic_images[:1], device="cpu")
    with pytest.raises(ValueError, match=">= 1 samples, but got 0"):
        compute_proxy("linear_regions", net, synthetic_images[:0], device="cpu")
    for name in NAMES:
        with pytest.raises(TypeError, match="batch must be"):
            compute_proxy(name, net, "not a batch")
        with pytest.raises(ValueError, match="needs a batch"):
            compute_proxy(name, net, None)
    with pytest.raises(ValueError, match="no ReLU"):
        linear_regions(nn.Linear(4, 2), synthetic(3, 4), device="cpu")
    frozen = nn.Linear(4, 2).requires_grad_(False)
    with pytest.raises(ValueError, match="trainable parameters"):
        ntk(frozen, synthetic(3, 4), device="cpu")

    class Pooled(nn.Module):  # sums over the batch: no output row per sample
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x).sum(0)

    with pytest.raises(ValueError, match="one output row per sample"):
        ntk(Pooled(), synthetic(3, 4), device="cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(synthetic_images):
    net = _net()
    for name in NAMES:
        cpu = compute_proxy(name, net, synthetic_images, device="cpu")
        gpu = compute_proxy(name, net, synthetic_images, device="cuda")
        assert gpu == pytest.approx(cpu, rel=1e-3), name
    assert next(net.parameters()).device.type == "cpu"


def test_relu_codes_see_the_node_axis_of_pyg_stacks():
    # ARMAConv applies its ReLU to [stacks, nodes, channels]: those units count too
    from nas_meta_tune.oneshot import NASBenchGraphNet
    from nas_meta_tune.proxies.activation import ReLUCodeMode

    class Count(ReLUCodeMode):
        units = 0

        def record(self, codes):
            assert codes.shape[0] == self.n
            self.units += codes.shape[1]

    n, gen = 9, torch.Generator().manual_seed(0)
    x = torch.rand(n, 5, generator=gen)
    ring = torch.arange(n)
    edge_index = torch.stack([torch.cat([ring, (ring + 1) % n]), torch.cat([(ring + 1) % n, ring])])
    net = NASBenchGraphNet(
        (0, 1, 2, 3), ("arma", "arma", "gcn", "arma"), 5, 3, hidden=8, dropout=0.0
    )
    with torch.no_grad(), Count(n) as mode:
        net.eval()(x, edge_index)
    # 3 BatchNorm->ReLU inputs, 3 ARMA activations, the cell output's ReLU (one leaf, node 4)
    assert mode.calls == 7 and mode.units == 7 * 8
