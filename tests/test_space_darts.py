"""Tests of the DARTS / NAS-Bench-301 search space (nas_meta_tune.spaces.darts)."""

from __future__ import annotations

import ast
import collections
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nas_meta_tune.exceptions import DataNotFoundError, InvalidArchitectureError, SpaceMismatchError
from nas_meta_tune.spaces import Architecture, get_space
from nas_meta_tune.spaces.darts import DARTS_OPS, NB301_OPS, DARTSSpace, Genotype

VARIANTS = ("darts", "nb301")
NODES = (2, 3, 4, 5)

DARTS_V2_NORMAL = [
    ("sep_conv_3x3", 0),
    ("sep_conv_3x3", 1),
    ("sep_conv_3x3", 0),
    ("sep_conv_3x3", 1),
    ("sep_conv_3x3", 1),
    ("skip_connect", 0),
    ("skip_connect", 0),
    ("dil_conv_3x3", 2),
]
DARTS_V2_REDUCE = [
    ("max_pool_3x3", 0),
    ("max_pool_3x3", 1),
    ("skip_connect", 2),
    ("max_pool_3x3", 1),
    ("max_pool_3x3", 0),
    ("skip_connect", 2),
    ("skip_connect", 2),
    ("max_pool_3x3", 1),
]
# as printed by the DARTS code base (genotypes.py, DARTS_V2)
DARTS_V2 = (
    f"Genotype(normal={DARTS_V2_NORMAL!r}, normal_concat=[2, 3, 4, 5], "
    f"reduce={DARTS_V2_REDUCE!r}, reduce_concat=[2, 3, 4, 5])"
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _node_sorted(cell):
    return tuple(p for k in range(4) for p in sorted(cell[2 * k : 2 * k + 2], key=lambda p: p[1]))


@pytest.fixture(params=VARIANTS)
def space(request) -> DARTSSpace:
    return get_space(request.param)


# ----------------------------------------------------------------- structure
def test_variants_and_registry():
    darts, nb301 = get_space("darts"), get_space("nb301")
    assert isinstance(darts, DARTSSpace) and isinstance(nb301, DARTSSpace)
    assert (darts.name, nb301.name) == ("darts", "nb301")
    assert darts.ops == DARTS_OPS and len(darts.ops) == 8
    assert nb301.ops == NB301_OPS and len(nb301.ops) == 7 and "none" not in nb301.ops
    assert darts.unified_ops["skip_connect"] == "skip" and darts.unified_ops["none"] == "none"
    assert "none" not in nb301.unified_ops
    assert nb301.local_ops == (
        "input",
        "output",
        "max_pool_3x3",
        "avg_pool_3x3",
        "skip",
        "sep_conv_3x3",
        "sep_conv_5x5",
        "dil_conv_3x3",
        "dil_conv_5x5",
    )
    assert DARTSSpace() == darts
    with pytest.raises(ValueError, match="variant"):
        DARTSSpace(variant="nb201")
    assert not darts.is_enumerable
    with pytest.raises(TypeError):
        darts.enumerate()


def test_params_structure(space):
    params = space.params
    assert len(params) == 2 * (2 + 3 + 3 + 4 + 5)
    seen = set()
    for p in params:
        if p.parent is not None:
            assert p.parent in seen, f"{p.name} comes before its parent {p.parent}"
        seen.add(p.name)
    by_name = {p.name: p for p in params}
    for c in ("normal", "reduce"):
        assert by_name[f"{c}_edge_0_2"].parent is None and by_name[f"{c}_edge_1_2"].parent is None
        assert by_name[f"{c}_inputs_node_3"].choices == ("0_1", "0_2", "1_2")
        assert len(by_name[f"{c}_inputs_node_4"].choices) == 6
        assert len(by_name[f"{c}_inputs_node_5"].choices) == 10
        e = by_name[f"{c}_edge_3_5"]
        assert e.parent == f"{c}_inputs_node_5" and e.parent_values == ("0_3", "1_3", "2_3", "3_4")
        assert e.choices == space.ops


# ---------------------------------------------------------------- round trips
def test_round_trips(space):
    archs = space.sample(300, seed=0)
    for a in archs:
        assert space.validate(a) is a
        assert space.to_arch(a.to_config()) == a
        assert space.from_string(a.to_string()) == a
        assert space.from_params(a.to_params()) == a
        # numpy scalar types, as some frameworks hand back
        np_params = {k: np.str_(v) for k, v in a.to_params().items()}
        assert space.from_params(np_params) == a
        g = space.to_genotype(a)
        assert repr(g) == a.to_string()
        assert space.from_genotype(g.normal, g.reduce) == a
        assert space.from_genotype(g) == a
        # the spec is in canonical (node-sorted) form
        for cell in a.spec:
            assert cell == _node_sorted(cell)
    assert pickle.loads(pickle.dumps(archs[0])) == archs[0]
    # extra keys (a jointly tuned learning rate) and inactive parameters are ignored
    params = archs[1].to_params() | {"lr": 0.1, "normal_edge_4_5": space.ops[0]}
    if archs[1].to_params()["normal_inputs_node_5"] not in ("0_4", "1_4", "2_4", "3_4"):
        assert space.from_params(params) == archs[1]


def test_sampling_is_seeded_and_spreads(space):
    a = space.sample(50, seed=3)
    assert a == space.sample(50, seed=3)
    assert a != space.sample(50, seed=4)
    assert len({x.key for x in space.sample(200, seed=5, unique=True)}) == 200
    # every input pair of node 5 is drawn
    pairs = collections.Counter(
        x.to_params()["reduce_inputs_node_5"] for x in space.sample(500, seed=6)
    )
    assert len(pairs) == 10


# --------------------------------------------------------------- official string
def test_darts_v2_string(space):
    arch = space.from_string(DARTS_V2)
    normal, reduce = arch.spec
    assert normal == _node_sorted(DARTS_V2_NORMAL)
    assert normal[4:6] == (("skip_connect", 0), ("sep_conv_3x3", 1))  # node 4, sorted by input
    assert reduce == _node_sorted(DARTS_V2_REDUCE)
    assert arch == space.from_genotype(DARTS_V2_NORMAL, DARTS_V2_REDUCE)
    assert arch.to_params()["normal_inputs_node_5"] == "0_2"
    assert arch.to_params()["normal_edge_2_5"] == "dil_conv_3x3"
    # our string lists each node's pairs by input; it parses back to the same architecture
    assert space.from_string(arch.to_string()) == arch
    assert arch.to_string().startswith("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1),")
    # range(2, 6) as the DARTS search code prints it, other spacing, double quotes
    variant = DARTS_V2.replace("[2, 3, 4, 5]", "range(2, 6)").replace("'", '"').replace(", ", ",")
    assert space.from_string("  " + variant + "\n") == arch
    # the genotype of a DARTS checkout (namedtuple with range concat) is accepted as is
    DartsGenotype = collections.namedtuple("Genotype", "normal normal_concat reduce reduce_concat")
    g = DartsGenotype(DARTS_V2_NORMAL, range(2, 6), DARTS_V2_REDUCE, range(2, 6))
    assert space.from_genotype(g) == arch
    assert space.to_genotype(arch) == Genotype(
        list(normal), [2, 3, 4, 5], list(reduce), [2, 3, 4, 5]
    )


def test_either_pair_order(space):
    swapped = [p for k in range(4) for p in reversed(DARTS_V2_NORMAL[2 * k : 2 * k + 2])]
    s = DARTS_V2.replace(repr(DARTS_V2_NORMAL), repr(swapped))
    assert s != DARTS_V2
    assert space.from_string(s) == space.from_string(DARTS_V2)


_BAD_STRINGS = [
    "",
    "Genotype()",
    "DARTS_V2",
    DARTS_V2.replace("sep_conv_3x3", "conv_3x3", 1),  # unknown op
    DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"),  # input out of range for node 5
    DARTS_V2.replace("('sep_conv_3x3', 1)", "('sep_conv_3x3', 2)", 1),  # node 2 reads node 2
    DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 0)"),  # node 5 reads 0 twice
    DARTS_V2.replace(", ('dil_conv_3x3', 2)]", "]"),  # 7 pairs
    DARTS_V2.replace(
        "('dil_conv_3x3', 2)]", "('dil_conv_3x3', 2), ('sep_conv_3x3', 3)]"
    ),  # 9 pairs
    DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3, 4, 5, 6]"),
    DARTS_V2.replace("reduce_concat=[2, 3, 4, 5]", "reduce_concat=[4, 5]"),
    DARTS_V2.replace("reduce_concat=[2, 3, 4, 5]", "reduce_concat=range(2, 10**9)"),
    DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[5, 4, 3, 2]"),
    DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', -1)"),
    DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 2.0)"),
    DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', __import__('os'))"),
    DARTS_V2 + " trailing",
    DARTS_V2.replace("Genotype(", "Genotype(((((((((((((((((((((((((((", 1),
    "Genotype(normal=" + "(" * 10_000,
    "Genotype(normal=[" + " " * 200_000,  # must fail fast (no regex backtracking blow-up)
    DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', " + "9" * 5000 + ")"),
    DARTS_V2.replace("[2, 3, 4, 5]", "range(2, " + "9" * 5000 + ")"),
    DARTS_V2.replace("[2, 3, 4, 5]", "[2, 3, 4, " + "9" * 5000 + "]"),
]


