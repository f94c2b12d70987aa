"""Tests of the NAS-Bench-101 search space."""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nas_meta_tune.exceptions import InvalidArchitectureError, SpaceMismatchError
from nas_meta_tune.spaces import VOCABULARY, get_space
from nas_meta_tune.spaces.nb101 import MAX_EDGES, MAX_VERTICES, NB101_OPS, NB101Space

C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
IN, OUT = "input", "output"

# The first cell of the NAS-Bench-101 tables and its published hash: NNI's NAS-Bench-101 example
# (microsoft/nni docs/en_US/NAS/BenchmarksExample.ipynb, which prints 'hash' next to the cell as
# input lists), and tests/docs of other projects that read the cell back from the hash.
FIRST_CELL_MATRIX = [
    [0, 1, 0, 0, 1, 1, 0],
    [0, 0, 1, 0, 0, 0, 0],
    [0, 0, 0, 1, 0, 0, 1],
    [0, 0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 0],
]
FIRST_CELL_OPS = [IN, C3, MP, C3, C3, C1, OUT]
FIRST_CELL_HASH = "00005c142e6f48ac74fdcf73e3439874"

# The Inception-like cell of the nasbench README, and the isomorphic form the benchmark returned for
# it from ``nasbench.query`` (``module_adjacency`` / ``module_operations``): same hash.
README_MATRIX = [
    [0, 1, 1, 1, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 1, 0, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 0],
]
README_OPS = [IN, C1, C3, C3, C3, MP, OUT]
README_STORED_MATRIX = [
    [0, 1, 1, 1, 1, 0, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 0],
]
README_STORED_OPS = [IN, C3, C1, MP, C3, C3, OUT]


@pytest.fixture(scope="module")
def space() -> NB101Space:
    return get_space("nb101")


@pytest.fixture(scope="module")
def samples(space: NB101Space) -> list:
    return space.sample(300, seed=0)


def _permuted(matrix, ops, order):
    """The cell whose vertex ``i`` is vertex ``order[i]`` of the given one."""
    return [[matrix[a][b] for b in order] for a in order], [ops[a] for a in order]


def _topological_orders(matrix):
    """Vertex orders that keep input first, output last and the matrix upper triangular."""
    n = len(matrix)
    for mid in itertools.permutations(range(1, n - 1)):
        order = (0, *mid, n - 1)
        pos = {v: i for i, v in enumerate(order)}
        if all(pos[v] < pos[w] for v in range(n) for w in range(n) if matrix[v][w]):
            yield order


def _on_io_path(matrix):
    """Reference: vertices on an input->output path, by transitive closure."""
    m = np.asarray(matrix, dtype=np.int64)
    n = len(m)
    reach = np.eye(n, dtype=np.int64)
    for _ in range(n):
        reach = np.minimum(1, reach + reach @ m)
    return [v for v in range(n) if reach[0, v] and reach[v, n - 1]]


# --------------------------------------------------------------------------- basics
def test_registry_and_attributes(space: NB101Space) -> None:
    assert isinstance(space, NB101Space)
    assert space.name == "nb101"
    assert space.ops == NB101_OPS == (C3, C1, MP)
    assert dict(space.unified_ops) == {C3: "conv3x3", C1: "conv1x1", MP: "max_pool_3x3"}
    assert set(space.local_ops) <= set(VOCABULARY)
    assert space.max_nodes == MAX_VERTICES == 7
    assert space.max_path_length == 5
    assert MAX_EDGES == 9
    assert not space.is_enumerable
    with pytest.raises(TypeError, match="too large to enumerate"):
        space.enumerate()


def test_params_layout(space: NB101Space) -> None:
    names = space.param_names
    edges_in = [f"edge_{i}_{j}" for j in range(1, 6) for i in range(j)]
    edges_out = [f"edge_{i}_out" for i in range(6)]
    assert names == ("num_intermediate", *[f"op_{k}" for k in range(1, 6)], *edges_in, *edges_out)
    seen: set[str] = set()
    for p in space.params:
        assert p.parent is None or p.parent in seen  # parents before children
        seen.add(p.name)
    by_name = {p.name: p for p in space.params}
    assert by_name["num_intermediate"].choices == (0, 1, 2, 3, 4, 5)
    assert by_name["num_intermediate"].parent is None
    assert by_name["edge_0_out"].parent is None
    for k in range(1, 6):
        assert by_name[f"op_{k}"].choices == NB101_OPS
        assert by_name[f"op_{k}"].parent_values == tuple(range(k, 6))
    for j in range(1, 6):
        for i in range(j):
            p = by_name[f"edge_{i}_{j}"]
            assert (p.choices, p.parent, p.parent_values) == (
                (0, 1),
                "num_intermediate",
                tuple(range(j, 6)),
            )
    for i in range(1, 6):
        p = by_name[f"edge_{i}_out"]
        assert (p.choices, p.parent, p.parent_values) == (
            (0, 1),
            "num_intermediate",
            tuple(range(i, 6)),
        )


