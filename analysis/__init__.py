"""Replication toolkit: national big data pilot zones and the industrial chain resilience
of Chinese cities, 2009-2022 (staggered difference-in-differences and double machine
learning), with a cross-check against R."""

__version__ = "0.1.0"
