"""Optuna's own sampler contract suites (optuna.testing.pytest_samplers) against MetaNASSampler:
the behaviour every Optuna sampler owes a study, checked by Optuna's tests, not ours. The sampler
handles multi-objective studies (issue 27), so the multi-objective suite replaces the
single-only one."""

from __future__ import annotations

import pytest

optuna = pytest.importorskip("optuna")
from optuna.testing.pytest_samplers import (  # noqa: E402
    BasicSamplerTestCase,
    MultiObjectiveSamplerTestCase,
    RelativeSamplerTestCase,
)

from nas_meta_tune import get_space  # noqa: E402
from nas_meta_tune.predictors import MetaPredictor  # noqa: E402
from nas_meta_tune.samplers import MetaNASSampler  # noqa: E402


@pytest.fixture(scope="module")
def _predictor():
    return MetaPredictor.pretrained()


class TestMetaNASSamplerContract(
    BasicSamplerTestCase, RelativeSamplerTestCase, MultiObjectiveSamplerTestCase
):
    @pytest.fixture
    def sampler(self, _predictor):
        return lambda: MetaNASSampler(get_space("transnas_micro"), _predictor, seed=0)
