"""Shared helpers of the ACE security tests (ace_*_test.py in this directory).

Reuses the end-to-end ACE environment (tests/e2e/ace): the real acemq-as and acemq-broker
(ace_profile_e2e.Environment) with the broker also trusting the test issuer key of
ace_flows_e2e, so tokens can be minted for any principal (ace_flows_e2e.mint). Adds what an
attacker needs and the e2e raw client does not offer: MQTT 5 CONNECT with Clean Start 0, a
Session Expiry Interval and a Will, MQTT 3.1.1 over TLS with the proof of possession over the TLS
exporter (pyOpenSSL: Python's ssl module has no exporter), plain TCP, SUBSCRIBE, PUBLISH parsing,
and a second broker on the same AS with other settings.

Every wait is on an event (a packet, the end of a stream, an output line); the only bounded
waits that can end without an event are EVIDENCE_TIMEOUT reads, used after an attack already
succeeded, to say in the failure message what the attacker received.
"""

import os
import select
import shutil
import socket
import ssl
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e", "ace"))

import ace_flows_e2e as flows  # noqa: E402
import ace_profile_e2e as profile  # noqa: E402
from ace_flows_e2e import (b64url, binary, challenge_answer, mint, parse_properties,  # noqa: E402,F401
                           public_jwk, token_only, utf8, varint)

from OpenSSL import SSL as OPENSSL  # python3-openssl: Python's ssl module has no exporter

STEP_TIMEOUT = profile.STEP_TIMEOUT
EVIDENCE_TIMEOUT = 5

# Packet types.
CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = 8, 9, 12, 13, 14, 15
TYPE_NAMES = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC", 6: "PUBREL",
              7: "PUBCOMP", 8: "SUBSCRIBE", 9: "SUBACK", 10: "UNSUBSCRIBE", 11: "UNSUBACK",
              12: "PINGREQ", 13: "PINGRESP", 14: "DISCONNECT", 15: "AUTH"}

# Reason codes.
SUCCESS = 0x00
UNSPECIFIED_ERROR = 0x80
NOT_AUTHORIZED = 0x87
BAD_AUTHENTICATION_METHOD = 0x8C
SESSION_TAKEN_OVER = 0x8E
CONTINUE_AUTHENTICATION = 0x18
V311_NOT_AUTHORIZED = 5  # MQTT 3.1.1 CONNACK return code

EXPORTER_LABEL = b"EXPORTER-ACE-MQTT-Sign-Challenge"  # RFC 9431 2.2.4.2.1


def scope(*entries):
    """AIF-MQTT scope text: scope(("alice/#", "pub", "sub"), ...)."""
    return "[" + ",".join('["%s",[%s]]' % (entry[0], ",".join('"%s"' % p for p in entry[1:]))
                          for entry in entries) + "]"


def principal_token(name, token_scope, **overrides):
    """(token, PoP key) minted by the test issuer for the client `name` (sub and client_id)."""
    overrides.setdefault("sub", name)
    overrides.setdefault("client_id", name)
    token, pop, _ = mint(scope=token_scope, **overrides)
    return token, pop


class SecurityEnvironment(profile.Environment):
    """The e2e AS + broker, the broker trusting the test issuer (ace_flows_e2e.broker_settings),
    with a generous authz-info upload budget, optionally a plain TCP listener too, and `settings`
    as further broker --set overrides."""

    def __init__(self, settings=None, tcp=False):
        def extra(env):
            values = flows.broker_settings(env)
            values["ace.store.uploads_burst"] = "200"
            values["ace.store.uploads_per_second"] = "50"
            values.update(settings or {})
            return values

        super().__init__(extra)
        self.tcp = tcp
        self.tcp_port = None

    def write(self, name, text, mode=0o600):
        if name == "broker.toml" and self.tcp:
            text += "\n".join(["[[listener]]", 'name = "tcp"', 'type = "tcp"', 'address = "127.0.0.1"',
                               "port = 0", ""])
        return super().write(name, text, mode)

    def start(self):
        super().start()
        self.use()

    def use(self):
        """Points the e2e modules' globals (their credentials helpers) at this environment."""
        flows.ENV = self
        profile.ENV = self

    def start_broker(self):
        super().start_broker()
        # The listening lines may come in either order: read every one printed so far, wait for
        # the next one while some listener is missing.
        wanted = {"tls", "tcp"} if self.tcp else {"tls"}
        ports = {}
        while True:
            for line in list(self.broker.output):
                found = profile.LISTENING.match(line)
                if found:
                    ports[found.group(1)] = int(found.group(4))
            if wanted <= ports.keys():
                break
            self.broker.wait_for(profile.LISTENING.pattern)
        self.broker_port = ports["tls"]
        self.tcp_port = ports.get("tcp")