@pytest.mark.parametrize("s", _BAD_STRINGS)
def test_malformed_strings_raise(s):
    with pytest.raises(InvalidArchitectureError):
        get_space("darts").from_string(s)


def test_nb301_rejects_none():
    darts, nb301 = get_space("darts"), get_space("nb301")
    s = DARTS_V2.replace("('sep_conv_3x3', 0)", "('none', 0)", 1)
    assert darts.from_string(s).spec[0][0] == ("none", 0)
    with pytest.raises(InvalidArchitectureError, match="none"):
        nb301.from_string(s)
    with pytest.raises(InvalidArchitectureError, match="none"):
        nb301.from_genotype([("none", 0)] + DARTS_V2_NORMAL[1:], DARTS_V2_REDUCE)
    params = nb301.from_string(DARTS_V2).to_params() | {"reduce_edge_0_2": "none"}
    with pytest.raises(InvalidArchitectureError, match="none"):
        nb301.from_params(params)
    with pytest.raises(InvalidArchitectureError, match="none"):
        darts.to_naslib(darts.from_string(s))
    assert all(op != "none" for a in nb301.sample(200, seed=1) for cell in a.spec for op, _ in cell)


@pytest.mark.parametrize(
    "normal",
    [
        DARTS_V2_NORMAL[:7],
        "sep_conv_3x3",
        None,
        [("sep_conv_3x3", True)] + DARTS_V2_NORMAL[1:],
        [("sep_conv_3x3", "0")] + DARTS_V2_NORMAL[1:],
        [("sep_conv_3x3",)] + DARTS_V2_NORMAL[1:],
        [("sep_conv_3x3", 0, 1)] + DARTS_V2_NORMAL[1:],
        [(0, "sep_conv_3x3")] + DARTS_V2_NORMAL[1:],
        [("sep_conv_3x3", 1)] + DARTS_V2_NORMAL[1:],  # node 2 reads 1 twice
    ],
)
def test_from_genotype_rejects(normal):
    with pytest.raises(InvalidArchitectureError):
        get_space("darts").from_genotype(normal, DARTS_V2_REDUCE)