def test_configspace_has_the_conditions(space: NB101Space) -> None:
    cs = space.configspace
    assert set(cs.keys()) == set(space.param_names)
    conds = {c.child.name: c for c in cs.conditions}
    for p in space.params:
        if p.parent is None:
            assert p.name not in conds
            continue
        c = conds[p.name]
        assert c.parent.name == "num_intermediate"
        values = c.values if hasattr(c, "values") else [c.value]
        assert sorted(int(v) for v in values) == list(p.parent_values)


# --------------------------------------------------------------------------- key
def test_key_is_the_official_hash() -> None:
    space = get_space("nb101")
    arch = space.from_matrix(FIRST_CELL_MATRIX, FIRST_CELL_OPS)
    assert arch.key == FIRST_CELL_HASH
    assert space.from_matrix(
        np.asarray(FIRST_CELL_MATRIX, dtype=bool), np.asarray(FIRST_CELL_OPS)
    ).key == (FIRST_CELL_HASH)


def test_key_of_readme_cell_equals_key_of_its_stored_form(space: NB101Space) -> None:
    a = space.from_matrix(README_MATRIX, README_OPS)
    b = space.from_matrix(README_STORED_MATRIX, README_STORED_OPS)
    assert a != b
    assert a.key == b.key


def test_key_changes_with_the_cell(space: NB101Space) -> None:
    base = space.from_matrix(FIRST_CELL_MATRIX, FIRST_CELL_OPS)
    other_op = space.from_matrix(FIRST_CELL_MATRIX, [IN, C1, MP, C3, C3, C1, OUT])
    m = [row[:] for row in FIRST_CELL_MATRIX]
    m[0][5] = 0
    other_edge = space.from_matrix(m, FIRST_CELL_OPS)
    assert len({base.key, other_op.key, other_edge.key}) == 3


def test_key_is_invariant_under_vertex_permutations(space: NB101Space, samples: list) -> None:
    checked = 0
    for arch in [space.from_matrix(FIRST_CELL_MATRIX, FIRST_CELL_OPS), *samples[:100]]:
        matrix, ops = space.to_matrix(arch)
        matrix = matrix.tolist()
        for order in _topological_orders(matrix):
            pm, pops = _permuted(matrix, ops, order)
            other = space.from_matrix(pm, pops)
            assert other.key == arch.key
            checked += other != arch
    assert checked > 30  # enough genuinely different writings were compared


def _canonical_form(spec):
    """Reference isomorphism class: the smallest relabelling over all vertex orders."""
    matrix, ops = spec
    n = len(ops)
    best = None
    for mid in itertools.permutations(range(1, n - 1)):
        p = (0, *mid, n - 1)
        form = (tuple(ops[a] for a in p), tuple(matrix[a][b] for a in p for b in p))
        best = form if best is None or form < best else best
    return best


def test_keys_partition_cells_exactly_into_isomorphism_classes(space: NB101Space) -> None:
    archs = set(space.sample(600, seed=5))
    classes_of_key: dict[str, set] = {}
    keys_of_class: dict[tuple, set] = {}
    for arch in archs:
        form = _canonical_form(arch.spec)
        classes_of_key.setdefault(arch.key, set()).add(form)
        keys_of_class.setdefault(form, set()).add(arch.key)
    assert len(keys_of_class) > 200
    assert all(
        len(v) == 1 for v in classes_of_key.values()
    )  # no two non-isomorphic cells share a key
    assert all(len(v) == 1 for v in keys_of_class.values())  # isomorphic cells share their key


