"""Shared helpers of the security tests: the real broker (tests/e2e/harness.py, plus a variant
that keeps its output as raw bytes), password and ACL files, and a small raw-socket MQTT 5 /
3.1.1 client.

The raw client writes exactly the bytes an attacker chooses (control characters in a Client
Identifier, a Will under $SYS, an Authentication Method nobody implements) and never acknowledges
a QoS 1 message unless told to, so a message can be kept in flight across a take-over. Every wait
is on a packet, a closed socket or a line of broker output; sockets time out after TIMEOUT
seconds so a broker that never answers fails the test instead of hanging it.
"""

import collections
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness  # noqa: E402

TIMEOUT = 10
V5 = 5
V311 = 4

# CONNACK of a refused CONNECT for "not authorized": 0x87 in MQTT 5, return code 5 in 3.1.1.
NOT_AUTHORIZED = {V5: 0x87, V311: 0x05}
VERSION_NAME = {V5: "MQTT 5", V311: "MQTT 3.1.1"}

CONNACK, PUBLISH, PUBACK, SUBACK, UNSUBACK, PINGRESP, DISCONNECT, AUTH = (
    2, 3, 4, 9, 11, 13, 14, 15)
TYPE_NAMES = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC", 6: "PUBREL",
              7: "PUBCOMP", 8: "SUBSCRIBE", 9: "SUBACK", 10: "UNSUBSCRIBE", 11: "UNSUBACK",
              12: "PINGREQ", 13: "PINGRESP", 14: "DISCONNECT", 15: "AUTH"}


# ---- the broker ----

class Broker(harness.Broker):
    """harness.Broker whose output is also kept as raw bytes (`raw_output`), split on b"\\n"
    only: the text pipe of harness.Broker translates a lone "\\r" into a line break, which would
    hide exactly what a log-injection test looks for."""

    def __init__(self, *overrides, data_dir=None, embedded_defaults=False):
        self.raw_output = []
        super().__init__(*overrides, data_dir=data_dir, embedded_defaults=embedded_defaults)

    def _read(self):
        # The text wrapper is never read: its binary buffer is, by this thread only.
        for raw in self.process.stdout.buffer:
            self.raw_output.append(raw)
            line = raw.rstrip(b"\n").decode("utf-8", "backslashreplace")
            self.output.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def raw_log(self):
        return b"".join(self.raw_output)


def broker_path():
    return os.environ["ACEMQ_BROKER"]


def write_password_file(path, users):
    """`users`: {name: password}; uses `acemq-broker passwd FILE add USER` (password on stdin)."""
    for name, password in users.items():
        subprocess.run([broker_path(), "passwd", path, "add", name], input=password + "\n",
                       text=True, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=60)


def write_file(path, text):
    with open(path, "w") as out:
        out.write(text)


class Workspace:
    """A template directory prepared once (development PKI, password file, ...) and copied for
    each test, so that every test runs its own broker on its own fresh data directory."""

    def __init__(self, users=None):
        self.template = tempfile.mkdtemp(prefix="acemq-security-template-")
        subprocess.run([os.environ["ACEMQ_DEV_PKI"], os.path.join(self.template, "var", "pki")],
                       check=True, stdout=subprocess.DEVNULL)
        if users:
            write_password_file(os.path.join(self.template, "passwd"), users)
        self.copies = []

    def fresh(self):
        directory = tempfile.mkdtemp(prefix="acemq-security-")
        shutil.rmtree(directory)
        shutil.copytree(self.template, directory)
        self.copies.append(directory)
        return directory

    def close(self):
        for directory in self.copies + [self.template]:
            shutil.rmtree(directory, ignore_errors=True)


# ---- raw MQTT ----

def varint(length):
    out = bytearray()
    while True:
        byte, length = length % 128, length // 128
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out)


def as_bytes(text):
    return text.encode("utf-8", "surrogateescape") if isinstance(text, str) else bytes(text)


def utf8(text):
    data = as_bytes(text)
    return struct.pack("!H", len(data)) + data


def decode_varint(data, offset):
    value, shift = 0, 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, offset


def property_block(items):
    body = b"".join(items)
    return varint(len(body)) + body


class Connack(collections.namedtuple("Connack", "session_present reason properties")):
    def __str__(self):
        return "CONNACK reason 0x%02x session present %d" % (self.reason, self.session_present)