def test_from_genotype_numpy_and_bad_concat():
    space = get_space("nb301")
    np_normal = [(np.str_(op), np.int64(i)) for op, i in DARTS_V2_NORMAL]
    assert space.from_genotype(np_normal, DARTS_V2_REDUCE) == space.from_string(DARTS_V2)
    bad = Genotype(DARTS_V2_NORMAL, [2, 3, 4, 5], DARTS_V2_REDUCE, [4, 5, 6])
    with pytest.raises(InvalidArchitectureError, match="reduce_concat"):
        space.from_genotype(bad)
    with pytest.raises(InvalidArchitectureError):
        space.from_genotype(DARTS_V2_NORMAL)


# ------------------------------------------------------------------------ key
def _relabel(cell, new_label):
    """Cell with intermediate node n renamed new_label[n] (inputs 0, 1 fixed)."""
    label = {0: 0, 1: 1} | new_label
    nodes = {
        label[n]: [(op, label[s]) for op, s in cell[2 * k : 2 * k + 2]] for k, n in enumerate(NODES)
    }
    return [p for n in NODES for p in nodes[n]]


def _random_topological_relabel(cell, rng):
    deps = {n: {s for _, s in cell[2 * k : 2 * k + 2] if s >= 2} for k, n in enumerate(NODES)}
    order: list[int] = []
    while len(order) < 4:
        ready = [n for n in NODES if n not in order and deps[n] <= set(order)]
        order.append(ready[int(rng.integers(len(ready)))])
    return _relabel(cell, {old: 2 + pos for pos, old in enumerate(order)})