# --------------------------------------------------------------------------- round trips
def test_round_trips_on_samples(space: NB101Space, samples: list) -> None:
    for arch in samples:
        assert space.validate(arch) is arch
        assert space.to_arch(arch.to_config()) == arch
        assert space.from_params(arch.to_params()) == arch
        assert space.from_string(arch.to_string()) == arch
        assert space.from_matrix(*space.to_matrix(arch)) == arch
        params = arch.to_params()
        as_str = {k: str(v) for k, v in params.items()}
        as_np = {k: np.int64(v) if isinstance(v, int) else np.str_(v) for k, v in params.items()}
        assert space.from_params(as_str) == arch
        assert space.from_params(as_np) == arch
        assert space.from_params({**params, "lr": 0.1}) == arch  # foreign keys are ignored


def test_to_params_lists_exactly_the_active_parameters(space: NB101Space, samples: list) -> None:
    for arch in samples[:100]:
        params = arch.to_params()
        n = params["num_intermediate"]
        assert n == len(arch.spec[1]) - 2
        assert set(params) == {p.name for p in space._active(params)}


def test_string_form(space: NB101Space) -> None:
    arch = space.from_matrix(FIRST_CELL_MATRIX, FIRST_CELL_OPS)
    s = "0100110,0010000,0001001,0000010,0000010,0000001,0000000|" + ",".join(FIRST_CELL_OPS)
    assert arch.to_string() == s
    assert space.from_string(s) == arch
    assert space.from_string(f"  {s.replace(',', ' , ')}  ") == arch  # spaces are tolerated
    assert space.from_string("01,00|input,output").to_string() == "01,00|input,output"
    docs_example = "0110,0001,0001,0000|input,conv3x3-bn-relu,maxpool3x3,output"
    assert space.from_string(docs_example).to_string() == docs_example


def test_configspace_samples_map_to_valid_archs_or_raise(space: NB101Space) -> None:
    cs = space.configspace
    cs.seed(1)
    valid = exact = 0
    for config in cs.sample_configuration(400):
        try:
            arch = space.to_arch(config)
        except InvalidArchitectureError:
            continue
        valid += 1
        space.validate(arch)
        assert space.to_arch(arch.to_config()) == arch
        if len(arch.spec[1]) == config["num_intermediate"] + 2:  # nothing was pruned
            assert arch.to_config() == config
            exact += 1
    assert valid > 50 and exact > 20


def test_dangling_vertices_are_pruned(space: NB101Space) -> None:
    # vertex 2 gets no input, vertex 3 feeds nothing: both are dropped, vertex 1 stays
    matrix = [
        [0, 1, 0, 1, 0],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
    ]
    arch = space.from_matrix(matrix, [IN, C3, MP, C1, OUT])
    assert arch.spec == (((0, 1, 0), (0, 0, 1), (0, 0, 0)), (IN, C3, OUT))
    assert arch.to_string() == "010,001,000|input,conv3x3-bn-relu,output"
    params = {"num_intermediate": 3, "op_1": C3, "op_2": MP, "op_3": C1, "edge_0_out": 0}
    params |= {f"edge_{i}_{j}": matrix[i][j] for j in (1, 2, 3) for i in range(j)}
    params |= {f"edge_{i}_out": matrix[i][4] for i in range(4)}
    from_config = space.to_arch(params)
    assert from_config == arch
    assert (
        from_config.to_params()["num_intermediate"] == 1
    )  # config -> arch -> config is lossy here


def test_pruning_keeps_the_cell_within_limits_even_if_the_raw_matrix_is_not(
    space: NB101Space,
) -> None:
    # 8 raw vertices, 10 raw edges; the dangling vertices 2 and 3 carry 3 of them
    matrix = np.zeros((8, 8), dtype=np.int64)
    for v, w in [(0, 1), (1, 4), (4, 5), (5, 6), (6, 7), (0, 7), (0, 3), (2, 5), (2, 3), (1, 3)]:
        matrix[v, w] = 1
    ops = [IN, C3, C1, MP, C3, C3, C1, OUT]
    arch = space.from_matrix(matrix, ops)
    assert len(arch.spec[1]) == 6
    assert sum(map(sum, arch.spec[0])) == 6


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(2, 8),
    bits=st.lists(st.integers(0, 1), min_size=28, max_size=28),
    op_idx=st.lists(st.integers(0, 2), min_size=6, max_size=6),
)
def test_from_matrix_agrees_with_a_reference_check(
    n: int, bits: list[int], op_idx: list[int]
) -> None:
    space = get_space("nb101")
    matrix = [[0] * n for _ in range(n)]
    pairs = [(v, w) for v in range(n) for w in range(v + 1, n)]
    for (v, w), b in zip(pairs, bits, strict=False):
        matrix[v][w] = b
    ops = [IN] + [NB101_OPS[i] for i in op_idx[: n - 2]] + [OUT]
    keep = _on_io_path(matrix)
    if not keep:
        expected = None
    else:
        pruned = [[matrix[v][w] for w in keep] for v in keep]
        ok = len(keep) <= MAX_VERTICES and sum(map(sum, pruned)) <= MAX_EDGES
        expected = (tuple(map(tuple, pruned)), tuple(ops[v] for v in keep)) if ok else None
    if expected is None:
        with pytest.raises(InvalidArchitectureError):
            space.from_matrix(matrix, ops)
    else:
        arch = space.from_matrix(matrix, ops)
        assert arch.spec == expected
        assert space.from_string(arch.to_string()) == arch
        assert space.to_arch(arch.to_config()) == arch


