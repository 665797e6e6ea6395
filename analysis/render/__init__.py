"""Renderers: tables (csv, md, tex), figures (png) and the report, from tidy results."""