def test_key_invariant_to_node_relabelling():
    space = get_space("darts")
    # nodes 3 and 4 are independent, so swapping their labels is a valid relabelling
    normal = [
        ("sep_conv_3x3", 0),
        ("sep_conv_5x5", 1),
        ("skip_connect", 0),
        ("dil_conv_3x3", 2),
        ("max_pool_3x3", 1),
        ("avg_pool_3x3", 2),
        ("sep_conv_5x5", 3),
        ("dil_conv_5x5", 4),
    ]
    swapped = _relabel(normal, {2: 2, 3: 4, 4: 3, 5: 5})
    assert swapped[2:4] == [("max_pool_3x3", 1), ("avg_pool_3x3", 2)]
    a = space.from_genotype(normal, DARTS_V2_REDUCE)
    b = space.from_genotype(swapped, DARTS_V2_REDUCE)
    assert a != b and a.key == b.key
    # relabelling the reduce cell too, and swapping the cells, is a different architecture
    c = space.from_genotype(swapped, _relabel(DARTS_V2_REDUCE, {2: 2, 3: 3, 4: 4, 5: 5}))
    assert c.key == a.key
    assert space.from_genotype(DARTS_V2_REDUCE, normal).key != a.key


def test_key_invariant_random_relabellings(space):
    rng = np.random.default_rng(0)
    moved = 0
    for a in space.sample(300, seed=1):
        normal = _random_topological_relabel(a.spec[0], rng)
        reduce = _random_topological_relabel(a.spec[1], rng)
        b = space.from_genotype(normal, reduce)
        moved += b != a
        assert b.key == a.key
    assert moved > 50


def test_key_pair_order_and_distinctness(space):
    a = space.from_genotype(DARTS_V2_NORMAL, DARTS_V2_REDUCE)
    rev = [p for k in range(4) for p in reversed(DARTS_V2_REDUCE[2 * k : 2 * k + 2])]
    assert space.from_genotype(DARTS_V2_NORMAL, rev).key == a.key
    assert "||" in a.key and a.key.count("||") == 1
    normal_key = a.key.split("||")[0]
    assert normal_key.count(",") == 3  # one term list per intermediate node
    assert "sep_conv_3x3(c0)+sep_conv_3x3(c1)" in normal_key
    # different operations or wiring give different keys
    keys = {x.key for x in space.sample(500, seed=2)}
    assert len(keys) == 500


def _reference_graph(cell):
    """The cell as a networkx DAG for an independent isomorphism check: ``none`` edges dropped,
    every zero node (both terms ``none``) read as one shared source ``z``."""
    import networkx as nx

    terms = {
        n: [(op, s) for op, s in cell[2 * k : 2 * k + 2] if op != "none"]
        for k, n in enumerate(NODES)
    }
    zero = {n for n in NODES if not terms[n]}
    g = nx.MultiDiGraph()
    g.add_node("c0", kind="c0")
    g.add_node("c1", kind="c1")
    g.add_node("z", kind="zero source")
    for n in NODES:
        g.add_node(n, kind="zero" if n in zero else "node")
        for op, s in terms[n]:
            src = "c0" if s == 0 else "c1" if s == 1 else "z" if s in zero else s
            g.add_edge(src, n, op=op)
    return g


