"""Estimators of the study, one module per exhibit family (see analysis.exhibits)."""
