"""NB201, TransNAS-Bench-101 micro and NAS-Bench-Graph specifics."""

from __future__ import annotations

import pytest

from nas_meta_tune import InvalidArchitectureError, get_space
from nas_meta_tune.encodings import path_encoding

DARTS_LIKE_NB201 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def test_nb201_counts_follow_the_paper():
    space = get_space("nb201")
    archs = space.enumerate()
    assert len(archs) == 15_625
    assert len({a.key for a in archs}) == 6_466  # NAS-Bench-201 paper, unique cells
    assert len(space.enumerate(unique=True)) == 6_466


def test_nb201_official_string_and_params():
    space = get_space("nb201")
    arch = space.from_string(DARTS_LIKE_NB201)
    assert arch.to_string() == DARTS_LIKE_NB201
    assert arch.to_params() == {
        f"edge_{s}_{d}": "nor_conv_3x3" for s, d in ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
    }
    s = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    a = space.from_string(s)
    assert (
        a.to_params()["edge_0_1"] == "avg_pool_3x3" and a.to_params()["edge_2_3"] == "skip_connect"
    )


def test_nb201_key_convention():
    space = get_space("nb201")
    # skip_connect passes expressions through: skip on 1<-0 then conv on 3<-1 == conv on 3<-0
    a = space.from_string("|skip_connect~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|")
    b = space.from_string("|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|")
    assert a.key == b.key
    # zero terms are kept in sums: via node 2 (which also sums a zero from node 1) it is another
    # class, although the function is the same (dropping zeros would merge them: 5,390 classes)
    c = space.from_string("|none~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_3x3~2|")
    assert c.key != a.key
    # an op applied to a node that is exactly zero is zero
    e = space.from_string("|none~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|")
    f = space.from_string("|none~0|+|none~0|none~1|+|none~0|avg_pool_3x3~1|none~2|")
    assert e.key == f.key
    # ... but zero terms stay in sums, so a node summing two zeros is not "exactly zero"
    g = space.from_string("|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|")
    h = space.from_string("|none~0|+|none~0|none~1|+|none~0|none~1|avg_pool_3x3~2|")
    assert g.key != h.key
    assert a.key != e.key


@pytest.mark.parametrize(
    "bad, match",
    [
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|", "3 nodes"),
        (
            "|conv~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|",
            "unknown operation 'conv'",
        ),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "2 incoming"),
        ("|none~0|+|none~0|none~0|+|none~0|none~1|none~2|", "repeated input"),
        ("|none-0|+|none~0|none~1|+|none~0|none~1|none~2|", "op~i"),
    ],
)
def test_nb201_bad_strings(bad, match):
    with pytest.raises(InvalidArchitectureError, match=match):
        get_space("nb201").from_string(bad)


def test_nb201_path_encoding_counts_paths():
    arch = get_space("nb201").from_string(DARTS_LIKE_NB201)
    enc = path_encoding(arch)
    # 4 input->output paths: 3<-0 (1 op), 1<-0 3<-1 and 2<-0 3<-2 (2 ops), 1<-0 2<-1 3<-2 (3 ops)
    assert enc.sum() == 4
    zero = get_space("nb201").from_string("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert path_encoding(zero).sum() == 0


def test_transnas_micro():
    space = get_space("transnas_micro")
    archs = space.enumerate()
    assert len(archs) == 4_096
    a = space.from_string("64-41414-3_33_333")
    assert a.to_params() == {
        f"edge_{s}_{d}": "nor_conv_3x3" for s, d in ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
    }
    b = space.from_string("64-41414-1_02_103")
    assert b.to_string() == "64-41414-1_02_103"
    assert b.to_params()["edge_0_1"] == "skip_connect" and b.to_params()["edge_0_2"] == "none"
    assert (
        b.to_params()["edge_1_2"] == "nor_conv_1x1" and b.to_params()["edge_2_3"] == "nor_conv_3x3"
    )
    for bad, match in (
        ("64-41414-4_33_333", "op codes 0-3"),
        ("64-1234-3_33_333", "skeleton"),
        ("3_33_333", "micro cell"),
    ):
        with pytest.raises(InvalidArchitectureError, match=match):
            space.from_string(bad)
    # the same cells mean the same functions in NB201 and TransNAS: their graphs agree
    nb = get_space("nb201").from_string(DARTS_LIKE_NB201)
    assert nb.to_graph() == a.to_graph()


def test_nasbench_graph_counts_and_benchmark_hash():
    from nas_bench_graph.architecture import Arch

    space = get_space("nasbench_graph")
    archs = space.enumerate()
    assert len(archs) == 9 * 9**4 - 9
    assert len({a.key for a in archs}) == 26_206
    for a in archs[::997]:
        links, ops = a.spec
        assert a.key == str(Arch(list(links), list(ops)).valid_hash())
    assert len(get_space("nasbench_graph_proteins").enumerate(unique=True)) == 2_021


def test_nasbench_graph_strings_and_errors():
    space = get_space("nasbench_graph")
    a = space.from_string("0,0,1,2|gcn,gat,skip,fc")
    assert a.to_string() == "0,0,1,2|gcn,gat,skip,fc"
    assert space.from_string("[0, 0, 1, 2]|['gcn', 'gat', 'skip', 'fc']") == a
    g = a.to_graph()
    # node 1 and 2 read the input, 3 reads 1, 4 reads 2; 3 and 4 feed the output
    assert g.edges == ((0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 5))
    with pytest.raises(InvalidArchitectureError, match="all-'skip'"):
        space.from_string("0,0,0,0|skip,skip,skip,skip")
    with pytest.raises(InvalidArchitectureError, match="not one of the benchmark's 9 patterns"):
        space.from_string("0,0,0,2|gcn,gcn,gcn,gcn")
    with pytest.raises(InvalidArchitectureError, match="unknown operation 'gat'"):
        get_space("nasbench_graph_proteins").from_string("0,0,1,2|gcn,gat,skip,fc")
