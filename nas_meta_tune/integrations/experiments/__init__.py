"""The harness of nas-meta-tune's own benchmarks and demo (users never need it).

:mod:`~nas_meta_tune.integrations.experiments.runs` runs Optuna studies (and, through
:mod:`~nas_meta_tune.integrations.experiments.syne_runs`, Syne Tune's searchers) on tabular NAS benchmarks and
compares them by regret: ``nas-meta-tune demo`` and ``benchmarks/search.py`` use it. Like the
adapters it imports its frameworks, so the core never imports it (an import-linter contract).
"""