class Publish(collections.namedtuple("Publish", "topic payload qos dup retain packet_id")):
    def __str__(self):
        return "PUBLISH %r %r qos %d%s%s" % (self.topic, self.payload, self.qos,
                                           " dup" if self.dup else "",
                                           " retain" if self.retain else "")


class Other(collections.namedtuple("Other", "kind first_byte body")):
    def reason(self):
        return self.body[0] if self.body else 0

    def __str__(self):
        name = TYPE_NAMES.get(self.kind, "type %d" % self.kind)
        if self.kind in (DISCONNECT, AUTH):
            return "%s reason 0x%02x" % (name, self.reason())
        return "%s %s" % (name, self.body.hex())


def describe(packets):
    return "[" + ", ".join(str(each) for each in packets) + "]"


class Closed(Exception):
    """The broker closed the connection while a packet was awaited."""


def client_tls_context(broker, certificate=True):
    context = ssl.create_default_context(cafile=broker.ca)
    if certificate:
        context.load_cert_chain(os.path.join(broker.pki, "client.pem"),
                                os.path.join(broker.pki, "client.key"))
    return context


class RawClient:
    """One MQTT connection over a plain socket (or TLS with `tls`, an ssl.SSLContext)."""

    def __init__(self, broker, version=V5, tls=None):
        self.version = version
        port = broker.tls_port if tls else broker.tcp_port
        connection = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        if tls:
            connection = tls.wrap_socket(connection, server_hostname="localhost")
        connection.settimeout(TIMEOUT)
        self.sock = connection
        self.pending = collections.deque()  # packets read while waiting for another one
        self.next_packet_id = 1
        self.closed = False

    # -- writing --

    def send(self, data):
        self.sock.sendall(data)

    def connect(self, client_id, clean_start=True, session_expiry=None, receive_maximum=None,
                username=None, password=None, will=None, auth_method=None, auth_data=None,
                keepalive=60):
        """Sends CONNECT and returns the Connack. `will`: (topic, payload, qos, retain)."""
        flags = 0x02 if clean_start else 0
        if will:
            flags |= 0x04 | (will[2] << 3) | (0x20 if will[3] else 0)
        if username is not None:
            flags |= 0x80
        if password is not None:
            flags |= 0x40
        variable = utf8("MQTT") + bytes([self.version, flags]) + struct.pack("!H", keepalive)
        if self.version == V5:
            items = []
            if session_expiry is not None:
                items.append(b"\x11" + struct.pack("!I", session_expiry))
            if receive_maximum is not None:
                items.append(b"\x21" + struct.pack("!H", receive_maximum))
            if auth_method is not None:
                items.append(b"\x15" + utf8(auth_method))
            if auth_data is not None:
                items.append(b"\x16" + utf8(auth_data))
            variable += property_block(items)
        payload = utf8(client_id)
        if will:
            if self.version == V5:
                payload += property_block([])
            payload += utf8(will[0]) + utf8(will[1])
        if username is not None:
            payload += utf8(username)
        if password is not None:
            payload += utf8(password)
        body = variable + payload
        self.send(b"\x10" + varint(len(body)) + body)
        return self.expect_connack()

    def subscribe(self, topic_filter, qos=1):
        """Subscribes one filter; returns the SUBACK reason code (the granted QoS, or an error)."""
        packet_id = self._packet_id()
        body = struct.pack("!H", packet_id)
        if self.version == V5:
            body += property_block([])
        body += utf8(topic_filter) + bytes([qos])
        self.send(b"\x82" + varint(len(body)) + body)
        suback = self._await(SUBACK)
        offset = 2
        if self.version == V5:
            length, offset = decode_varint(suback.body, offset)
            offset += length
        return suback.body[offset]

    def publish(self, topic, payload, qos=1, retain=False):
        """Publishes; at QoS 1 waits for the PUBACK and returns its reason code."""
        header = 0x30 | (qos << 1) | (1 if retain else 0)
        body = utf8(topic)
        packet_id = 0
        if qos:
            packet_id = self._packet_id()
            body += struct.pack("!H", packet_id)
        if self.version == V5:
            body += property_block([])
        body += as_bytes(payload)
        self.send(bytes([header]) + varint(len(body)) + body)
        if not qos:
            return None
        puback = self._await(PUBACK)
        return puback.body[2] if len(puback.body) > 2 else 0

    def puback(self, packet_id):
        self.send(b"\x40\x02" + struct.pack("!H", packet_id))

    def disconnect(self):
        self.send(b"\xe0\x01\x00" if self.version == V5 else b"\xe0\x00")
        self.close()

    def drop(self):
        """Closes abruptly (TCP RST, no DISCONNECT): the broker must treat it as a network
        failure and publish the Will [MQTT-3.1.2-8]."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass

    def _packet_id(self):
        packet_id = self.next_packet_id
        self.next_packet_id = packet_id % 65535 + 1
        return packet_id

    # -- reading --

    def _recv_exactly(self, count):
        data = b""
        while len(data) < count:
            try:
                chunk = self.sock.recv(count - len(data))
            except (ConnectionResetError, ssl.SSLError):
                chunk = b""
            if not chunk:
                raise Closed()
            data += chunk
        return data

    def read_raw(self):
        """(first byte, body) of the next packet from the socket; raises Closed at EOF."""
        first = self._recv_exactly(1)[0]
        length, shift = 0, 0
        while True:
            byte = self._recv_exactly(1)[0]
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        return first, self._recv_exactly(length) if length else b""

    def parse(self, first, body):
        kind = first >> 4
        if kind == CONNACK:
            session_present = body[0] & 1
            return Connack(session_present, body[1], body[2:])
        if kind == PUBLISH:
            qos = (first >> 1) & 3
            (length,) = struct.unpack_from("!H", body, 0)
            topic = body[2:2 + length].decode("utf-8", "surrogateescape")
            offset = 2 + length
            packet_id = 0
            if qos:
                (packet_id,) = struct.unpack_from("!H", body, offset)
                offset += 2
            if self.version == V5:
                properties_length, offset = decode_varint(body, offset)
                offset += properties_length
            return Publish(topic, body[offset:], qos, bool(first & 0x08), bool(first & 1),
                           packet_id)
        return Other(kind, first, body)

    def next_packet(self):
        """The next packet (parsed), from those read ahead first; raises Closed at EOF."""
        if self.pending:
            return self.pending.popleft()
        first, body = self.read_raw()
        return self.parse(first, body)

    def _await(self, kind):
        """Reads until a packet of `kind`; others are kept for next_packet()."""
        held = []
        try:
            while True:
                first, body = self.read_raw()
                packet = self.parse(first, body)
                if first >> 4 == kind:
                    return packet
                held.append(packet)
        except Closed:
            raise AssertionError("connection closed while awaiting %s; received %s"
                                 % (TYPE_NAMES[kind], describe(held))) from None
        finally:
            self.pending.extend(held)

    def expect_connack(self):
        packet = self.next_packet()
        if not isinstance(packet, Connack):
            raise AssertionError("expected CONNACK, received %s" % (packet,))
        return packet

    def receive_publish(self, ack=True):
        """The next packet, which must be a PUBLISH; acknowledged (QoS 1) when `ack`."""
        try:
            packet = self.next_packet()
        except Closed:
            raise AssertionError("connection closed while awaiting a PUBLISH") from None
        if not isinstance(packet, Publish):
            raise AssertionError("expected a PUBLISH, received %s" % (packet,))
        if ack and packet.qos == 1:
            self.puback(packet.packet_id)
        return packet

    def receive_until(self, topic, ack=True):
        """PUBLISH packets up to and including the first on `topic` (a marker)."""
        received = []
        while True:
            packet = self.receive_publish(ack=ack)
            received.append(packet)
            if packet.topic == topic:
                return received

    def read_until_closed(self):
        """Every packet until the broker closes the connection (socket timeout: an error)."""
        packets = list(self.pending)
        self.pending.clear()
        while True:
            try:
                first, body = self.read_raw()
            except Closed:
                return packets
            packets.append(self.parse(first, body))

    def read_for_a_while(self, seconds, ack=False):
        """A description of whatever arrives within `seconds` of quiet (QoS 1 messages
        acknowledged when `ack`, so that more follow), and whether the broker closed the
        connection. Only for describing a failure (what an attacker admitted by mistake
        received), never for a passing check."""
        packets = list(self.pending)
        self.pending.clear()
        self.sock.settimeout(seconds)
        ending = ""
        try:
            while True:
                first, body = self.read_raw()
                packet = self.parse(first, body)
                packets.append(packet)
                if ack and isinstance(packet, Publish) and packet.qos == 1:
                    self.puback(packet.packet_id)
        except Closed:
            ending = " and then the broker closed it"
        except (socket.timeout, OSError):
            pass
        try:
            self.sock.settimeout(TIMEOUT)
        except OSError:
            pass
        return describe(packets) + ending