@pytest.mark.parametrize("ops", [("sep_conv_3x3", "max_pool_3x3"), ("none", "skip_connect")])
def test_keys_partition_cells_exactly_into_isomorphism_classes(ops):
    """Cells over two operations collide often; a key is shared iff the DAGs are isomorphic
    (networkx's matcher as the reference), so it neither merges nor splits classes."""
    import networkx as nx
    from networkx.algorithms.isomorphism import categorical_multiedge_match, categorical_node_match

    space = get_space("darts")
    rng = np.random.default_rng(3)
    cells = []
    for _ in range(400):
        cell = []
        for n in NODES:
            a, b = rng.choice(n, size=2, replace=False)
            cell += sorted(
                [(str(rng.choice(ops)), int(a)), (str(rng.choice(ops)), int(b))], key=lambda p: p[1]
            )
        cells.append(tuple(cell))
    keys = [space.from_genotype(list(c), DARTS_V2_REDUCE).key.split("||")[0] for c in cells]
    graphs = [_reference_graph(c) for c in cells]

    def invariant(g):  # equal for isomorphic graphs
        kind = nx.get_node_attributes(g, "kind")
        return sorted((kind[u], kind[v], d["op"], g.in_degree(u)) for u, v, d in g.edges(data=True))

    hashes = [invariant(g) for g in graphs]
    match = {
        "node_match": categorical_node_match("kind", None),
        "edge_match": categorical_multiedge_match("op", None),
    }
    shared = distinct = 0
    for i in range(len(cells)):
        for j in range(i + 1, len(cells)):
            if hashes[i] != hashes[j] and keys[i] != keys[j]:
                continue  # not isomorphic (their invariants differ), keys differ
            iso = nx.is_isomorphic(graphs[i], graphs[j], **match)
            assert (keys[i] == keys[j]) == iso, (cells[i], cells[j])
            shared += iso
            distinct += not iso
    assert (
        shared >= 3 and distinct >= 20
    )  # it saw isomorphic twins and look-alikes (5 / 341 and more)


def test_key_tells_shared_inputs_apart():
    """Nodes 2 and 3 compute the same thing; nodes 4 and 5 both reading node 2 is not the cell
    where they read node 2 and node 3 (an expression tree would merge them)."""
    space = get_space("nb301")
    head = [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1)]
    both_2 = head + [
        ("max_pool_3x3", 0),
        ("skip_connect", 2),
        ("max_pool_3x3", 0),
        ("skip_connect", 2),
    ]
    two_three = head + [
        ("max_pool_3x3", 0),
        ("skip_connect", 2),
        ("max_pool_3x3", 0),
        ("skip_connect", 3),
    ]
    three_three = head + [
        ("max_pool_3x3", 0),
        ("skip_connect", 3),
        ("max_pool_3x3", 0),
        ("skip_connect", 3),
    ]
    k = [space.from_genotype(c, DARTS_V2_REDUCE).key for c in (both_2, two_three, three_three)]
    assert k[0] != k[1] and k[0] == k[2]


def test_key_none_terms_are_zero():
    space = get_space("darts")
    base = list(DARTS_V2_NORMAL)
    # node 3 = sep(c0) + none(c1) equals sep(c0) + none(node 2): the zero term is dropped
    x = base[:2] + [("sep_conv_3x3", 0), ("none", 1)] + base[4:]
    y = base[:2] + [("sep_conv_3x3", 0), ("none", 2)] + base[4:]
    ax, ay = space.from_genotype(x, DARTS_V2_REDUCE), space.from_genotype(y, DARTS_V2_REDUCE)
    assert ax != ay and ax.key == ay.key
    assert "sep_conv_3x3(c0)," in ax.key or ax.key.startswith("sep_conv_3x3(c0),")
    # a node whose two terms are none is the zero node "0"; ops applied to it are kept
    z = [("none", 0), ("none", 1)] + base[2:]
    key = space.from_genotype(z, DARTS_V2_REDUCE).key
    assert ",0," in "," + key.split("||")[0] + "," and "dil_conv_3x3(0)" in key
    # none is not the same as a real op
    w = base[:2] + [("sep_conv_3x3", 0), ("max_pool_3x3", 1)] + base[4:]
    assert space.from_genotype(w, DARTS_V2_REDUCE).key != ax.key


