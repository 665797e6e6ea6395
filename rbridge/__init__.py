"""The R bridge: the study's key estimates re-estimated in R (fixest, did, or base R with
sandwich) through rpy2, and compared with the Python results (`python -m analysis crosscheck`)."""
