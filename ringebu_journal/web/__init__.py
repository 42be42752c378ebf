"""The web side of ringebu-journal: HTTP endpoints over the same library as the CLI.

``app.create_app`` is the web workspace (``ringebu-journal serve``): sign-in (``auth``), the
route → operation table (``access``), the pages; ``webhooks`` is the Meta webhook route it
includes. Nothing here decides anything the library does not: every action is a library call.
"""
