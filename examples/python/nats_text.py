"""A small NATS client over the text protocol, on the Python standard library alone.

Enough for jetbus: CONNECT/PING/PONG, PUB/HPUB, SUB/UNSUB, MSG/HMSG parsing, request/reply through one
inbox subscription, JetStream API requests (`$JS.API.*`), JetStream publishes (a request answered by a
PubAck), pull requests (`$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`) and ack replies (`+ACK`, `+WPI`,
`-NAK`). One reader thread parses the socket and hands each message to its subscription's queue; writes
from any thread share one lock. The protocol itself: https://docs.nats.io/reference/reference-protocols/nats-protocol
"""

import json
import queue
import secrets
import socket
import threading
import time
from urllib.parse import urlparse


class NatsError(Exception):
    pass


class Msg:
    def __init__(self, subject, reply, headers, data, status=None):
        self.subject, self.reply, self.headers, self.data, self.status = subject, reply, headers, data, status

    def header(self, name):
        """Header value by case-insensitive name, or None."""
        for k, v in self.headers.items():
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.data)


def encode_headers(headers):
    lines = ["NATS/1.0"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def parse_headers(block):
    """`NATS/1.0[ <status> <description>]\\r\\nKey: value\\r\\n...` → (headers, status or None)."""
    lines = block.decode().split("\r\n")
    first = lines[0].split(" ", 2)
    status = first[1] if len(first) > 1 and first[1] else None
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip()] = v.strip()
    return headers, status


