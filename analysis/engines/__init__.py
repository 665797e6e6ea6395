"""Adapters of the estimation libraries (pyfixest, doubleml, diff-diff): every call with
every option explicit and checked, every result translated into the project's estimate rows
(analysis.estimates) at this edge."""
