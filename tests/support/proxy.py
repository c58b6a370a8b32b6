"""A TCP forwarder on 127.0.0.1 that a test can cut (take a database away) or point elsewhere (a balancer)."""

from __future__ import annotations

import socket
import threading


class Proxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.cut = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:  # the target is down: the client sees a closed connection, as behind a balancer
                client.close()
                continue
            self.conns += [client, upstream]
            self._forward(client, upstream, len(self.conns) // 2)

    def _forward(self, client: socket.socket, upstream: socket.socket, number: int) -> None:
        """Carry the `number`th connection both ways (a subclass may read what passes)."""
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def sever(self) -> None:
        """Drop every connection and refuse new ones."""
        self.cut.set()
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        self.conns.clear()

    def restore(self) -> None:
        self.cut.clear()

    def close(self) -> None:
        self.sever()
        self.listener.close()