# ----------------------------------------------------------------- NASLib
def _naslib_nb301_rows() -> list[str]:
    try:
        import pandas as pd

        from nas_meta_tune.benchmarks._data import resolve_data_file

        path = resolve_data_file("naslib_zc_transnas/naslib_zc_subsets.parquet")
    except (ImportError, DataNotFoundError) as e:
        pytest.skip(
            f"NASLib zero-cost table (naslib_zc_transnas/naslib_zc_subsets.parquet) not available: {e}"
        )
    df = pd.read_parquet(path, columns=["search_space", "arch"])
    return list(df.loc[df["search_space"] == "nasbench301", "arch"])


def test_naslib_rows_all_parse():
    rows = _naslib_nb301_rows()
    assert len(rows) == 725
    space = get_space("nb301")
    archs = [space.from_naslib(r) for r in rows]
    assert len(set(archs)) == 725 and len({a.key for a in archs}) == 725
    for row, arch in zip(rows[:100], archs[:100], strict=True):
        compact = ast.literal_eval(row)
        assert space.from_naslib(compact) == arch
        back = space.to_naslib(arch)
        for cell, out in zip(compact, back, strict=True):
            for k in range(4):  # the same pairs per node, ours sorted by input
                assert sorted(map(tuple, cell[2 * k : 2 * k + 2])) == list(out[2 * k : 2 * k + 2])
        assert space.from_naslib(back) == arch
        space.validate(arch)
    # first row, decoded by hand: node 2 of the normal cell is max_pool_3x3(c0) + dil_conv_3x3(c1)
    first = ast.literal_eval(rows[0])
    if tuple(first[0][0]) == (0, 0) and tuple(first[0][1]) == (1, 5):
        assert archs[0].spec[0][:2] == (("max_pool_3x3", 0), ("dil_conv_3x3", 1))


def test_naslib_codes():
    space = get_space("nb301")
    compact = (
        ((0, 3), (1, 3), (0, 3), (1, 3), (1, 3), (0, 2), (0, 2), (2, 5)),
        ((0, 0), (1, 0), (2, 2), (1, 0), (0, 0), (2, 2), (2, 2), (1, 0)),
    )
    assert space.from_naslib(compact) == space.from_string(DARTS_V2)
    assert space.from_naslib(str(compact)) == space.from_string(DARTS_V2)
    assert space.from_naslib(np.asarray(compact)) == space.from_string(DARTS_V2)
    # to_naslib lists each node's pairs by input: node 4 of the normal cell, and nodes 3, 4 of
    # the reduce cell, come out swapped
    assert space.to_naslib(space.from_string(DARTS_V2)) == (
        ((0, 3), (1, 3), (0, 3), (1, 3), (0, 2), (1, 3), (0, 2), (2, 5)),
        ((0, 0), (1, 0), (1, 0), (2, 2), (0, 0), (2, 2), (1, 0), (2, 2)),
    )
    assert (
        get_space("darts").from_naslib(compact).to_string()
        == space.from_naslib(compact).to_string()
    )


@pytest.mark.parametrize(
    "compact",
    [
        "",
        "[[(0, 7)]]",
        "((0, 3),) * 8",
        "__import__('os')",
        [[(0, 3)] * 8],
        [[(0, 3), (1, 3)] * 4, [(0, 7), (1, 3)] * 4],  # op code out of range
        [[(0, 3), (1, 3)] * 4, [(0, True), (1, 3)] * 4],
        [[(0, 3), (0, 3)] * 4, [(0, 3), (1, 3)] * 4],  # same input twice
        [[(0, 3), (1, 3)] * 4, [(0, 3), (1, 3, 4)] * 4],
        "[[(0, 3), (1, 3)] * 4]",
        "(" * 5000,
        "[[(0, " + "9" * 5000 + ")]]",
        None,
        42,
    ],
)
def test_naslib_malformed(compact):
    with pytest.raises(InvalidArchitectureError):
        get_space("nb301").from_naslib(compact)


# ----------------------------------------------------------------- ConfigSpace
def test_configspace(space):
    cs = space.configspace
    assert len(list(cs.values())) == 34
    assert len(cs.conditions) == 24
    for config in cs.sample_configuration(100):
        arch = space.to_arch(config)
        space.validate(arch)
        assert space.to_config(arch) == config
    with pytest.raises(SpaceMismatchError):
        space.to_arch({"edge_0_1": "none"})


