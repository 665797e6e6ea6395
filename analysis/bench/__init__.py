"""`python -m analysis bench`: the stages against bare library calls (stages), the whole study
at scale (scale, on panels from scale_panel) and the Monte Carlo's throughput (throughput)."""
