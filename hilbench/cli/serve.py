"""``hilbench serve``: the lab view of the results store in a browser (hilbench.web).  Loopback by default; any
other address needs an access token (``HILBENCH_SERVE_TOKEN`` or ``--token-file``), never given on the command
line, where other users of the machine could read it."""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
from pathlib import Path

TOKEN_ENV = "HILBENCH_SERVE_TOKEN"


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="the lab view: live runs, history, a figure across runs (read-only, in a browser)")
    p.add_argument("--db", default=None, help="the store (default: $HILBENCH_DB, else reports/hilbench.db)")
    p.add_argument(
        "--reports",
        type=Path,
        action="append",
        default=None,
        metavar="DIR",
        help="where run directories are found for certificates, charts and compare (repeatable; default: reports)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    p.add_argument("--port", type=int, default=8000, help="port (0: a free one, printed)")
    p.add_argument("--token-file", type=Path, default=None, help=f"file holding the access token (else ${TOKEN_ENV})")
    p.set_defaults(func=cmd_serve)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from hilbench.store.database import StoreError, open_store
    from hilbench.web.app import create_app

    token = os.environ.get(TOKEN_ENV) or None
    if args.token_file is not None:
        try:
            token = args.token_file.read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            print(f"hilbench: {args.token_file}: the token file cannot be read ({exc.strerror})")
            return 2
    if not _loopback(args.host) and not token:
        print(f"hilbench: serving on {args.host} (not loopback) needs an access token: set {TOKEN_ENV} or give "
              "--token-file; nothing was served")  # fmt: skip
        return 2
    if token is not None and len(token) < 16:
        print("hilbench: the access token must be at least 16 characters; nothing was served")
        return 2
    try:
        store = open_store(args.db, read_only=True)
    except StoreError as exc:
        print(f"hilbench: {exc}")
        return 2
    app = create_app(store, args.reports or [Path("reports")], token=token)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit it (Linux): a response's head and body are not held 40 ms for a delayed ACK
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(f"hilbench: cannot listen on {args.host}:{args.port} ({exc.strerror})")
        return 2
    host, port = sock.getsockname()[:2]
    shown_host = f"[{host}]" if ":" in host else host
    print(f"serving {store.name} on http://{shown_host}:{port}/ (read-only{', token required' if token else ''}); "
          "Ctrl-C stops", flush=True)  # fmt: skip
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2))
    try:
        server.run(sockets=[sock])
    finally:
        store.close()
    return 0
