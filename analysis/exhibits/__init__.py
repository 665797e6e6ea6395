"""The study's exhibits: one module per table/figure family, each a pure function of the
analysis panel and the configuration (see analysis.exhibit for the interface and
analysis.catalogue for their order)."""
