"""Numerics of the study's estimators as pure functions (aggregations, permutation tests,
matching, cross-fitting, sensitivity sets); the exhibits in analysis.exhibits call them."""