def started(environment):
    """Starts `environment` (a module's setUpModule); on failure stops what did start, then
    raises."""
    try:
        environment.start()
    except Exception:
        environment.stop()
        raise
    return environment


class SiblingBroker(SecurityEnvironment):
    """A second broker trusting the same AS and test issuer, with other settings, in a directory
    of its own (its own database), with a copy of the primary's development PKI."""

    def __init__(self, primary, settings=None, tcp=False):
        super().__init__(settings, tcp)
        self.primary = primary

    def start(self):
        shutil.copytree(self.primary.path("pki"), self.path("pki"))
        self.as_url, self.as_certificate = self.primary.as_url, self.primary.as_certificate
        self.start_broker()


class Packet:
    def __init__(self, kind, flags, body, version):
        self.kind, self.flags, self.body, self.version = kind, flags, body, version

    def __repr__(self):
        name = TYPE_NAMES.get(self.kind, str(self.kind))
        if self.kind == PUBLISH:
            return "PUBLISH(%s %r qos %d dup %d)" % (self.topic, self.payload, self.qos, self.dup)
        if self.kind in (CONNACK, DISCONNECT, AUTH, PUBACK):
            return "%s(0x%02X)" % (name, self.reason)
        return name

    # CONNACK
    @property
    def session_present(self):
        return bool(self.body[0] & 1)

    @property
    def reason(self):
        """CONNACK reason / return code, PUBACK, DISCONNECT or AUTH reason (absent = 0)."""
        if self.kind == CONNACK:
            return self.body[1]
        if self.kind == PUBACK:
            return self.body[2] if len(self.body) > 2 else SUCCESS
        if self.kind in (DISCONNECT, AUTH):
            return self.body[0] if self.body else SUCCESS
        raise AssertionError("no reason in %s" % TYPE_NAMES.get(self.kind))

    @property
    def properties(self):
        if self.version != 5:
            return {}
        if self.kind == CONNACK and len(self.body) > 2:
            return parse_properties(self.body, 2)[0]
        if self.kind in (DISCONNECT, AUTH) and len(self.body) > 1:
            return parse_properties(self.body, 1)[0]
        return {}

    @property
    def suback_reasons(self):
        offset = 2
        if self.version == 5:
            offset = parse_properties(self.body, 2)[1]
        return list(self.body[offset:])

    # PUBLISH
    @property
    def qos(self):
        return (self.flags >> 1) & 3

    @property
    def dup(self):
        return (self.flags >> 3) & 1

    def _publish_fields(self):
        size = struct.unpack_from(">H", self.body, 0)[0]
        topic = self.body[2:2 + size].decode()
        offset = 2 + size
        packet_id = None
        if self.qos:
            packet_id = struct.unpack_from(">H", self.body, offset)[0]
            offset += 2
        if self.version == 5:
            offset = parse_properties(self.body, offset)[1]
        return topic, packet_id, self.body[offset:]

    @property
    def topic(self):
        return self._publish_fields()[0]

    @property
    def packet_id(self):
        if self.kind == PUBLISH:
            return self._publish_fields()[1]
        return struct.unpack_from(">H", self.body, 0)[0]

    @property
    def payload(self):
        return self._publish_fields()[2]


class _Closed(Exception):
    pass


class _PlainTransport:
    def __init__(self, plain):
        self.socket = plain

    def sendall(self, data):
        self.socket.sendall(data)

    def recv(self, size, timeout):
        self.socket.settimeout(timeout)
        try:
            return self.socket.recv(size)
        except socket.timeout:
            raise TimeoutError() from None
        except (ConnectionError, ssl.SSLError, OSError):
            return b""

    def close(self):
        try:
            self.socket.close()
        except OSError:
            pass


class _ExporterTransport:
    """TLS through pyOpenSSL, for the TLS exporter (RFC 5705 / RFC 8446 7.5)."""

    def __init__(self, plain, cafile):
        context = OPENSSL.Context(OPENSSL.TLS_CLIENT_METHOD)
        context.load_verify_locations(cafile)
        context.set_verify(OPENSSL.VERIFY_PEER, lambda _c, _x, _e, _d, ok: bool(ok))
        plain.settimeout(None)
        self.plain = plain
        self.connection = OPENSSL.Connection(context, plain)
        self.connection.set_connect_state()
        self.connection.do_handshake()

    def exporter(self, label, length):
        # An empty, present context: RFC 9431 2.2.4.2.1.
        return self.connection.export_keying_material(label, length, b"")

    def sendall(self, data):
        self.connection.sendall(data)

    def recv(self, size, timeout):
        deadline = time.monotonic() + timeout
        while True:
            if self.connection.pending() == 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not select.select([self.plain], [], [], remaining)[0]:
                    raise TimeoutError()
            try:
                return self.connection.recv(size)
            except OPENSSL.WantReadError:
                continue  # a record not complete yet, or a post-handshake message
            except (OPENSSL.ZeroReturnError, OPENSSL.SysCallError, OPENSSL.Error, OSError):
                return b""

    def close(self):
        try:
            self.connection.close()
        except Exception:
            pass


