"""`crosswire serve`: run the gRPC server until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio

from crosswire.cli import CLIError, require_server_side


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run the gRPC server",
                                   description="Serve translation, segmentation and alignment over gRPC.")
    try:
        from crosswire_server.config import ServerConfig
    except ImportError:
        parser.set_defaults(run=lambda args: require_server_side())
        return
    ServerConfig.add_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    require_server_side()
    from crosswire_server.app import ServeError, serve
    from crosswire_server.config import ServerConfig
    from crosswire_server.logs import configure_logging

    try:
        config = ServerConfig.from_args(args)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    configure_logging(config.log_format)
    try:
        asyncio.run(serve(config))
    except ServeError as exc:
        raise CLIError(str(exc)) from None
    except (OSError, RuntimeError) as exc:
        raise CLIError(f"cannot serve on {config.host}:{config.port}: {exc}") from None
    return 0
