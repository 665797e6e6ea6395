"""Cross-check of the key estimates against R (fixest, did) through rpy2."""
