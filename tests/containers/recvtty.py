"""Stand-in for runc's contrib/cmd/recvtty in its `--mode null` use by runc's integration suite:
listen on a unix socket, take each pty master passed over it (SCM_RIGHTS) and discard its output."""

from __future__ import annotations

import argparse
import os
import socket
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


def main() -> None:
    parser = argparse.ArgumentParser(prog="recvtty")
    parser.add_argument("--pid-file")
    parser.add_argument("--mode", default="null", choices=["null"])
    parser.add_argument("--no-stdin", action="store_true")
    parser.add_argument("socket")
    args = parser.parse_args()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(args.socket)
    listener.listen(16)
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write(str(os.getpid()))
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=drain, args=(connection,), daemon=True).start()


if __name__ == "__main__":
    main()