# --------------------------------------------------------------------------- invalid input
def _full(n_edges_extra: int = 0):
    """A 7-vertex chain (6 edges) plus the first ``n_edges_extra`` skip edges."""
    m = [[0] * 7 for _ in range(7)]
    for v in range(6):
        m[v][v + 1] = 1
    for v, w in [(0, 2), (0, 3), (0, 4), (0, 5), (0, 6)][:n_edges_extra]:
        m[v][w] = 1
    return m


CHAIN_OPS = [IN, C3, C3, C1, MP, C3, OUT]


@pytest.mark.parametrize(
    ("matrix", "ops", "match"),
    [
        ([[0, 0], [0, 0]], [IN, OUT], "disconnected cell"),
        ([[0, 1, 0], [0, 0, 0], [0, 0, 0]], [IN, C3, OUT], "disconnected cell"),
        (_full(4), CHAIN_OPS, r"10 edges > 9"),
        ([[0] * 8 for _ in range(8)], [IN] + [C3] * 6 + [OUT], "disconnected"),
        (
            [[1 if w == v + 1 else 0 for w in range(8)] for v in range(8)],
            [IN] + [C3] * 6 + [OUT],
            r"8 vertices > 7",
        ),
        (_full(), [IN, C3, "conv5x5", C1, MP, C3, OUT], r"unknown operation 'conv5x5' at vertex 2"),
        (_full(), [IN, C3, "conv3x3", C1, MP, C3, OUT], "unknown operation 'conv3x3'"),
        (_full(), [IN, C3, C3, OUT, MP, C3, OUT], "unknown operation 'output' at vertex 3"),
        (_full(), [C3, C3, C3, C1, MP, C3, OUT], "first operation must be 'input'"),
        (_full(), [IN, C3, C3, C1, MP, C3, C3], "last operation must be 'output'"),
        (_full(), CHAIN_OPS[:-1], "7 vertices but 6 operations"),
        (
            [[0, 1, 0], [0, 0, 1], [0, 1, 0]],
            [IN, C3, OUT],
            r"upper triangular .*edge 2->1 points backwards",
        ),
        (
            [[0, 1, 0], [0, 1, 1], [0, 0, 0]],
            [IN, C3, OUT],
            "upper triangular .*self-loop at vertex 1",
        ),
        ([[0, 2], [0, 0]], [IN, OUT], r"must be 0 or 1, got 2 at \[0\]\[1\]"),
        ([[0, 0.5], [0, 0]], [IN, OUT], "must be 0 or 1"),
        ([[0, "1"], [0, 0]], [IN, OUT], "must be 0 or 1"),
        ([[0, 1, 0], [0, 0]], [IN, C3, OUT], "must be square"),
        ([[0]], [IN], "at least 2 vertices"),
        ([], [], "at least 2 vertices"),
        ("01,00", [IN, OUT], "adjacency matrix"),
        (None, [IN, OUT], "adjacency matrix"),
        ([0, 1], [IN, OUT], "row 0 .* not a sequence"),
        (np.zeros((2, 2, 2)), [IN, OUT], "2-dimensional"),
        ([[0, 1], [0, 0]], "input,output", "sequence of operation names"),
        ([[0, 1], [0, 0]], [IN, 3], "must be a name"),
    ],
)
def test_invalid_cells_raise_with_a_clear_message(
    space: NB101Space, matrix, ops, match: str
) -> None:
    with pytest.raises(InvalidArchitectureError, match=match) as info:
        space.from_matrix(matrix, ops)
    assert info.value.space == "nb101"


