"""Data preparation: from a user's file to the analysis panel."""
