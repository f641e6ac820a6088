"""Helpers for integration tests: free ports, the `up` process, a raw WebSocket client.

Every wait has a deadline and fails with a message that says what was awaited.
"""
from __future__ import annotations

import base64
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port_block(count: int, start: int = 20000, end: int = 60000) -> int:
    """The first port of ``count`` consecutive free TCP ports on 127.0.0.1."""
    import random
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(200):
        base = rng.randrange(start, end - count)
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                s.bind(('127.0.0.1', port))
                sockets.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError(f'no block of {count} free ports found')


def wait_for(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f'timed out after {timeout:.0f} s waiting for {what}')


def http_json(port: int, path: str, timeout: float = 2.0):
    """(status, body) of GET http://127.0.0.1:port/path; (None, None) if unreachable."""
    try:
        with urllib.request.urlopen(f'http://127.0.0.1:{port}{path}', timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b'null')
    except (OSError, ValueError):
        return None, None


def child_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, 'PYTHONUNBUFFERED': '1', **extra}
    env['PYTHONPATH'] = str(ROOT / 'src') + os.pathsep + env.get('PYTHONPATH', '')
    return env


class Process:
    """A child process whose output lines are collected in the background."""

    def __init__(self, argv: list[str], env: dict[str, str]):
        self.lines: list[str] = []
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env=env, text=True, start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip('\n'))

    def wait_line(self, fragment: str, timeout: float) -> str:
        def found():
            if self.proc.poll() is not None and not any(fragment in ln for ln in self.lines):
                raise AssertionError(f'process exited ({self.proc.returncode}) before printing '
                                     f'{fragment!r}; output:\n' + '\n'.join(self.lines[-40:]))
            return next((ln for ln in self.lines if fragment in ln), None)
        try:
            return wait_for(found, timeout, f'{fragment!r} in the output')
        except AssertionError as exc:
            raise AssertionError(f'{exc}\noutput so far:\n' + '\n'.join(self.lines[-40:])) from None

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        return self.proc.returncode


def cli(*args: str) -> list[str]:
    return [sys.executable, '-m', 'websocket_redundancy', *args]


class RawWebSocket:
    """A minimal blocking WebSocket client, to send what real clients never would."""

    def __init__(self, port: int, path: str = '/', headers: dict[str, str] | None = None,
                 timeout: float = 5.0, rcvbuf: int | None = None, tls: bool = False):
        self.sock = socket.socket()
        self.sock.settimeout(timeout)
        if rcvbuf:  # before connecting, so the TCP window stays small
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(('127.0.0.1', port))
        if tls:  # the test's self-signed certificate: encryption without verification
            import ssl
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            self.sock = context.wrap_socket(self.sock, server_hostname='127.0.0.1')
        key = base64.b64encode(os.urandom(16)).decode()
        extra = ''.join(f'{k}: {v}\r\n' for k, v in (headers or {}).items())
        self.sock.sendall((f'GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n'
                           'Upgrade: websocket\r\nConnection: Upgrade\r\n'
                           f'Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n'
                           f'{extra}\r\n').encode())
        response = b''
        while b'\r\n\r\n' not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError('closed during handshake')
            response += chunk
        head, self.buffer = response.split(b'\r\n\r\n', 1)
        if b' 101 ' not in head.split(b'\r\n')[0]:
            raise ConnectionError(head.decode(errors='replace'))

    def send(self, payload: bytes | str, opcode: int | None = None) -> None:
        if isinstance(payload, str):
            payload, opcode = payload.encode(), opcode or 1
        opcode = opcode or 2
        mask = os.urandom(4)
        n = len(payload)
        header = bytes([0x80 | opcode])
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack('!H', n)
        else:
            header += bytes([0x80 | 127]) + struct.pack('!Q', n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_json(self, frame: dict) -> None:
        self.send(json.dumps(frame))

    def _read_exact(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError('connection closed')
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def recv(self) -> tuple[int, bytes]:
        """(opcode, payload) of the next frame; close frames are returned as opcode 8."""
        b0, b1 = self._read_exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack('!H', self._read_exact(2))[0]
        elif n == 127:
            n = struct.unpack('!Q', self._read_exact(8))[0]
        return b0 & 0x0F, self._read_exact(n)

    def recv_json(self, timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            opcode, payload = self.recv()
            if opcode == 1:
                return json.loads(payload)
            if opcode == 8:
                raise ConnectionError(f'closed: {close_code(payload)}')
            if opcode == 9:  # ping: answer so the server keeps us
                self.send(payload, opcode=10)
        raise AssertionError('no text frame before the deadline')

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def close_code(payload: bytes) -> int | None:
    return struct.unpack('!H', payload[:2])[0] if len(payload) >= 2 else None