def test_limits_are_inclusive(space: NB101Space) -> None:
    arch = space.from_matrix(_full(3), CHAIN_OPS)  # 7 vertices, 9 edges
    assert len(arch.spec[1]) == 7 and sum(map(sum, arch.spec[0])) == 9


@pytest.mark.parametrize(
    ("s", "match"),
    [
        ("", r"expected '<matrix rows>\|<operations>'"),
        ("01,00", r"expected '<matrix rows>\|<operations>'"),
        ("01,00|input,output|x", r"expected '<matrix rows>\|<operations>'"),
        ("01,0a|input,output", "row 1 .* not a string of 0s and 1s"),
        ("01,,00|input,output", "row 1 .* not a string of 0s and 1s"),
        ("012,000,000|input,conv3x3-bn-relu,output", "not a string of 0s and 1s"),
        ("010,00|input,conv3x3-bn-relu,output", "must be square"),
        ("01,00|input", "2 vertices but 1 operations"),
        ("01,00|input,conv3x3-bn-relu,output", "2 vertices but 3 operations"),
        ("00,00|input,output", "disconnected cell"),
        ("010,001,000|input,conv3x3,output", "unknown operation 'conv3x3'"),
        ("010,001,000|input,0,output", "unknown operation '0'"),
        ("00,10|input,output", "upper triangular"),
    ],
)
def test_bad_strings_raise_with_a_clear_message(space: NB101Space, s: str, match: str) -> None:
    with pytest.raises(InvalidArchitectureError, match=match):
        space.from_string(s)


def test_from_string_rejects_non_strings(space: NB101Space) -> None:
    with pytest.raises(InvalidArchitectureError, match="expected a string"):
        space.from_string(b"01,00|input,output")  # type: ignore[arg-type]


def test_invalid_configurations_raise_with_a_clear_message(space: NB101Space) -> None:
    with pytest.raises(InvalidArchitectureError, match="disconnected cell"):
        space.to_arch({"num_intermediate": 0, "edge_0_out": 0})
    assert (
        space.to_arch({"num_intermediate": 0, "edge_0_out": 1}).to_string() == "01,00|input,output"
    )
    dense = {"num_intermediate": 4, "edge_0_out": 1} | {f"op_{k}": C3 for k in range(1, 5)}
    dense |= {f"edge_{i}_{j}": 1 for j in range(1, 5) for i in range(j)}
    dense |= {f"edge_{i}_out": 1 for i in range(1, 5)}
    with pytest.raises(InvalidArchitectureError, match=r"15 edges > 9"):
        space.to_arch(dense)
    with pytest.raises(InvalidArchitectureError, match="op_1='conv5x5' is not allowed"):
        space.to_arch(dense | {"op_1": "conv5x5"})
    with pytest.raises(InvalidArchitectureError, match="missing value for parameter 'edge_0_out'"):
        space.to_arch({"num_intermediate": 0})
    with pytest.raises(InvalidArchitectureError, match="unknown parameter"):
        space.to_arch({"num_intermediate": 0, "edge_0_out": 1, "lr": 0.1})
    with pytest.raises(SpaceMismatchError, match="belong to search space 'nb101'"):
        space.from_params({"layers": 3, "lr": 0.1})
    # NB201's parameter names (edge_0_1, ...) are also NB101 names, so no SpaceMismatchError here
    with pytest.raises(InvalidArchitectureError, match="'num_intermediate'"):
        space.to_arch(get_space("nb201").sample(1, seed=0)[0].to_params())


# --------------------------------------------------------------------------- sampling, neighbours, graphs
def test_sampling_is_valid_and_seeded(space: NB101Space) -> None:
    archs = space.sample(1000, seed=3)
    assert archs == space.sample(1000, seed=3)
    assert archs != space.sample(1000, seed=4)
    for arch in archs:
        matrix, ops = arch.spec
        assert len(ops) <= MAX_VERTICES and sum(map(sum, matrix)) <= MAX_EDGES
        assert _on_io_path(matrix) == list(range(len(ops)))  # already pruned
    assert len({len(a.spec[1]) for a in archs}) >= 5  # cells of many sizes
    unique = space.sample(200, seed=0, unique=True)
    assert len({a.key for a in unique}) == 200


