"""The NAS-Bench-Graph supernet (SPOS) and few-shot splitting, on the real Cora graph."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from nas_meta_tune.exceptions import InvalidArchitectureError
from nas_meta_tune.oneshot import (
    DARTSTrainer,
    GNNSupernet,
    SplitTree,
    SPOSTrainer,
    build_supernet,
    load_planetoid,
    partition_ops,
    split_distance,
)
from nas_meta_tune.spaces import get_space
from nas_meta_tune.spaces.nasbench_graph import GNN_OPS

# minutes of real training, real clusters or real processes: deselect with -m "not slow"
pytestmark = pytest.mark.slow

HIDDEN = 8


@pytest.fixture(scope="module")
def cora(data_root):
    return load_planetoid("cora", data_root)


def _trainer(cora, seed=0, **kw):
    kw.setdefault("lr", 0.01)
    return build_supernet(cora, hidden=HIDDEN, seed=seed, device="cpu", **kw)


def test_forward_gives_logits_for_sampled_archs(cora):
    data = cora[0]
    net = GNNSupernet(data.num_features, cora.num_classes, hidden=HIDDEN).eval()
    for arch in get_space("nasbench_graph").sample(5, seed=0):
        out = net(data.x, data.edge_index, arch)
        assert out.shape == (data.num_nodes, cora.num_classes)
        assert torch.isfinite(out).all()
    with pytest.raises(InvalidArchitectureError):
        net.restrict([("gcn",), GNN_OPS, GNN_OPS, GNN_OPS])(
            data.x, data.edge_index, "0,0,1,2|gat,gcn,gcn,gcn"
        )


def test_spos_step_touches_only_the_path(cora):
    trainer = _trainer(cora)
    net = trainer.supernet
    arch = "0,0,1,2|gcn,gat,skip,sage"
    before = {k: v.clone() for k, v in net.state_dict().items()}
    trainer.step(arch)
    used = {id(p) for p in net.path_parameters(arch)}
    _, ops = net.cell(arch)
    for pos, cands in enumerate(net.candidates):
        for op, mod in cands.items():
            for name, p in mod.named_parameters():
                key = f"candidates.{pos}.{op}.{name}"
                if op == ops[pos]:
                    assert id(p) in used and p.grad is not None and p.grad.abs().sum() > 0
                else:
                    assert id(p) not in used
                    assert p.grad is None or not p.grad.any()
                    assert torch.equal(p.detach(), before[key])  # no weight decay either
    assert net.pre[0].weight.grad is not None


def test_spos_lowers_loss_and_is_reproducible(cora):
    archs = get_space("nasbench_graph").sample(4, seed=1)
    a, b = _trainer(cora, seed=3), _trainer(cora, seed=3)
    start = np.mean([a.loss(x, "train") for x in archs])
    losses = a.train(40)
    assert losses == b.train(40)
    assert a.steps_done == 40 and a.last_arch is not None
    for (k, va), vb in zip(a.supernet.state_dict().items(), b.supernet.state_dict().values()):
        assert torch.equal(va, vb), k
    assert np.mean([a.loss(x, "train") for x in archs]) < start
    assert _trainer(cora, seed=4).train(3) != losses[:3]


def test_evaluate_and_rank_are_finite(cora):
    trainer = _trainer(cora)
    trainer.train(5)
    archs = get_space("nasbench_graph").sample(3, seed=2)
    acc = trainer.evaluate(archs[0])
    assert 0.0 <= acc <= 100.0
    for score in ("acc", "loss"):
        r = trainer.rank(archs, score=score)
        assert r.shape == (3,) and np.isfinite(r).all()
    assert isinstance(trainer, SPOSTrainer)


def test_restrict_inherits_or_reinitialises(cora):
    trainer = _trainer(cora)
    trainer.train(2)
    choices = [GNN_OPS, ("gcn", "fc"), GNN_OPS, GNN_OPS]
    child = trainer.spawn(choices)
    assert set(child.supernet.candidates[1].keys()) == {"gcn", "fc"}
    w, cw = trainer.supernet.pre[0].weight, child.supernet.pre[0].weight
    assert torch.equal(w, cw) and w.data_ptr() != cw.data_ptr()
    fresh = trainer.spawn(choices, inherit=False, seed=5)
    assert not torch.equal(w, fresh.supernet.pre[0].weight)
    assert child.supernet.num_paths() == 9 * (9 * 2 * 9 * 9)


def test_split_tree_partitions_one_edge(cora):
    trainer = _trainer(cora)
    trainer.train(3)
    tree = SplitTree(trainer, branching=2, depth=1, edges=2, num_contexts=2).build()
    leaves = tree.leaves
    assert len(leaves) == 2 and tree.root.edge == 2
    groups = [set(leaf.op_choices[1]) for leaf in leaves]
    assert groups[0].isdisjoint(groups[1]) and groups[0] | groups[1] == set(GNN_OPS)
    assert abs(len(groups[0]) - len(groups[1])) <= 1
    for leaf in leaves:
        assert all(leaf.op_choices[p] == GNN_OPS for p in (0, 2, 3))
    assert tree.root.distance.shape == (9, 9)
    for arch in get_space("nasbench_graph").sample(30, seed=0):
        holders = [leaf for leaf in leaves if leaf.contains(arch)]
        assert holders == [tree.leaf_for(arch)]
        _, ops = arch.spec
        assert all(op in holders[0].op_choices[p] for p, op in enumerate(ops))
    text = tree.describe()
    assert "split op_2" in text and text.count("leaf") == 2
    assert np.isfinite(tree.rank(get_space("nasbench_graph").sample(2, seed=1))).all()
    assert tree.splits()[0][1] == 2


def test_split_tree_depth_two_with_a_proxy(cora):
    tree = SplitTree(
        _trainer(cora), branching=2, depth=2, metric="snip", edges=(1, 3), num_contexts=1
    ).build()
    assert len(tree.leaves) == 4
    # the leaves' sub-spaces partition the (op_1, op_3) choices
    cells = [set(itertools.product(leaf.op_choices[0], leaf.op_choices[2])) for leaf in tree.leaves]
    assert sum(map(len, cells)) == len(GNN_OPS) ** 2
    assert set().union(*cells) == set(itertools.product(GNN_OPS, GNN_OPS))


def test_split_distance_definition():
    a = [["a", "b"], ["c", "d"]]
    assert split_distance(a, a) == 0.0
    assert split_distance(a, [["d", "c"], ["b", "a"]]) == 0.0  # order-free
    # every op changes partner: 4 ops x (1 lost + 1 gained) = 8, over 2 * 4 - 1
    assert split_distance(a, [["a", "c"], ["b", "d"]]) == pytest.approx(8 / 7)
    # moving c: pairs (a,c), (b,c), (c,d) change -> 2 * 3 ordered pairs
    b = [["a", "b", "c"], ["d"]]
    assert split_distance(b, a) == pytest.approx(6 / 7) == split_distance(a, b)
    assert split_distance([["a"], ["b"], ["c"]], [["a", "b", "c"]]) == pytest.approx(6 / 5)
    with pytest.raises(ValueError):
        split_distance(a, [["a", "b"], ["c"]])
    with pytest.raises(ValueError):
        split_distance([["a", "b"], ["b", "c"]], [["a", "b", "c"]])


def test_partition_ops_finds_the_blocks():
    d = np.ones((6, 6))
    for block in ([0, 2, 4], [1, 3, 5]):
        d[np.ix_(block, block)] = 0.1
    np.fill_diagonal(d, 0.0)
    groups, score = partition_ops(d, 2)
    assert sorted(map(sorted, groups)) == [[0, 2, 4], [1, 3, 5]] and score == pytest.approx(0.0)
    groups3, _ = partition_ops(d, 3)
    assert len(groups3) == 3 and sorted(sum(groups3, [])) == list(range(6))


# ---------------------------------------------------------------------------------- DARTS
def _peaked(trainer, arch, big=60.0):
    """Architecture logits that put (numerically) all the mass on ``arch``."""
    from nas_meta_tune.spaces.nasbench_graph import LINK_PATTERNS

    links, ops = trainer.supernet.cell(arch)
    link_logits = torch.zeros(len(LINK_PATTERNS))
    link_logits[LINK_PATTERNS.index(tuple(links))] = big
    op_logits = []
    for pos, op in enumerate(ops):
        v = torch.zeros(len(trainer.supernet.op_choices[pos]))
        v[trainer.supernet.op_choices[pos].index(op)] = big
        op_logits.append(v)
    return link_logits, op_logits


def test_darts_relaxation_with_peaked_logits_is_the_path(cora):
    trainer = _trainer(cora, strategy="darts")
    net, d = trainer.supernet.eval(), trainer.data
    for arch in get_space("nasbench_graph").sample(4, seed=3):
        with torch.no_grad():
            mixed = net.forward_mixed(d.x, d.edge_index, *_peaked(trainer, arch))
            path = net(d.x, d.edge_index, arch)
        torch.testing.assert_close(mixed, path, rtol=1e-4, atol=1e-4)


def test_darts_steps_move_weights_and_architecture_and_restore_exactly(cora):
    trainer = _trainer(cora, strategy="darts", arch_lr=3e-3)
    assert isinstance(trainer, DARTSTrainer) and len(trainer.arch_parameters()) == 5
    before = [p.detach().clone() for p in trainer.arch_parameters()]
    w0 = trainer.supernet.cell_out.weight.detach().clone()
    losses = trainer.train(3)
    assert all(np.isfinite(losses))
    assert all(not torch.equal(a, p) for a, p in zip(before, trainer.arch_parameters()))
    assert not torch.equal(w0, trainer.supernet.cell_out.weight)
    state = trainer.state_dict()
    other = _trainer(cora, strategy="darts", arch_lr=3e-3)
    other.load_state_dict(state)
    assert trainer.train(2) == other.train(2)  # same next steps, bit for bit
    archs = get_space("nasbench_graph").sample(6, seed=0)
    np.testing.assert_array_equal(trainer.rank(archs), other.rank(archs))
    assert trainer.rank(archs).max() <= 0  # log-probabilities
    derived = trainer.derive()
    assert trainer.arch_log_prob(derived) >= trainer.rank(archs).max()
    with pytest.raises(ValueError, match="relaxed cell"):
        trainer.step(archs[0])
    with pytest.raises(ValueError, match="strategy"):
        _trainer(cora, strategy="gdas")


def test_seeded_code_never_reseeds_the_gpus(monkeypatch):
    # torch.manual_seed would also reseed every GPU (lazily without CUDA): our seeding must not
    import torch

    from nas_meta_tune._device import seeded_rng
    from nas_meta_tune.oneshot import NB201Supernet, build_nb201_supernet, load_digits

    calls = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", lambda s: calls.append(s))
    before = torch.random.get_rng_state()
    with seeded_rng(3):
        a = torch.rand(2)
    with seeded_rng(3):
        assert torch.equal(torch.rand(2), a)
    assert torch.equal(torch.random.get_rng_state(), before)
    NB201Supernet(C=2, N=1, seed=5)
    train, valid = load_digits()
    trainer = build_nb201_supernet(train, valid, C=2, N=1, batch_size=8, device="cpu", seed=0)
    trainer.step()
    assert calls == []


def test_checkpoint_carries_its_seed_and_loading_copies(cora):
    import copy

    a, b, c = _trainer(cora, seed=3), _trainer(cora, seed=3), _trainer(cora, seed=3)
    a.train(2)
    state = a.state_dict()
    snapshot = copy.deepcopy(state)
    b.load_state_dict(state)
    c.load_state_dict(state)
    expected = b.train(2)
    assert expected == c.train(2)  # one checkpoint, one random stream, no shared buffers
    for k, v in snapshot["optimizer"]["state"].items():
        for name, t in v.items():
            if isinstance(t, torch.Tensor):
                assert torch.equal(state["optimizer"]["state"][k][name], t), name
    # one checkpoint rule for every supernet: the seed is part of the state and is restored, so
    # a trainer built with another seed continues exactly as the saved one would have
    other = _trainer(cora, seed=4)
    other.load_state_dict(state)
    assert other.seed == 3 and other.train(2) == expected