class MqttClient:
    """One connection to the broker speaking MQTT packet by packet.

    transport: "tls" (Python ssl), "exporter" (TLS through pyOpenSSL, for the exporter PoP) or
    "tcp" (the broker's plain listener). version: 5 or 4 (3.1.1)."""

    def __init__(self, env, version=5, transport="tls", source="127.0.0.1", port=None):
        self.version = version
        if port is None:
            port = env.tcp_port if transport == "tcp" else env.broker_port
        plain = socket.create_connection(("127.0.0.1", port), timeout=STEP_TIMEOUT,
                                         source_address=(source, 0))
        cafile = env.path("pki", "ca.pem")
        if transport == "tls":
            context = ssl.create_default_context(cafile=cafile)
            context.check_hostname = False  # the chain is verified
            self.transport = _PlainTransport(context.wrap_socket(plain))
        elif transport == "exporter":
            self.transport = _ExporterTransport(plain, cafile)
        else:
            self.transport = _PlainTransport(plain)
        self.buffer = b""
        self.ended = False
        self.received = []  # every packet read, for failure messages

    def close(self):
        self.transport.close()

    def exporter_pop(self, pop_key):
        """RFC 9431 2.2.4.2.1 / 6.1: Ed25519 signature over the exporter value."""
        return pop_key.sign(self.transport.exporter(EXPORTER_LABEL, 32))

    # --- bytes -------------------------------------------------------------------------------

    def send(self, first_byte, body):
        self.transport.sendall(bytes([first_byte]) + varint(len(body)) + body)

    def send_raw(self, data):
        self.transport.sendall(data)

    @staticmethod
    def frame(first_byte, body):
        return bytes([first_byte]) + varint(len(body)) + body

    def _fill(self, count, deadline):
        while len(self.buffer) < count:
            chunk = self.transport.recv(65536, max(deadline - time.monotonic(), 0.001))
            if not chunk:
                self.ended = True
                raise _Closed()
            self.buffer += chunk

    def read(self, timeout=STEP_TIMEOUT):
        """The next packet, or None at the end of the stream; TimeoutError after `timeout`."""
        if self.ended:
            return None
        deadline = time.monotonic() + timeout
        try:
            self._fill(2, deadline)
            length, shift, offset = 0, 0, 1
            while True:
                self._fill(offset + 1, deadline)
                byte = self.buffer[offset]
                offset += 1
                length |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            self._fill(offset + length, deadline)
        except _Closed:
            return None
        first = self.buffer[0]
        body = self.buffer[offset:offset + length]
        self.buffer = self.buffer[offset + length:]
        packet = Packet(first >> 4, first & 0x0F, body, self.version)
        self.received.append(packet)
        return packet

    def read_until_end(self, timeout=STEP_TIMEOUT):
        """Every packet until the broker closes the connection."""
        packets = []
        while True:
            packet = self.read(timeout)
            if packet is None:
                return packets
            packets.append(packet)

    def evidence(self):
        """After an attack succeeded: what else arrives within EVIDENCE_TIMEOUT."""
        packets = []
        try:
            while True:
                packet = self.read(EVIDENCE_TIMEOUT)
                if packet is None:
                    packets.append("<end of stream>")
                    return packets
                packets.append(packet)
        except TimeoutError:
            return packets

    # --- packets -----------------------------------------------------------------------------

    def connect(self, client_id, clean_start=True, expiry=None, method=None, data=None, will=None,
                username=None, password=None, keep_alive=60):
        """Sends CONNECT. will: dict(topic, payload, qos=1, retain=False, delay=0)."""
        flags = 0x02 if clean_start else 0x00
        payload = utf8(client_id)
        if will:
            flags |= 0x04 | (will.get("qos", 1) << 3) | (0x20 if will.get("retain") else 0)
            if self.version == 5:
                will_properties = b""
                if will.get("delay"):
                    will_properties += b"\x18" + struct.pack(">I", will["delay"])
                payload += varint(len(will_properties)) + will_properties
            payload += utf8(will["topic"]) + binary(will["payload"])
        if username is not None:
            flags |= 0x80
            payload += utf8(username)
        if password is not None:
            flags |= 0x40
            payload += binary(password)
        header = utf8("MQTT") + bytes([self.version, flags]) + struct.pack(">H", keep_alive)
        if self.version == 5:
            properties = b""
            if expiry is not None:
                properties += b"\x11" + struct.pack(">I", expiry)
            if method is not None:
                properties += b"\x15" + utf8(method)
            if data is not None:
                properties += b"\x16" + binary(data)
            header += varint(len(properties)) + properties
        self.send(0x10, header + payload)

    def auth(self, reason, data, method="ace"):
        properties = b"\x15" + utf8(method) + b"\x16" + binary(data)
        self.send(0xF0, bytes([reason]) + varint(len(properties)) + properties)

    def ace_connect(self, token, pop, client_id, clean_start=True, expiry=None, will=None):
        """MQTT 5 ACE CONNECT by challenge/response (RFC 9431 2.2.4.2.2). token None: a CONNECT
        without a token (the broker challenges the token it holds for the client). Answers a
        challenge with `pop`. Returns the CONNACK (None if the broker closed without one)."""
        self.connect(client_id, clean_start, expiry, "ace",
                     token_only(token) if token is not None else None, will)
        packet = self.read()
        if packet is not None and packet.kind == AUTH and packet.reason == CONTINUE_AUTHENTICATION:
            self.auth(CONTINUE_AUTHENTICATION, challenge_answer(pop, packet.properties[0x16]))
            packet = self.read()
        if packet is not None and packet.kind != CONNACK:
            raise AssertionError("expected CONNACK, got %r" % packet)
        return packet

    def ace_connect_v311(self, token, pop, client_id, clean_session=True):
        """MQTT 3.1.1 ACE CONNECT (RFC 9431 6.1): user name "ace" + base64url(token), password the
        PoP over the TLS exporter (needs transport="exporter")."""
        username = "ace" + b64url(token.encode())
        self.connect(client_id, clean_session, username=username, password=self.exporter_pop(pop))
        packet = self.read()
        if packet is not None and packet.kind != CONNACK:
            raise AssertionError("expected CONNACK, got %r" % packet)
        return packet

    def subscribe(self, topic_filter, qos=1, packet_id=1):
        body = struct.pack(">H", packet_id)
        if self.version == 5:
            body += varint(0)
        self.send(0x82, body + utf8(topic_filter) + bytes([qos]))
        packet = self.expect(SUBACK)
        return packet.suback_reasons

    def publish_packet(self, topic, payload, qos=0, packet_id=1, retain=False):
        body = utf8(topic)
        if qos:
            body += struct.pack(">H", packet_id)
        if self.version == 5:
            body += varint(0)
        payload = payload.encode() if isinstance(payload, str) else payload
        return self.frame(0x30 | (qos << 1) | (1 if retain else 0), body + payload)

    def publish(self, topic, payload, qos=0, packet_id=1):
        self.send_raw(self.publish_packet(topic, payload, qos, packet_id))

    def publish_qos1(self, topic, payload, packet_id=1):
        """PUBLISH at QoS 1; returns the PUBACK (PUBLISH packets read meanwhile are kept in
        self.received)."""
        self.publish(topic, payload, 1, packet_id)
        return self.expect(PUBACK)

    def puback(self, packet_id):
        self.send(0x40, struct.pack(">H", packet_id))

    def pingreq_packet(self):
        return b"\xC0\x00"

    def disconnect(self):
        """DISCONNECT (reason 0) and the broker's close."""
        self.send(0xE0, b"")
        return self.read_until_end()

    def expect(self, kind, skip_publish=True):
        """The next packet of type `kind`, skipping PUBLISH packets (they stay in self.received)."""
        while True:
            packet = self.read()
            if packet is None:
                raise AssertionError("connection closed while waiting for %s; received %r"
                                     % (TYPE_NAMES[kind], self.received))
            if packet.kind == kind:
                return packet
            if not (skip_publish and packet.kind == PUBLISH):
                raise AssertionError("expected %s, got %r" % (TYPE_NAMES[kind], packet))

    def publishes(self):
        return [p for p in self.received if isinstance(p, Packet) and p.kind == PUBLISH]


def ace_client(env, name, token_scope, client_id=None, **kwargs):
    """A connected MQTT 5 ACE client of principal `name` (Clean Start 1)."""
    token, pop = principal_token(name, token_scope)
    client = MqttClient(env, **kwargs)
    connack = client.ace_connect(token, pop, client_id or "%s-%s" % (name, b64url(os.urandom(6))))
    if connack is None or connack.reason != SUCCESS:
        client.close()
        raise AssertionError("%s could not connect: %r\n%s" % (name, connack, env.logs()))
    return client
