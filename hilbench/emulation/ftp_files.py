"""A read-only FTP server on loopback for files an emulated instrument produces (e.g. the analyser's stored
records), as the real instruments' FTP server functions serve them.  pyftpdlib does the protocol."""

from __future__ import annotations

import logging
import tempfile
import threading
import warnings
from pathlib import Path

with warnings.catch_warnings():  # pyftpdlib imports the standard library's asyncore/asynchat on Python 3.11
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.ioloop import IOLoop
    from pyftpdlib.servers import FTPServer

_log = logging.getLogger("pyftpdlib")
_log.addHandler(logging.NullHandler())  # with a handler present pyftpdlib does not configure logging itself
_log.setLevel(logging.WARNING)
_log.propagate = False


class FileServer:
    """Anonymous, read-only, one directory; started on a free port at construction, stopped by ``close``."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="hilbench-ftp-")
        self.root = Path(self._dir.name)
        authorizer = DummyAuthorizer()
        authorizer.add_anonymous(str(self.root), perm="elr")
        handler = type("Handler", (FTPHandler,), {"authorizer": authorizer, "banner": "hilbench emulated FTP"})
        # its own I/O loop: pyftpdlib's default is one per process, so closing one bench's server would close the
        # sockets of every other emulated bench in the process
        self._server = FTPServer((host, 0), handler, ioloop=IOLoop())
        self.port = self._server.socket.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"ftp-{self.port}", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            while not self._stop.is_set():
                self._server.serve_forever(timeout=0.1, blocking=False, handle_exit=False)
        finally:
            self._server.close_all()

    def write(self, name: str, text: str) -> None:
        """``name`` may hold folders (``RAM/HILBENCH/X.CSV``): made as needed, never above the root."""
        path = (self.root / name).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"{name!r} is outside the served folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="ascii")

    def remove(self, name: str) -> None:
        """Delete a served file if it is there."""
        path = (self.root / name).resolve()
        if self.root.resolve() in path.parents:
            path.unlink(missing_ok=True)

    def close(self) -> None:
        if not self._stop.is_set():
            self._stop.set()
            self._thread.join(timeout=5)
            self._dir.cleanup()
