"""MetaPredictor: meta-training on real tasks, adaptation rules, persistence and corrupt files."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from torch.func import functional_call

from nas_meta_tune import get_space
from nas_meta_tune.exceptions import CorruptWeightsError, UnknownNameError
from nas_meta_tune.predictors import (
    GCNPredictor,
    MetaConfig,
    MetaPredictor,
    available_pretrained,
    load_task,
    meta_train,
)
from nas_meta_tune.predictors.meta import (
    _adaptation_path,
    adapt_parameters,
    inner_param_names,
    regression_loss,
)
from nas_meta_tune.predictors.meta_predictor import WEIGHTS_DIR, file_sha256
from nas_meta_tune.predictors.tasks import normalize_scores

TINY = MetaConfig(steps=60, meta_batch=2, query=40, k_range=(5, 20), inner_steps=2)


@pytest.fixture(scope="module")
def transnas(data_root):
    return {
        t: load_task(f"transnas_micro/{t}", data_root)
        for t in ("jigsaw", "class_scene", "class_object", "normal")
    }


@pytest.fixture(scope="module")
def trained(transnas):
    """A short BOIL meta-training on three real TransNAS tasks (jigsaw held out)."""
    pool = [transnas[t] for t in ("class_scene", "class_object", "normal")]
    return MetaPredictor.from_result(meta_train(pool, "boil", config=TINY, seed=0))


def _held_out_spearman(predictor: MetaPredictor, task, n=1000) -> float:
    return float(spearmanr(predictor.predict(task.archs[:n]), task.scores[:n]).statistic)


@pytest.mark.slow
def test_short_meta_training_beats_random_init(trained, transnas):
    # one random init can rank well or badly by chance (|rho| up to ~0.6 on jigsaw), so compare with
    # the mean over several seeded inits, which is what "no meta-training" is worth in expectation
    target = transnas["jigsaw"]
    random_inits = []
    for seed in range(8):
        torch.manual_seed(seed)
        random_inits.append(_held_out_spearman(MetaPredictor(GCNPredictor()), target))
    rho = _held_out_spearman(trained, target)
    assert rho > 0.5 and rho > float(np.mean(random_inits)) + 0.3


def test_predict_shapes_and_std(trained):
    archs = get_space("transnas_micro").sample(37, seed=1)
    mean = trained.predict(archs)
    assert mean.shape == (37,) and mean.dtype == np.float64
    mean2, std = trained.predict(archs, return_std=True)
    np.testing.assert_array_equal(mean, mean2)
    assert std.shape == (37,) and np.all(std >= 0) and np.all(np.isfinite(std)) and std.max() > 0
    assert trained.predict([]).shape == (0,)


def test_meta_training_is_seeded(transnas):
    pool = [transnas["class_scene"], transnas["normal"]]
    cfg = MetaConfig(steps=5, meta_batch=2, query=20, k_range=(5, 10), inner_steps=1)
    a = meta_train(pool, "boil", config=cfg, seed=3).model.state_dict()
    b = meta_train(pool, "boil", config=cfg, seed=3).model.state_dict()
    c = meta_train(pool, "boil", config=cfg, seed=4).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_adapt_returns_new_predictor_and_leaves_init_unchanged(trained, transnas):
    target = transnas["jigsaw"]
    before = {k: v.clone() for k, v in trained.model.state_dict().items()}
    adapted = trained.adapt(target.archs[:20], target.scores[:20], steps=10)
    assert adapted is not trained and adapted.n_adapted == 20 and trained.n_adapted == 0
    after = trained.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not np.allclose(adapted.predict(target.archs[:50]), trained.predict(target.archs[:50]))
    # adapting an adapted predictor starts from the meta-init unless warm_start
    again = adapted.adapt(target.archs[:20], target.scores[:20], steps=10)
    np.testing.assert_allclose(
        again.predict(target.archs[:50]), adapted.predict(target.archs[:50]), atol=1e-5
    )
    warm = adapted.adapt(target.archs[:20], target.scores[:20], steps=10, warm_start=True)
    assert not np.allclose(warm.predict(target.archs[:50]), adapted.predict(target.archs[:50]))
    np.testing.assert_allclose(
        adapted.meta_init().predict(target.archs[:50]),
        trained.predict(target.archs[:50]),
        atol=1e-6,
    )


@pytest.mark.parametrize("algorithm", ["boil", "anil", "maml"])
def test_inner_loop_updates_only_its_parameter_group(algorithm, trained, transnas):
    model = trained.model
    target = transnas["jigsaw"]
    params = adapt_parameters(
        model, target.archs[:15], target.scores[:15], algorithm=algorithm, steps=3, lr=0.1
    )
    names = set(inner_param_names(model, algorithm))
    for n, p in model.named_parameters():
        changed = not torch.equal(p.detach(), params[n])
        if n in names:
            assert changed or n.endswith("bias") and "bwd" in n, f"{algorithm}: {n} not updated"
        else:
            assert not changed, f"{algorithm}: {n} changed but is not in its inner loop"
    if algorithm == "boil":
        assert all(n.startswith("head.") for n in set(dict(model.named_parameters())) - names)


def test_adapt_rejects_bad_input(trained, transnas):
    target = transnas["jigsaw"]
    with pytest.raises(ValueError, match="architectures but"):
        trained.adapt(target.archs[:5], target.scores[:4])
    y = target.scores[:5].copy()
    y[2] = np.nan
    with pytest.raises(ValueError, match="finite"):
        trained.adapt(target.archs[:5], y)
    with pytest.raises(TypeError, match="Architecture"):
        trained.adapt(["not an arch"], [1.0])


def test_unknown_space_predicts_through_unified_graph(trained):
    # meta-trained on TransNAS only; DARTS and NAS-Bench-Graph cells share the vocabulary
    for name in ("darts", "nasbench_graph", "nb101"):
        archs = get_space(name).sample(8, seed=0)
        out = trained.predict(archs)
        assert out.shape == (8,) and np.isfinite(out).all()
        adapted = trained.adapt(archs, np.arange(8.0))
        assert np.isfinite(adapted.predict(archs)).all()


def test_save_load_round_trip_and_pickle(trained, transnas, tmp_path):
    target = transnas["jigsaw"]
    adapted = trained.adapt(target.archs[:20], target.scores[:20])
    path = adapted.save(tmp_path / "p.pt")
    loaded = MetaPredictor.load(path, sha256=file_sha256(path))
    np.testing.assert_array_equal(
        loaded.predict(target.archs[:30]), adapted.predict(target.archs[:30])
    )
    assert loaded.n_adapted == 20 and loaded.algorithm == "boil"
    np.testing.assert_array_equal(
        loaded.meta_init().predict(target.archs[:30]), trained.predict(target.archs[:30])
    )
    clone = pickle.loads(pickle.dumps(adapted))
    np.testing.assert_array_equal(
        clone.predict(target.archs[:30]), adapted.predict(target.archs[:30])
    )


def test_corrupt_weights_raise_clear_errors(trained, tmp_path):
    good = trained.save(tmp_path / "good.pt")
    data = good.read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptWeightsError, match="truncated.pt"):
        MetaPredictor.load(truncated)
    # flip one byte inside the tensor data (the zip stores tensors uncompressed)
    flipped = bytearray(data)
    pos = data.find(b"data/0") + 2000
    flipped[pos] ^= 0xFF
    bad = tmp_path / "flipped.pt"
    bad.write_bytes(bytes(flipped))
    with pytest.raises(CorruptWeightsError):
        MetaPredictor.load(bad)
    with pytest.raises(CorruptWeightsError, match="SHA-256"):
        MetaPredictor.load(good, sha256="0" * 64)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(CorruptWeightsError, match="not a nas-meta-tune predictor"):
        MetaPredictor.load(other)
    with pytest.raises(FileNotFoundError):
        MetaPredictor.load(tmp_path / "missing.pt")


def test_malformed_payloads_raise_corrupt_weights_errors(trained, tmp_path):
    import json

    for field, value in (("state", [1]), ("header", "[1]"), ("init", {"x": "not a tensor"})):
        payload = trained._payload()
        payload[field] = value
        path = tmp_path / f"bad_{field}.pt"
        torch.save(payload, path)
        with pytest.raises(CorruptWeightsError):
            MetaPredictor.load(path)
    assert json.loads(trained._payload()["header"])  # the good header is a JSON object


def test_adapt_is_safe_across_threads_and_leaves_the_global_rng_alone(trained, transnas):
    from concurrent.futures import ThreadPoolExecutor

    target = transnas["jigsaw"]
    probe = target.archs[:50]
    reference = trained.predict(probe)
    expected = trained.adapt(target.archs[:20], target.scores[:20], steps=10).predict(probe)
    torch.manual_seed(0)
    draw = torch.rand(1)
    torch.manual_seed(0)
    trained.adapt(target.archs[:20], target.scores[:20], steps=3)
    assert torch.equal(torch.rand(1), draw)  # adapt draws nothing from torch's global RNG

    def work(i):
        if i % 2:
            return trained.predict(probe)
        return trained.adapt(target.archs[:20], target.scores[:20], steps=10).predict(probe)

    with ThreadPoolExecutor(4) as ex:
        outs = list(ex.map(work, range(8)))
    for i, out in enumerate(outs):
        np.testing.assert_allclose(out, expected if i % 2 == 0 else reference, atol=1e-5)
    np.testing.assert_allclose(trained.predict(probe), reference, atol=1e-6)
    assert all(isinstance(p, torch.nn.Parameter) for p in trained.model.parameters())
    with pytest.raises(ValueError, match="n_samples"):
        trained.predict(probe, return_std=True, n_samples=1)


def test_other_format_version_is_refused(trained, tmp_path):
    import json

    payload = trained._payload()
    header = json.loads(payload["header"])
    header["version"] = 99
    payload["header"] = json.dumps(header)
    path = tmp_path / "v99.pt"
    torch.save(payload, path)
    with pytest.raises(CorruptWeightsError, match="version 99"):
        MetaPredictor.load(path)


def test_pretrained_weights_load_and_are_checked(monkeypatch, tmp_path):
    names = available_pretrained()
    assert "default" in names
    p = MetaPredictor.pretrained()
    assert p.algorithm == "boil" and p.n_adapted == 0
    archs = get_space("nb201").sample(10, seed=0)
    assert np.isfinite(p.predict(archs)).all()
    with pytest.raises(UnknownNameError, match="default"):
        MetaPredictor.pretrained("no-such-weights")
    # a shipped file that does not match its manifest hash is refused
    import shutil

    from nas_meta_tune.predictors import meta_predictor as mp

    fake = tmp_path / "weights"
    shutil.copytree(WEIGHTS_DIR, fake)
    target = fake / "default.pt"
    target.write_bytes(target.read_bytes()[:-10] + b"0123456789")
    monkeypatch.setattr(mp, "WEIGHTS_DIR", fake)
    with pytest.raises(CorruptWeightsError, match="SHA-256"):
        MetaPredictor.pretrained()


def test_diverging_adaptation_keeps_finite_parameters(trained, transnas):
    target = transnas["jigsaw"]
    wild = trained.adapt(target.archs[:20], target.scores[:20], steps=10, lr=1e12)
    assert np.isfinite(wild.predict(target.archs[:100])).all()


def test_adaptation_checkpoints_match_separate_runs(trained, transnas):
    target = transnas["jigsaw"]
    a, y = target.archs[:12], target.scores[:12]
    path = _adaptation_path(
        trained.model, a, y, algorithm="boil", checkpoints=[0, 2, 5], lr=0.05, loss="mse+pairwise"
    )
    for steps in (0, 2, 5):
        alone = adapt_parameters(trained.model, a, y, algorithm="boil", steps=steps, lr=0.05)
        assert all(torch.allclose(path[steps][n], alone[n]) for n in alone)
        assert not any(t.requires_grad for t in path[steps].values())
    # the SGD rule itself, written out by hand for two steps (not through _adaptation_path)
    names = set(inner_param_names(trained.model, "boil"))
    params = {
        n: p.detach().clone().requires_grad_(n in names)
        for n, p in trained.model.named_parameters()
    }
    inputs = trained.model.inputs(a)
    target = torch.as_tensor(normalize_scores(y), dtype=torch.float32)
    for _ in range(2):
        loss = regression_loss(functional_call(trained.model, params, inputs), target)
        grads = torch.autograd.grad(loss, [params[n] for n in names], allow_unused=True)
        params = dict(params)
        for n, g in zip(names, grads):
            if g is not None:
                params[n] = params[n] - 0.05 * g
    assert all(torch.allclose(path[2][n], params[n].detach(), atol=1e-6) for n in params)
    # a diverging run: every checkpoint at or after the divergence holds the last finite step
    wild = _adaptation_path(
        trained.model, a, y, algorithm="boil", checkpoints=[0, 2, 5], lr=1e12, loss="mse+pairwise"
    )
    for c in (0, 2, 5):
        assert all(torch.isfinite(t).all() for t in wild[c].values())


def test_auto_steps_keeps_an_init_that_already_ranks_the_samples(trained, transnas):
    target = transnas["jigsaw"]
    archs = target.archs[100:130]
    # scores in the meta-init's own order: no adaptation can rank these samples better, so the
    # cross-validation must pick 0 steps (ties go to fewer steps) and return the init's ranking
    own = trained.predict(archs)
    kept = trained.adapt(archs, own, steps="auto")
    assert kept.adapt_info["selected"] and kept.adapt_info["steps"] == 0
    assert kept.adapt_info["cv_spearman"][0] == pytest.approx(1.0)
    np.testing.assert_allclose(kept.predict(target.archs[:50]), trained.predict(target.archs[:50]))
    # reversed scores: the un-adapted init ranks them exactly backwards, adapting must be chosen
    flipped = trained.adapt(archs, -own, steps="auto")
    rho = flipped.adapt_info["cv_spearman"]
    assert rho[0] == pytest.approx(-1.0) and flipped.adapt_info["steps"] > 0
    t = trained.config.test_steps
    assert set(rho) == {0, t // 4, t // 2, t, 2 * t}
    assert max(rho.values()) == rho[flipped.adapt_info["steps"]]
    same = trained.adapt(archs, -own, steps=flipped.adapt_info["steps"])
    np.testing.assert_allclose(flipped.predict(archs), same.predict(archs), atol=1e-6)
    again = trained.adapt(archs, -own, steps="auto")  # deterministic: the same folds, same choice
    assert again.adapt_info == flipped.adapt_info
    # too few samples to validate: the configured step count, marked as not selected
    few = trained.adapt(archs[:3], own[:3], steps="auto")
    assert few.adapt_info == {"steps": trained.config.test_steps, "selected": False}
    tied = trained.adapt(archs, np.ones(len(archs)), steps="auto")
    assert not tied.adapt_info["selected"]
    with pytest.raises(ValueError, match="'auto'"):
        trained.adapt(archs, own, steps="cv")
    with pytest.raises(ValueError, match="warm_start"):
        flipped.adapt(archs, own, steps="auto", warm_start=True)


def test_held_out_meta_init_cache_reuses_only_the_same_config(tmp_path, data_root):
    """The benchmarks' cache of held-out meta-inits: hit on the same config, miss on any change."""
    from nas_meta_tune.predictors.evaluation import held_out_meta_init
    from nas_meta_tune.predictors.training import TrainConfig

    raw = {
        "name": "tiny",
        "seed": 0,
        "pool": {
            "families": ["transnas_micro"],
            "tasks": [f"transnas_micro/{t}" for t in ("jigsaw", "class_scene", "normal")],
        },
        "meta": {"algorithm": "boil", "steps": 3, "meta_batch": 2, "query": 20, "k_range": [5, 10]},
    }
    config = TrainConfig(raw, "tiny")
    first, hit = held_out_meta_init(
        "transnas_micro/jigsaw", config, data_root=data_root, cache_dir=tmp_path
    )
    assert not hit and first.info["tasks"] == [
        "transnas_micro/class_scene",
        "transnas_micro/normal",
    ]
    (first_path,) = tmp_path.glob("boil_transnas_micro__jigsaw_3_*.pt")
    again, hit = held_out_meta_init(
        "transnas_micro/jigsaw", config, data_root=data_root, cache_dir=tmp_path
    )
    archs = load_task("transnas_micro/jigsaw", data_root).archs[:50]
    assert hit and np.array_equal(first.predict(archs), again.predict(archs))
    # another algorithm or held-out task is a different file, never the cached one
    _, hit = held_out_meta_init(
        "transnas_micro/jigsaw", config, algorithm="anil", data_root=data_root, cache_dir=tmp_path
    )
    assert not hit
    _, hit = held_out_meta_init(
        "transnas_micro/normal", config, data_root=data_root, cache_dir=tmp_path
    )
    assert not hit and len(list(tmp_path.glob("*.pt"))) == 3
    # another step count or seed is another key; a time budget is never cached
    more = TrainConfig({**raw, "meta": {**raw["meta"], "steps": 4}}, "tiny")
    _, hit = held_out_meta_init(
        "transnas_micro/jigsaw", more, data_root=data_root, cache_dir=tmp_path
    )
    assert not hit
    reseeded = TrainConfig({**raw, "seed": 1}, "tiny")
    _, hit = held_out_meta_init(
        "transnas_micro/jigsaw", reseeded, data_root=data_root, cache_dir=tmp_path
    )
    assert not hit and len(list(tmp_path.glob("*.pt"))) == 5
    budget = TrainConfig({**raw, "time_budget_s": 60}, "tiny")
    held_out_meta_init("transnas_micro/jigsaw", budget, data_root=data_root, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.pt"))) == 5
    # a file under the right name but trained from another config is not trusted
    (more_path,) = tmp_path.glob("boil_transnas_micro__jigsaw_4_*.pt")
    first_path.write_bytes(more_path.read_bytes())
    _, hit = held_out_meta_init(
        "transnas_micro/jigsaw", config, data_root=data_root, cache_dir=tmp_path
    )
    assert not hit
