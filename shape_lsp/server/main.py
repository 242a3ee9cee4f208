"""Starting the language server: `shape-lsp serve [--tcp --host H --port P] [--log-file F] [-v]`.

Kept light on purpose: importing this package pulls in only the standard library, so that
`initialize` is answered quickly; pygls is imported in `main`, libcst and the analysis engine
after `initialize` (see `analysis.py`).
"""

from __future__ import annotations

import argparse
import logging
import sys

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shape-lsp serve", description="Run the language server.")
    p.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default)")
    p.add_argument("--tcp", action="store_true", help="listen on a TCP socket instead of stdio")
    p.add_argument("--host", default="127.0.0.1", help="TCP host (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=2087, help="TCP port (default 2087)")
    p.add_argument("--log-file", help="write the server's log to this file (default: stderr)")
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more logging (-v info, -vv debug with protocol traffic)",
    )
    return p


def _setup_logging(log_file: str | None, verbose: int) -> None:
    handler: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8")
        if log_file
        else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("shape_lsp").setLevel(
        logging.DEBUG if verbose >= 2 else logging.INFO if verbose == 1 else logging.WARNING
    )
    # pygls logs every message body at INFO: only show it at -vv.
    logging.getLogger("pygls").setLevel(logging.DEBUG if verbose >= 2 else logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    """Run the server until the client disconnects; returns the exit status."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    _setup_logging(args.log_file, args.verbose)
    from shape_lsp.server.app import build_server

    server = build_server()
    if args.tcp:
        log.info("serving over TCP on %s:%d", args.host, args.port)
        server.start_tcp(args.host, args.port)
    else:
        server.start_io()
    return 0
