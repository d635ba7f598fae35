"""Stand-in for runc's contrib/cmd/recvtty in its `--mode null` use by runc's integration suite:
listen on a unix socket, take each pty master passed over it (SCM_RIGHTS) and discard its output.
Kept to a few stdlib imports and run without site: the suite does not wait for it to be listening."""

from __future__ import annotations

import os
import socket
import sys
import threading


def drain(connection: socket.socket) -> None:
    with connection:
        try:
            _, fds, _, _ = socket.recv_fds(connection, 4096, 1)
        except OSError:
            return
        for fd in fds:
            try:
                while os.read(fd, 65536):
                    pass
            except OSError:
                pass
            os.close(fd)


def main(argv: list[str]) -> None:
    options = {"--pid-file": None, "--mode": "null"}
    while len(argv) > 1 and argv[0] in options:
        options[argv[0]] = argv[1]
        argv = argv[2:]
    if len(argv) != 1 or options["--mode"] != "null":
        sys.exit("usage: recvtty [--pid-file FILE] [--mode null] SOCKET")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(argv[0])
    listener.listen(16)
    if options["--pid-file"]:
        with open(options["--pid-file"], "w") as f:
            f.write(str(os.getpid()))
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=drain, args=(connection,), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1:])
