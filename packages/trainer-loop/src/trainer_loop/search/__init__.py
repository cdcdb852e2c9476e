"""Hyperparameter search with optuna and Ray Tune."""