# ----------------------------------------------------------------------- graph
def test_graph_darts_v2(space):
    arch = space.from_string(DARTS_V2)
    g = arch.to_graph()
    assert g.num_nodes == space.max_nodes == 20
    assert g.ops[:2] == ("input", "input") and g.ops[10] == "output" and g.ops[19] == "output"
    # node 4 is listed by input: skip_connect(0) before sep_conv_3x3(1)
    assert g.ops[2:10] == ("sep_conv_3x3",) * 4 + ("skip", "sep_conv_3x3", "skip", "dil_conv_3x3")
    assert all(s < d for s, d in g.edges)
    edges = set(g.edges)
    # normal cell: inputs feed the op nodes reading them
    assert {(0, 2), (1, 3), (0, 4), (1, 5), (0, 6), (1, 7), (0, 8)} <= edges
    # node 5's dil_conv_3x3 (op node 9) reads node 2, i.e. op nodes 2 and 3
    assert {(2, 9), (3, 9)} <= edges
    # every op node feeds its cell's output; the reduce cell reads the normal cell's output
    assert all((i, 10) in edges for i in range(2, 10))
    assert all((i, 19) in edges for i in range(11, 19))
    reduce_inputs = [11 + e for e, (_, src) in enumerate(arch.spec[1]) if src < 2]
    assert all((10, i) in edges for i in reduce_inputs)
    assert not any(s < 10 and d > 10 for s, d in edges)
    adj = g.adjacency()
    assert adj.sum() == len(g.edges)


def test_graphs_and_path_graphs(space):
    for arch in space.sample(50, seed=7):
        g = arch.to_graph()
        assert g.num_nodes == 20
        assert g.ops.count("input") == 2 and g.ops.count("output") == 2
        assert all(s < d for s, d in g.edges)
        # each op node has exactly one predecessor: an input, the normal output, or two op nodes of its source
        indeg = collections.Counter(d for _, d in g.edges)
        for cell_offset in (2, 11):
            for e in range(8):
                assert indeg[cell_offset + e] in (1, 2)
        assert indeg[10] == 8 and indeg[19] == 8
        paths = space._path_graphs(arch.spec)
        assert len(paths) == 2
        for c, pg in enumerate(paths):
            assert (
                pg.num_nodes == 11 and pg.ops[:2] == ("input", "input") and pg.ops[10] == "output"
            )
            assert pg.ops[2:10] == tuple(space.unified_ops[op] for op, _ in arch.spec[c])
        assert paths[0] == type(g)(g.ops[:11], tuple(e for e in g.edges if e[1] <= 10))
        # the longest input -> output path has at most max_path_length op nodes
        for pg in paths:
            longest = [0] * pg.num_nodes
            for s, d in sorted(pg.edges):
                longest[d] = max(longest[d], longest[s] + (pg.ops[s] not in ("input", "output")))
            assert longest[10] <= space.max_path_length


# ------------------------------------------------------------------ neighbours
def test_neighbors(space):
    arch = space.from_string(DARTS_V2)
    nbrs = space.neighbors(arch)
    # 16 edges x (k - 1) other ops + input changes (node 3: 2, node 4: 4, node 5: 6 per cell)
    assert 0 < len(nbrs) <= 16 * (len(space.ops) - 1) + 2 * 12
    keys = {n.key for n in nbrs}
    assert arch.key not in keys
    for n in nbrs:
        space.validate(n)
        changed = sum(
            sorted(a[2 * k : 2 * k + 2]) != sorted(b[2 * k : 2 * k + 2])
            for a, b in zip(arch.spec, n.spec, strict=True)
            for k in range(4)
        )
        assert changed == 1
        diff = {k for k, v in n.to_params().items() if arch.to_params().get(k) != v}
        assert 1 <= len(diff) <= 3  # an op, or an input pair plus the renamed edge(s)
    for a in space.sample(20, seed=8):
        nb = space.neighbors(a)
        assert nb and all(x.key != a.key for x in nb)
        m = space.mutate(a, seed=1)
        assert m == space.mutate(a, seed=1) and m in nb


