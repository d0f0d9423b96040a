"""A TCP proxy on loopback that a test can cut and restore, to put an outage between the app and a service.

`cut()` resets every open connection and refuses new ones (accepted, then reset at once: what a client sees
when the service's host is up but the service is not); `cut(blackhole=True)` instead accepts and never
answers (a network that drops packets: the client waits for its own timeout). `restore()` forwards again.
"""

from __future__ import annotations

import selectors
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._mode = "forward"
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._stopped = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, name="tcp-proxy-accept", daemon=True)
        self._acceptor.start()

    # Control ------------------------------------------------------------------------------------------

    def cut(self, *, blackhole: bool = False) -> None:
        with self._lock:
            self._mode = "blackhole" if blackhole else "refuse"
            for sock in list(self._open):
                _reset(sock)
            self._open.clear()

    def restore(self) -> None:
        with self._lock:
            self._mode = "forward"
            for sock in list(self._open):  # the connections held by a blackhole
                _reset(sock)
            self._open.clear()

    def close(self) -> None:
        self._stopped.set()
        self.cut()
        self._listener.close()

    # Plumbing -----------------------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                mode = self._mode
                if mode == "refuse":
                    _reset(client)
                    continue
                self._open.add(client)
            if mode == "blackhole":
                continue  # held open, never read: the client waits for its timeout
            threading.Thread(target=self._pipe, args=(client,), name="tcp-proxy-pipe", daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=2)
        except OSError:
            self._drop(client)
            return
        with self._lock:
            if self._mode != "forward" or client not in self._open:
                _reset(client)
                upstream.close()
                return
            self._open.add(upstream)
        peers = {client: upstream, upstream: client}
        with selectors.DefaultSelector() as selector:
            for sock in peers:
                sock.setblocking(False)
                selector.register(sock, selectors.EVENT_READ, data=sock)
            try:
                # cut() closes both sockets and forgets them: stop then, rather than wait on closed sockets.
                while not self._stopped.is_set() and client in self._open:
                    for event, _ in selector.select(timeout=0.2):
                        ready: socket.socket = event.data
                        data = ready.recv(65536)
                        if not data:
                            return
                        peers[ready].setblocking(True)
                        peers[ready].sendall(data)
                        peers[ready].setblocking(False)
            except (OSError, ValueError):
                return  # reset by cut(), or by either side
            finally:
                self._drop(client, upstream)

    def _drop(self, *socks: socket.socket) -> None:
        with self._lock:
            for sock in socks:
                self._open.discard(sock)
                _reset(sock)


def _reset(sock: socket.socket) -> None:
    """Closes with RST rather than FIN, so the peer's next read or write fails at once."""
    with suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with suppress(OSError):
        sock.close()


@contextmanager
def tcp_proxy(target_host: str, target_port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy(target_host, target_port)
    try:
        yield proxy
    finally:
        proxy.close()