class Connection:
    def __init__(self, url="nats://127.0.0.1:4222", name="jetbus-python", inbox_prefix="_INBOX"):
        u = urlparse(url if "://" in url else "nats://" + url)
        self.sock = socket.create_connection((u.hostname or "127.0.0.1", u.port or 4222), timeout=10)
        self.file = self.sock.makefile("rb")
        self.lock = threading.Lock()
        self.subs, self.next_sid, self.closed = {}, 1, False
        self.pongs = queue.Queue()
        info = self.file.readline()
        if not info.startswith(b"INFO "):
            raise NatsError(f"not a NATS server: {info!r}")
        self.server_info = json.loads(info[5:])
        connect = {"verbose": False, "pedantic": False, "headers": True, "no_responders": True,
                   "protocol": 1, "name": name, "lang": "python-stdlib", "version": "1"}
        if u.username:
            connect.update(user=u.username, **({"pass": u.password} if u.password else {}))
        self._write(f"CONNECT {json.dumps(connect)}\r\nPING\r\n".encode())
        self.sock.settimeout(None)
        threading.Thread(target=self._read_loop, daemon=True).start()
        self.pongs.get(timeout=10)  # the server answered our first PING: the connection is up
        # One wildcard subscription receives every reply (request/reply, PubAcks, API answers).
        self.inbox = f"{inbox_prefix}.{secrets.token_hex(8)}"
        self.replies, self.replies_lock = {}, threading.Lock()
        self.subscribe(self.inbox + ".*", callback=self._on_reply)

    # -- writing ---------------------------------------------------------------------------------
    def _write(self, data):
        with self.lock:
            self.sock.sendall(data)

    def publish(self, subject, data=b"", headers=None, reply=None):
        if isinstance(data, str):
            data = data.encode()
        r = f" {reply}" if reply else ""
        if headers:
            h = encode_headers(headers)
            self._write(f"HPUB {subject}{r} {len(h)} {len(h) + len(data)}\r\n".encode() + h + data + b"\r\n")
        else:
            self._write(f"PUB {subject}{r} {len(data)}\r\n".encode() + data + b"\r\n")

    def subscribe(self, subject, callback=None, queue_group=None):
        """Returns (sid, a queue.Queue of Msg) — or only the sid when `callback` takes the messages."""
        sid = str(self.next_sid)
        self.next_sid += 1
        q = None if callback else queue.Queue()
        self.subs[sid] = callback or q.put
        self._write(f"SUB {subject}{' ' + queue_group if queue_group else ''} {sid}\r\n".encode())
        return sid if callback else (sid, q)

    def unsubscribe(self, sid):
        self.subs.pop(sid, None)
        self._write(f"UNSUB {sid}\r\n".encode())

    def flush(self, timeout=5):
        self._write(b"PING\r\n")
        self.pongs.get(timeout=timeout)

    # -- request/reply ---------------------------------------------------------------------------
    def new_inbox(self):
        return f"{self.inbox}.{secrets.token_hex(6)}"

    def _on_reply(self, msg):
        with self.replies_lock:
            box = self.replies.get(msg.subject)
        if box:
            box.put(msg)

    def request(self, subject, data=b"", headers=None, timeout=5.0):
        reply = self.new_inbox()
        box = queue.Queue()
        with self.replies_lock:
            self.replies[reply] = box
        try:
            self.publish(subject, data, headers, reply)
            try:
                msg = box.get(timeout=timeout)
            except queue.Empty:
                raise TimeoutError(f"no reply to {subject} within {timeout} s") from None
            if msg.status == "503":
                raise NatsError(f"no responders on {subject}")
            return msg
        finally:
            with self.replies_lock:
                self.replies.pop(reply, None)

    # -- JetStream -------------------------------------------------------------------------------
    def js_api(self, api, body=None, timeout=5.0):
        """`$JS.API.<api>` request; raises NatsError with the API's error code on an error answer."""
        answer = self.request(f"$JS.API.{api}", json.dumps(body or {}), timeout=timeout).json()
        if "error" in answer:
            e = answer["error"]
            raise NatsError(f"{api}: {e.get('err_code')} {e.get('description')}", e.get("err_code"))
        return answer

    def js_publish(self, subject, data, headers=None, msg_id=None, timeout=5.0, tries=5):
        """Stores a message; returns the PubAck. Retried on time-out with the same msg id (safe: deduped)."""
        h = dict(headers or {})
        if msg_id:
            h["Nats-Msg-Id"] = msg_id
        for attempt in range(tries):
            try:
                ack = self.request(subject, data, h or None, timeout).json()
            except TimeoutError:
                if attempt == tries - 1:
                    raise
                continue
            if "error" in ack:
                raise NatsError(f"publish to {subject}: {ack['error']}", ack["error"].get("err_code"))
            return ack

    def pull(self, stream, consumer, expires_ms=2000):
        """One pull request for one message: the job message, or None when the server says there is none."""
        if not hasattr(self, "pulled"):
            # Its own subscription: a pulled message arrives with the job's subject, not the inbox's, so it is
            # routed by subscription id. A message that comes late is kept for the next call, never lost.
            self.pull_inbox = self.new_inbox()
            _, self.pulled = self.subscribe(self.pull_inbox)
        body = json.dumps({"batch": 1, "expires": expires_ms * 1_000_000})
        self.publish(f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}", body, reply=self.pull_inbox)
        # Wait for the server's own answer (a message, or 404/408 at expiry).
        deadline = time.time() + expires_ms / 1000 + 5
        while time.time() < deadline:
            try:
                msg = self.pulled.get(timeout=max(0.01, deadline - time.time()))
            except queue.Empty:
                break
            if msg.status is None:
                return msg
            if msg.status in ("404", "408", "409"):
                return None
        return None

    def ack(self, msg, kind="+ACK"):
        """`+ACK`, `+WPI` (in progress: resets the ack wait) or `-NAK`, sent to the delivery's reply subject."""
        self.publish(msg.reply, kind)

    def ack_sync(self, msg, timeout=5.0):
        """An ack the server confirms: the message is settled once this returns."""
        self.request(msg.reply, "+ACK", timeout=timeout)

    # -- reading ---------------------------------------------------------------------------------
    def _read_loop(self):
        try:
            while True:
                line = self.file.readline()
                if not line:
                    break
                op = line.split(b" ", 1)[0].rstrip(b"\r\n").upper()
                if op == b"PING":
                    self._write(b"PONG\r\n")
                elif op == b"PONG":
                    self.pongs.put(True)
                elif op in (b"MSG", b"HMSG"):
                    self._on_msg(op, line.decode().split())
                elif op == b"-ERR":
                    print(f"nats: server error {line.decode().strip()}", flush=True)
        except OSError:
            pass
        finally:
            self.closed = True

    def _on_msg(self, op, parts):
        # MSG <subject> <sid> [reply] <size>  |  HMSG <subject> <sid> [reply] <hdr size> <total size>
        if op == b"MSG":
            subject, sid, reply, size, hsize = parts[1], parts[2], (parts[3] if len(parts) == 5 else None), int(parts[-1]), 0
        else:
            subject, sid, reply = parts[1], parts[2], (parts[3] if len(parts) == 6 else None)
            hsize, size = int(parts[-2]), int(parts[-1])
        payload = self.file.read(size + 2)[:size]
        headers, status = parse_headers(payload[:hsize]) if hsize else ({}, None)
        deliver = self.subs.get(sid)
        if deliver:
            deliver(Msg(subject, reply, headers, payload[hsize:], status))

    def close(self):
        try:
            self.flush(timeout=2)
        except Exception:
            pass
        self.sock.close()
