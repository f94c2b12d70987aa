"""The NAS-Bench-201 supernet, SPOS and first-order DARTS: a unit test of the mechanics on
synthetic random tensors (tiny: C=4, N=1, 8x8 images), not of search quality."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nas_meta_tune.exceptions import InvalidArchitectureError
from nas_meta_tune.oneshot import (
    NB201_OPS,
    NB201DARTSTrainer,
    NB201Net,
    NB201SPOSTrainer,
    NB201Supernet,
    build_nb201_supernet,
    export_path,
)
from nas_meta_tune.spaces import get_space

# minutes of real training, real clusters or real processes: deselect with -m "not slow"
pytestmark = pytest.mark.slow

C, N, CLASSES = 4, 1, 3
ARCH = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|"
CONVS = ("nor_conv_1x1", "nor_conv_3x3")


def _synthetic(n: int = 16, seed: int = 0, channels: int = 3, classes: int = CLASSES):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, channels, 8, 8, generator=gen)
    y = torch.arange(n) % classes  # every class present
    return x, y


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: one intra-op thread is fastest and avoids oversubscribing shared CPUs."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def synthetic_data():
    return _synthetic(16, 0), _synthetic(16, 1)


def _trainer(data, strategy="spos", seed=0, **kw):
    kw.setdefault("batch_size", 8)
    return build_nb201_supernet(*data, strategy=strategy, C=C, N=N, seed=seed, device="cpu", **kw)


def _net(**kw):
    return NB201Supernet(C=C, N=N, num_classes=CLASSES, **kw)


def test_forward_shapes_and_arch_forms():
    net = _net()
    x = _synthetic(4)[0]
    arch = get_space("nb201").from_string(ARCH)
    out = net(x, arch)
    assert out.shape == (4, CLASSES)
    assert torch.equal(out, net(x, ARCH))
    assert torch.equal(out, net(x, tuple(arch.spec)))
    w = torch.full((6, len(NB201_OPS)), 1 / len(NB201_OPS))
    assert net.forward_mixed(x, w).shape == (4, CLASSES)
    assert net.num_paths() == 5**6
    assert net.contains(arch)
    # 2 reductions + 3 stages of N cells
    assert len(net.cells) == 3 * N + 2


def test_seeded_init_leaves_global_rng_alone():
    state = torch.get_rng_state()
    a, b, c = _net(seed=1), _net(seed=1), _net(seed=2)
    assert torch.equal(state, torch.get_rng_state())
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_sample_arch_is_seeded_and_respects_choices():
    choices = [NB201_OPS] * 5 + [("none", "skip_connect")]
    net = _net(op_choices=choices)
    archs = [net.sample_arch(np.random.default_rng(3)) for _ in range(2)]
    assert archs[0] == archs[1] and archs[0].space.name == "nb201"
    for arch in (net.sample_arch(s) for s in range(20)):
        assert net.contains(arch) and arch.spec[5] in ("none", "skip_connect")
    assert net.num_paths() == 5**5 * 2


def test_spos_step_touches_only_the_path(synthetic_data):
    trainer = _trainer(synthetic_data)
    net = trainer.supernet
    arch = ("nor_conv_3x3", "nor_conv_1x1", "skip_connect", "none", "nor_conv_3x3", "avg_pool_3x3")
    before = {k: v.clone() for k, v in net.state_dict().items()}
    trainer.step(arch)
    used = {id(p) for p in net.path_parameters(arch)}
    for name, p in net.named_parameters():
        if id(p) in used:
            assert p.grad is not None, name
            assert not torch.equal(p.detach(), before[name]), name
        else:
            assert p.grad is None, name
            assert torch.equal(p.detach(), before[name]), name
    # the unused candidates are exactly the convs the path does not pick
    unused = {n for n, p in net.named_parameters() if id(p) not in used}
    assert unused and all(".edges." in n for n in unused)
    assert "cells.0.edges.0.nor_conv_1x1.1.weight" in unused
    assert "cells.0.edges.0.nor_conv_3x3.1.weight" not in unused


def test_export_path_matches_the_supernet(synthetic_data):
    trainer = _trainer(synthetic_data)
    trainer.train(2)  # non-trivial weights, BN affine parameters moved
    net = trainer.supernet
    x = synthetic_data[1][0][:8]
    state = torch.get_rng_state()
    for arch in [net.sample_arch(s) for s in range(3)] + [ARCH]:
        model = export_path(net, arch)
        assert isinstance(model, NB201Net) and model.op_names == tuple(net.cell(arch))
        for train_mode in (True, False):
            net.train(train_mode)
            model.train(train_mode)
            with torch.no_grad():
                assert torch.allclose(model(x), net(x, arch), atol=1e-6, rtol=1e-5)
        # a copy, not shared weights
        assert not {id(p) for p in model.parameters()} & {id(p) for p in net.parameters()}
    assert torch.equal(state, torch.get_rng_state())


def test_restrict_keeps_weights():
    net = _net()
    choices = [CONVS, NB201_OPS, ("none",), NB201_OPS, ("skip_connect", "avg_pool_3x3"), CONVS]
    sub = net.restrict(choices)
    assert sub.num_paths() == 2 * 5 * 1 * 5 * 2 * 2
    x = _synthetic(4)[0]
    for arch in (sub.sample_arch(s) for s in range(3)):
        assert torch.equal(sub(x, arch), net(x, arch))
    assert set(sub.cells[0].edges[2].keys()) == {"none"}
    assert not sub.contains(ARCH)  # nor_conv_3x3 ... but edge 2<-1 is skip_connect
    with pytest.raises(InvalidArchitectureError, match="not in this supernet's choices"):
        sub(x, ARCH)
    # weights are copies
    p_sub = sub.cells[0].edges[0]["nor_conv_3x3"][1].weight
    p_net = net.cells[0].edges[0]["nor_conv_3x3"][1].weight
    assert torch.equal(p_sub, p_net) and p_sub is not p_net
    with pytest.raises(ValueError, match="not a subset"):
        sub.restrict([NB201_OPS] * 6)
    fresh = net.restrict(choices, inherit=False, seed=5)
    assert not torch.equal(fresh.cells[0].edges[0]["nor_conv_3x3"][1].weight, p_net)


def test_one_hot_mixed_weights_equal_the_path():
    net = _net(seed=3)
    x = _synthetic(6)[0]
    for arch in [net.sample_arch(s) for s in range(3)]:
        w = torch.zeros(6, len(NB201_OPS))
        for e, op in enumerate(arch.spec):
            w[e, NB201_OPS.index(op)] = 1.0
        for train_mode in (True, False):
            net.train(train_mode)
            with torch.no_grad():
                assert torch.equal(net.forward_mixed(x, w), net(x, arch))


def test_seeded_runs_are_reproducible(synthetic_data):
    state = torch.get_rng_state()
    a, b, c = (_trainer(synthetic_data, seed=s) for s in (0, 0, 1))
    la, lb, lc = a.train(3), b.train(3), c.train(3)
    assert la == lb and la != lc
    assert torch.equal(state, torch.get_rng_state())
    sa, sb = a.supernet.state_dict(), b.supernet.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("strategy", ["spos", "darts"])
def test_exact_resume(synthetic_data, strategy):
    full = _trainer(synthetic_data, strategy)
    full.train(6)
    first = _trainer(synthetic_data, strategy)
    first.train(3)
    saved = first.state_dict()
    first.train(1)  # the saved state is a copy, unaffected
    # one checkpoint rule for every supernet: the seed is part of the state and is restored
    resumed = _trainer(synthetic_data, strategy, seed=99)
    resumed.load_state_dict(saved)
    assert resumed.seed == 0
    resumed.train(3)
    assert resumed.steps_done == full.steps_done == 6
    sf, sr = full.state_dict(), resumed.state_dict()
    assert all(torch.equal(sf["supernet"][k], sr["supernet"][k]) for k in sf["supernet"])
    if strategy == "darts":
        assert torch.equal(sf["arch"][0], sr["arch"][0])
        # a checkpoint written before the trainers were merged keeps the logits under "alpha"
        legacy = {k: v for k, v in saved.items() if k != "arch"} | {"alpha": saved["arch"][0]}
        old = _trainer(synthetic_data, strategy)
        old.load_state_dict(legacy)
        old.train(3)
        assert torch.equal(old.alpha.detach(), full.alpha.detach())


def test_evaluate_and_rank(synthetic_data):
    trainer = _trainer(synthetic_data)
    assert isinstance(trainer, NB201SPOSTrainer) and not isinstance(trainer, NB201DARTSTrainer)
    trainer.train(2)
    archs = [ARCH, trainer.supernet.sample_arch(0)]
    acc = trainer.rank(archs)
    assert acc.shape == (2,) and ((acc >= 0) & (acc <= 100)).all()
    assert acc[0] == trainer.evaluate(ARCH)
    assert np.allclose(trainer.rank(archs, score="loss")[0], -trainer.loss(ARCH))
    assert 0 <= trainer.evaluate(ARCH, split="train") <= 100
    assert trainer.supernet.training  # mode restored after evaluation


def test_darts_trains_alpha_and_derives_an_architecture(synthetic_data):
    choices = [NB201_OPS] * 5 + [CONVS]
    trainer = _trainer(synthetic_data, "darts", op_choices=choices)
    assert isinstance(trainer, NB201DARTSTrainer)
    (alpha,) = trainer.arch_parameters()
    assert alpha.shape == (6, len(NB201_OPS))
    before = alpha.detach().clone()
    losses = trainer.train(2)
    assert len(losses) == 2 and all(np.isfinite(losses))
    assert not torch.equal(alpha.detach(), before)
    w = trainer.arch_weights()
    assert torch.allclose(w.sum(dim=1), torch.ones(6))
    assert (w[5, [NB201_OPS.index(o) for o in NB201_OPS if o not in CONVS]] == 0).all()
    arch = trainer.derive()
    assert arch.space.name == "nb201" and arch.spec[5] in CONVS
    assert get_space("nb201").validate(arch) == arch
    lp = trainer.rank([arch, trainer.supernet.sample_arch(0)])
    assert lp.shape == (2,) and lp[0] <= 0 and np.isclose(lp[0], trainer.arch_log_prob(arch))
    # the per-edge argmax is the most likely cell
    others = [trainer.arch_log_prob(trainer.supernet.sample_arch(s)) for s in range(20)]
    assert lp[0] >= max(others)
    with pytest.raises(InvalidArchitectureError):
        trainer.arch_log_prob(ARCH)  # edge 3<-2 is skip_connect, not held by this supernet
    assert 0 <= trainer.rank([arch], score="acc")[0] <= 100
    state = trainer.state_dict()
    assert {"arch", "arch_optimizer", "supernet", "optimizer", "seed", "steps_done"} <= set(state)


def test_build_infers_sizes():
    train, valid = _synthetic(8, 0, channels=1, classes=2), _synthetic(8, 1, channels=1, classes=4)
    trainer = build_nb201_supernet(train, valid, C=C, N=N, device="cpu", batch_size=4)
    assert trainer.supernet.in_channels == 1 and trainer.supernet.num_classes == 4
    assert trainer.device == torch.device("cpu")


def test_bad_input_is_named(synthetic_data):
    net = _net()
    x = _synthetic(2)[0]
    with pytest.raises(InvalidArchitectureError, match="6 edge operations"):
        net(x, ("none",) * 5)
    with pytest.raises(InvalidArchitectureError, match="conv_5x5"):
        net(x, ("conv_5x5",) + ("none",) * 5)
    with pytest.raises(InvalidArchitectureError, match="3 nodes"):
        net(x, "|none~0|")
    with pytest.raises(InvalidArchitectureError, match="expected an nb201"):
        net(x, 42)
    with pytest.raises(InvalidArchitectureError, match="6 edge operations"):
        net.contains(("none",) * 7)
    with pytest.raises(ValueError, match="one op set per edge"):
        _net(op_choices=[NB201_OPS] * 5)
    with pytest.raises(ValueError, match=r"op_choices\[2\].*sep_conv_3x3"):
        _net(op_choices=[NB201_OPS, NB201_OPS, ("sep_conv_3x3",), NB201_OPS, NB201_OPS, NB201_OPS])
    with pytest.raises(ValueError, match=r"op_choices\[0\].*\[\]"):
        _net(op_choices=[(), *[NB201_OPS] * 5])
    with pytest.raises(ValueError, match=r"op_choices\[1\] must be a sequence"):
        _net(op_choices=[NB201_OPS, "none", *[NB201_OPS] * 4])
    with pytest.raises(ValueError, match="C=0"):
        NB201Supernet(C=0)
    with pytest.raises(ValueError, match=r"weights.shape=\[6, 4\]"):
        net.forward_mixed(x, torch.ones(6, 4))
    with pytest.raises(ValueError, match="batch_size=0"):
        _trainer(synthetic_data, batch_size=0)
    with pytest.raises(ValueError, match="lr=-1"):
        _trainer(synthetic_data, lr=-1)
    with pytest.raises(ValueError, match="grad_clip=0"):
        _trainer(synthetic_data, grad_clip=0)
    with pytest.raises(ValueError, match="seed=-1"):
        _trainer(synthetic_data, seed=-1)
    with pytest.raises(ValueError, match="strategy='enas'"):
        _trainer(synthetic_data, "enas")
    with pytest.raises(ValueError, match="labels must be an int64"):
        build_nb201_supernet(synthetic_data[0], (x, torch.zeros(3, dtype=torch.long)), C=C, N=N)
    with pytest.raises(ValueError, match="num_classes=2"):
        NB201SPOSTrainer(NB201Supernet(C=C, N=N, num_classes=2), *synthetic_data, device="cpu")
    with pytest.raises(TypeError):
        NB201Supernet(4, 1)  # keyword-only
    trainer = _trainer(synthetic_data)
    with pytest.raises(ValueError, match="split='test'"):
        trainer.evaluate(ARCH, split="test")
    with pytest.raises(ValueError, match="score='alpha'"):
        trainer.rank([ARCH], score="alpha")
    with pytest.raises(ValueError, match="steps=-1"):
        trainer.train(-1)
    darts = _trainer(synthetic_data, "darts")
    with pytest.raises(ValueError, match="relaxed cell"):
        darts.step(ARCH)
    with pytest.raises(ValueError, match="score='best'"):
        darts.rank([ARCH], score="best")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("strategy", ["spos", "darts"])
def test_trains_on_cuda(synthetic_data, strategy):
    trainer = _trainer(synthetic_data, strategy, device="cuda")
    losses = trainer.train(2)
    assert len(losses) == 2 and all(np.isfinite(losses))
    assert all(p.device.type == "cuda" for p in trainer.supernet.parameters())
    if strategy == "darts":
        assert trainer.alpha.device.type == "cuda"
        trainer.derive()
    assert export_path(trainer.supernet, ARCH).classifier.weight.device.type == "cuda"
    assert 0 <= trainer.evaluate(ARCH) <= 100