def test_neighbors_are_valid_and_differ_in_key(space: NB101Space, samples: list) -> None:
    for arch in [space.from_matrix(FIRST_CELL_MATRIX, FIRST_CELL_OPS), *samples[:40]]:
        nbrs = space.neighbors(arch)
        assert nbrs
        assert len(set(nbrs)) == len(nbrs)
        for nb in nbrs:
            assert space.validate(nb) is nb
            assert nb.key != arch.key
    small = space.from_string("01,00|input,output")
    grown = {a.to_string() for a in space.neighbors(small)}
    assert grown == {f"010,001,000|input,{op},output" for op in NB101_OPS}  # a vertex on the edge
    assert space.mutate(small, seed=0) in space.neighbors(small)


def test_neighbors_cover_op_and_edge_changes(space: NB101Space) -> None:
    arch = space.from_matrix(README_MATRIX, README_OPS)
    nbrs = space.neighbors(arch)
    same_graph = [n for n in nbrs if n.spec[0] == arch.spec[0]]
    assert len(same_graph) >= 2  # op changes (isomorphic ones are dropped)
    assert any(sum(map(sum, n.spec[0])) == 9 for n in nbrs)  # an edge was added


def test_graph(space: NB101Space, samples: list) -> None:
    g = space.from_matrix(FIRST_CELL_MATRIX, FIRST_CELL_OPS).to_graph()
    assert g.ops == ("input", "conv3x3", "max_pool_3x3", "conv3x3", "conv3x3", "conv1x1", "output")
    assert g.edges == ((0, 1), (0, 4), (0, 5), (1, 2), (2, 3), (2, 6), (3, 5), (4, 5), (5, 6))
    assert (g.adjacency() == np.asarray(FIRST_CELL_MATRIX)).all()
    for arch in samples[:50]:
        g = arch.to_graph()
        assert g.num_nodes == len(arch.spec[1]) <= space.max_nodes
        assert g.ops[0] == "input" and g.ops[-1] == "output"
        assert (g.adjacency() == np.asarray(arch.spec[0])).all()


def test_pickle(space: NB101Space, samples: list) -> None:
    arch = samples[0]
    again = pickle.loads(pickle.dumps(arch))
    assert again == arch and again.space is space and again.key == arch.key


# --------------------------------------------------------------------------- fuzz
_FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_ROW = st.text(alphabet="01", min_size=1, max_size=8)
_OP = st.sampled_from([IN, OUT, C3, C1, MP, "conv3x3", "", " "]) | st.text(max_size=6)


@_FUZZ
@given(
    st.text(max_size=80)
    | st.builds(
        lambda rows, ops, sep: ",".join(rows) + sep + ",".join(ops),
        st.lists(_ROW, max_size=8),
        st.lists(_OP, max_size=8),
        st.sampled_from(["|", "||", ",", " | "]),
    )
)
def test_from_string_raises_only_invalid_architecture_error(s: str) -> None:
    space = get_space("nb101")
    try:
        arch = space.from_string(s)
    except InvalidArchitectureError:
        return
    assert space.from_string(arch.to_string()) == arch


_PARAM_NAMES = get_space("nb101").param_names
_VALUE = (
    st.integers(-2, 7)
    | st.sampled_from([*NB101_OPS, "1", "0", " 1 ", "3", "conv3x3", None, True, 1.0, 0.5])
    | st.text(max_size=5)
    | st.floats(allow_infinity=False)
)
_CONFIG = st.dictionaries(st.sampled_from(_PARAM_NAMES) | st.text(max_size=6), _VALUE, max_size=30)


@_FUZZ
@given(_CONFIG)
def test_from_params_and_to_arch_raise_only_documented_errors(config: dict) -> None:
    space = get_space("nb101")
    for convert in (space.from_params, space.to_arch):
        try:
            arch = convert(config)
        except (InvalidArchitectureError, SpaceMismatchError) as err:
            if isinstance(err, SpaceMismatchError):
                assert config and not set(config) & set(_PARAM_NAMES)
            continue
        space.validate(arch)


@_FUZZ
@given(
    st.fixed_dictionaries(
        {"num_intermediate": st.integers(0, 5)},
        optional={name: st.sampled_from([0, 1, *NB101_OPS]) for name in _PARAM_NAMES[1:]},
    )
)
def test_nearly_valid_configs_map_to_valid_archs_or_raise(config: dict) -> None:
    space = get_space("nb101")
    try:
        arch = space.from_params(config)
    except InvalidArchitectureError:
        return
    space.validate(arch)
    assert space.to_arch(arch.to_config()) == arch
