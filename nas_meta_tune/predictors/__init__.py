"""Performance predictors: the MP-NAS GCN, meta-learning (BOIL/MAML/ANIL/multitask), baselines.

Work in progress (issue 3): no shipped weights or MetaPredictor facade yet.
"""
