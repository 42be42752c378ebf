"""Importers: social-media conversations into the database.

Every importer is a generator of :mod:`store` items; :func:`store.run_import` is the one
place that writes messages (idempotent, versioned, crash-safe, audited).
"""