def test_neighbors_change_inputs():
    space = get_space("nb301")
    arch = space.from_string(DARTS_V2)
    pairs = {n.to_params()["normal_inputs_node_5"] for n in space.neighbors(arch)}
    # node 5 reads (0, 2); moving one input keeps the other: 0_1, 0_3, 0_4, 1_2, 2_3, 2_4.
    # 0_3 is left out: node 3 = sep(c0) + sep(c1) = node 2, and neither is read by another
    # node, so reading node 3 instead of node 2 is an isomorphic architecture (same key).
    assert pairs == {"0_2", "0_1", "0_4", "1_2", "2_3", "2_4"}
    same = space.from_genotype(DARTS_V2_NORMAL[:7] + [("dil_conv_3x3", 3)], DARTS_V2_REDUCE)
    assert same != arch and same.key == arch.key


# ------------------------------------------------------------------------ fuzz
@FUZZ
@given(st.text(max_size=300))
def test_fuzz_from_string_text(s):
    try:
        arch = get_space("darts").from_string(s)
    except InvalidArchitectureError:
        return
    assert isinstance(arch, Architecture)


_ops = st.sampled_from(DARTS_OPS + ("conv", "", "None", "sep_conv_3x3 "))


@st.composite
def _genotype_like(draw):
    def cell():
        n = draw(st.integers(6, 9))
        pairs = [(draw(_ops), draw(st.integers(0, 6))) for _ in range(n)]
        return "[" + ", ".join(f"('{op}', {i})" for op, i in pairs) + "]"

    concat = draw(
        st.sampled_from(["[2, 3, 4, 5]", "range(2, 6)", "[2, 3, 4]", "range(0, 6)", "[]"])
    )
    return f"Genotype(normal={cell()}, normal_concat={concat}, reduce={cell()}, reduce_concat=[2, 3, 4, 5])"


@FUZZ
@given(_genotype_like(), st.sampled_from(VARIANTS))
def test_fuzz_from_string_genotypes(s, variant):
    space = get_space(variant)
    try:
        arch = space.from_string(s)
    except InvalidArchitectureError:
        return
    assert space.from_string(arch.to_string()) == arch
    space.validate(arch)


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(DARTS_OPS + ("0_1", "0_2", "1_2", "2_3", "3_4", "0_4")),
    st.lists(st.integers(), max_size=2),
)


@FUZZ
@given(
    st.dictionaries(
        st.one_of(st.sampled_from(get_space("darts").param_names), st.text(max_size=8)),
        _values,
        max_size=40,
    ),
    st.sampled_from(VARIANTS),
)
def test_fuzz_from_params(d, variant):
    space = get_space(variant)
    for f in (space.from_params, space.to_arch):
        try:
            arch = f(d)
        except (InvalidArchitectureError, SpaceMismatchError):
            continue
        space.validate(arch)


@FUZZ
@given(st.sampled_from(VARIANTS), st.integers(0, 2**32 - 1), st.data())
def test_fuzz_from_params_mutated_valid(variant, seed, data):
    """A valid configuration with one value replaced either parses to a valid arch or raises cleanly."""
    space = get_space(variant)
    params = space.sample(1, seed=seed)[0].to_params()
    key = data.draw(st.sampled_from(sorted(params)))
    params[key] = data.draw(_values)
    try:
        arch = space.from_params(params)
    except (InvalidArchitectureError, SpaceMismatchError):
        return
    space.validate(arch)


_naslib_like = st.recursive(
    st.one_of(st.integers(-2, 9), st.booleans(), st.text(max_size=4), st.none()),
    lambda children: st.lists(children, max_size=9) | st.tuples(children, children),
    max_leaves=40,
)


@FUZZ
@given(st.one_of(_naslib_like, _naslib_like.map(str), st.text(max_size=100)))
def test_fuzz_from_naslib(x):
    try:
        arch = get_space("nb301").from_naslib(x)
    except InvalidArchitectureError:
        return
    assert get_space("nb301").from_naslib(arch.space.to_naslib(arch)) == arch
