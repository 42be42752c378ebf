"""The web side of ringebu-journal: HTTP endpoints over the same library as the CLI."""
