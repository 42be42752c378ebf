"""Registers the feature commands (import, judge, review, export, reports) on the CLI."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    from . import importing
    importing.register(cli)
    from . import review
    review.register(cli)
    from . import reporting
    reporting.register(cli)
    from . import exporting
    exporting.register(cli)
    from . import judging
    judging.register(cli)
    from . import demo_cmd
    demo_cmd.register(cli)
    from . import security_cmds
    security_cmds.register(cli)
    from .validate import validate
    cli.add_command(validate)
