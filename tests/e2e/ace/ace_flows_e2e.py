#!/usr/bin/env python3
"""End to end: the ACE flows beyond a plain CONNECT (RFC 9431), with the real binaries.

The environment of ace_profile_e2e.py (acemq-as, acemq-broker trusting it) plus, on the broker:
  * a second trusted issuer key held by this script (ace.keys_file), so it can mint tokens the AS
    never would: expired, not yet valid, short-lived, `alg: none`, signed by an unknown key;
  * AS discovery (ace_as_hint with a cnonce), a fast revocation poll, a small authz-info burst.

Covered: re-authentication (AUTH 0x19) with a narrower token that prunes a subscription and with
a worse token (DISCONNECT 0x87), by the `acemq` CLI and by MQTT.js; revocation at the AS while
connected; authz-info upload then a CONNECT without the token; authz-info refusals (0x87, 0x99,
QoS 0 DISCONNECT) and its flood bound; expiry of a connected client (v5 and 3.1.1); the
ace_as_hint of a tokenless CONNECT and the CLI following it; refused tokens (expired, not yet
valid, alg none, unknown key), a Will outside the scope, a replayed challenge response and
truncated Authentication Data, the last ones through a raw MQTT 5 socket.

Every wait is on an event (an output line, a packet, a process exit), never on a sleep.
"""

import base64
import json
import os
import re
import socket
import ssl
import struct
import subprocess
import sys
import time
import unittest
import urllib.parse
import urllib.request

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ace_profile_e2e import (AUDIENCE, CLIENT_ID, CLIENT_SECRET, ISSUER, OTHER_AUDIENCE,  # noqa: E402
                             STEP_TIMEOUT, Environment, ProcessOutput)

TEST_ISSUER_KID = "e2e-test-issuer"
TEST_ISSUER_KEY = Ed25519PrivateKey.generate()
UNKNOWN_KEY = Ed25519PrivateKey.generate()
UPLOADS_BURST = 5
REVOCATION_POLL_MS = 200
SCRIPT_DIR = os.path.dirname(os.path.abspath(__file__))

NOT_AUTHORIZED = 0x87
PAYLOAD_FORMAT_INVALID = 0x99
QUOTA_EXCEEDED = 0x97
CONTINUE_AUTHENTICATION = 0x18


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_public(key):
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_jwk(key, kid=None):
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw_public(key))}
    if kid:
        jwk["kid"] = kid
    return jwk


def private_jwk(key):
    jwk = public_jwk(key)
    jwk["d"] = b64url(key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption()))
    return jwk


def broker_settings(env):
    keys = env.write("test-issuer-keys.json", json.dumps({"keys": [dict(
        public_jwk(TEST_ISSUER_KEY, TEST_ISSUER_KID), alg="EdDSA", use="sig")]}))
    return {
        "ace.keys_file": keys,
        "ace.discovery.as_uri": env.as_url,
        "ace.discovery.issue_cnonce": "true",
        "ace.revocation_poll_interval_ms": str(REVOCATION_POLL_MS),
        "ace.store.uploads_burst": str(UPLOADS_BURST),
        "ace.store.uploads_per_second": "0.02",
    }


ENV = None


def setUpModule():
    global ENV
    ENV = Environment(broker_settings)
    try:
        ENV.start()
    except Exception:
        ENV.stop()
        raise


def tearDownModule():
    ENV.stop()


# --- tokens ---------------------------------------------------------------------------------------

def mint(scope='[["demo/#",["pub","sub"]]]', lifetime=600, signer=TEST_ISSUER_KEY, kid=TEST_ISSUER_KID,
         algorithm="EdDSA", **overrides):
    """A JWT from the script's own issuer key, bound to a fresh Ed25519 PoP key (cnf.jwk).
    Returns (token text, PoP private key, exp). A claim overridden with None is left out."""
    pop = Ed25519PrivateKey.generate()
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": CLIENT_ID, "client_id": CLIENT_ID, "iat": now,
              "exp": now + lifetime, "jti": b64url(os.urandom(12)), "scope": b64url(scope.encode()),
              "ace_profile": "mqtt_tls", "cnf": {"jwk": public_jwk(pop)}}
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    if algorithm == "none":
        header = b64url(json.dumps({"alg": "none", "typ": "at+jwt"}).encode())
        token = header + "." + b64url(json.dumps(claims).encode()) + "."
    else:
        token = jwt.encode(claims, signer, algorithm=algorithm, headers={"kid": kid, "typ": "at+jwt"})
    return token, pop, claims["exp"]


def write_credentials(name, token, pop, expires_at, scope='[["demo/#",["pub","sub"]]]'):
    """The `acemq token get --out` file form for a minted token."""
    return ENV.write(name, json.dumps({"token": b64url(token.encode()), "pop_key": private_jwk(pop),
                                       "expires_at": expires_at, "scope": scope, "audience": AUDIENCE,
                                       "as": ENV.as_url}))


def minted_credentials(name, **kwargs):
    token, pop, exp = mint(**kwargs)
    return write_credentials(name, token, pop, exp)


def client(*arguments):
    return [os.environ["ACEMQ_CLIENT"], *arguments]


def token_get(name, audience=AUDIENCE, scope='[["demo/#",["pub","sub"]]]'):
    out = ENV.path(name)
    result = subprocess.run(client("token", "get", "--as", ENV.as_url, "--as-cafile", ENV.as_certificate,
                                   "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET,
                                   "--audience", audience, "--scope", scope, "--out", out),
                            capture_output=True, text=True, timeout=STEP_TIMEOUT)
    if result.returncode != 0:
        raise RuntimeError("acemq token get: " + result.stdout + result.stderr)
    return out


def token_text(credentials):
    with open(credentials) as handle:
        return base64.urlsafe_b64decode(json.load(handle)["token"] + "==").decode()


def broker_flags(credentials=None, mqtt="5", pop="exporter"):
    flags = ["-h", "127.0.0.1", "-p", str(ENV.broker_port), "--cafile", ENV.path("pki", "ca.pem"),
             "--mqtt", mqtt]
    if credentials:
        flags += ["--credentials", credentials, "--pop", pop]
    return flags


def run_client(*arguments):
    return subprocess.run(client(*arguments), capture_output=True, text=True, timeout=STEP_TIMEOUT)


def publish(credentials, topic, message, mqtt="5", pop="exporter", *extra):
    return run_client("pub", *broker_flags(credentials, mqtt, pop), "-t", topic, "-m", message, "-q", "1",
                      *extra)


# --- a raw MQTT 5 client over TLS, for what no well-behaved client sends ----------------------------

def varint(value):
    out = bytearray()
    while True:
        byte = value % 128
        value //= 128
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def utf8(text):
    data = text.encode()
    return struct.pack(">H", len(data)) + data


def binary(data):
    return struct.pack(">H", len(data)) + data


def property_block(method=None, data=None):
    body = b""
    if method is not None:
        body += b"\x15" + utf8(method)
    if data is not None:
        body += b"\x16" + binary(data)
    return varint(len(body)) + body


# Property identifier -> how its value is laid out (MQTT 5.0 2.2.2.2).
PROPERTY_LAYOUT = {0x01: "byte", 0x02: "u32", 0x03: "str", 0x08: "str", 0x09: "bin", 0x0B: "var",
                   0x11: "u32", 0x12: "str", 0x13: "u16", 0x15: "str", 0x16: "bin", 0x17: "byte",
                   0x18: "u32", 0x19: "byte", 0x1A: "str", 0x1C: "str", 0x1F: "str", 0x21: "u16",
                   0x22: "u16", 0x23: "u16", 0x24: "byte", 0x25: "byte", 0x26: "pair", 0x27: "u32",
                   0x28: "byte", 0x29: "byte", 0x2A: "byte"}


def read_varint(data, offset):
    value, shift = 0, 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, offset


def parse_properties(data, offset):
    """(dict id -> value or list for user properties, offset after the block)."""
    length, offset = read_varint(data, offset)
    end = offset + length
    found = {}
    while offset < end:
        identifier = data[offset]
        offset += 1
        layout = PROPERTY_LAYOUT[identifier]
        if layout == "byte":
            value, offset = data[offset], offset + 1
        elif layout == "u16":
            value, offset = struct.unpack_from(">H", data, offset)[0], offset + 2
        elif layout == "u32":
            value, offset = struct.unpack_from(">I", data, offset)[0], offset + 4
        elif layout == "var":
            value, offset = read_varint(data, offset)
        elif layout in ("str", "bin"):
            size = struct.unpack_from(">H", data, offset)[0]
            value = data[offset + 2:offset + 2 + size]
            value = value.decode() if layout == "str" else bytes(value)
            offset += 2 + size
        else:
            pair = []
            for _ in range(2):
                size = struct.unpack_from(">H", data, offset)[0]
                pair.append(data[offset + 2:offset + 2 + size].decode())
                offset += 2 + size
            found.setdefault(identifier, []).append(tuple(pair))
            continue
        found[identifier] = value
    return found, end


class RawClient:
    """One TLS connection speaking MQTT 5 packet by packet; reads block up to STEP_TIMEOUT."""

    def __init__(self, source="127.0.0.1"):
        context = ssl.create_default_context(cafile=ENV.path("pki", "ca.pem"))
        context.check_hostname = False  # the chain is verified; the CLI tests check the name
        plain = socket.create_connection(("127.0.0.1", ENV.broker_port), timeout=STEP_TIMEOUT,
                                         source_address=(source, 0))
        self.socket = context.wrap_socket(plain)

    def close(self):
        self.socket.close()

    def send(self, first_byte, body):
        self.socket.sendall(bytes([first_byte]) + varint(len(body)) + body)

    def _exactly(self, count):
        data = b""
        while len(data) < count:
            chunk = self.socket.recv(count - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def read(self):
        """(packet type, body) or (None, b"") at the end of the stream."""
        first = self._exactly(1)
        if first is None:
            return None, b""
        length, shift = 0, 0
        while True:
            byte = self._exactly(1)[0]
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        return first[0] >> 4, self._exactly(length) if length else b""

    def connect(self, client_id, method=None, data=None, will_topic=None):
        flags = 0x02
        payload = utf8(client_id)
        if will_topic is not None:
            flags |= 0x04
            payload += varint(0) + utf8(will_topic) + binary(b"last words")
        self.send(0x10, utf8("MQTT") + bytes([5, flags]) + struct.pack(">H", 30) +
                  property_block(method, data) + payload)

    def auth(self, reason, data):
        self.send(0xF0, bytes([reason]) + property_block("ace", data))

    def publish_qos1(self, topic, payload, packet_id=1):
        self.send(0x32, utf8(topic) + struct.pack(">H", packet_id) + varint(0) + payload)

    def publish_qos0(self, topic, payload):
        self.send(0x30, utf8(topic) + varint(0) + payload)

    def expect(self, packet_type):
        """The next packet's (reason code, properties); fails on another packet type."""
        kind, body = self.read()
        if kind != packet_type:
            raise AssertionError("expected packet type %d, got %r %r" % (packet_type, kind, body[:32]))
        if kind == 2:  # CONNACK: flags, reason, properties
            properties, _ = parse_properties(body, 2)
            return body[1], properties
        if kind == 4:  # PUBACK: packet id, reason (absent = success), properties
            if len(body) == 2:
                return 0, {}
            return body[2], (parse_properties(body, 3)[0] if len(body) > 3 else {})
        if kind in (14, 15):  # DISCONNECT, AUTH: reason (absent = success), properties
            if not body:
                return 0, {}
            return body[0], (parse_properties(body, 1)[0] if len(body) > 1 else {})
        return None, {}

    def expect_end(self):
        kind, _ = self.read()
        return kind is None


def token_only(token):
    data = token.encode() if isinstance(token, str) else token
    return struct.pack(">H", len(data)) + data


def challenge_answer(pop, rs_nonce, client_nonce=None):
    """RFC 9431 2.2.4.2.2: client_nonce (8 bytes) || Ed25519 signature over rs_nonce || client_nonce."""
    client_nonce = client_nonce or os.urandom(8)
    return client_nonce + pop.sign(rs_nonce + client_nonce)


def revoke_at_as(token):
    """RFC 7009: the client revokes its own access token at the AS /revoke endpoint."""
    context = ssl.create_default_context(cafile=ENV.as_certificate)
    context.check_hostname = False
    request = urllib.request.Request(
        ENV.as_url + "/revoke", data=urllib.parse.urlencode({"token": token}).encode(), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Authorization": "Basic " + base64.b64encode(
                     ("%s:%s" % (CLIENT_ID, CLIENT_SECRET)).encode()).decode()})
    with urllib.request.urlopen(request, context=context, timeout=STEP_TIMEOUT) as response:
        return response.status


class Reauthentication(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broad = token_get("reauth-broad.json")
        # demo/r/a to publish and subscribe, demo/r/b to publish only: after re-authentication the
        # subscription to demo/r/b is no longer allowed (RFC 9431 4).
        cls.narrow = token_get("reauth-narrow.json",
                               scope='[["demo/r/a",["pub","sub"]],["demo/r/b",["pub"]]]')
        cls.other_audience = token_get("reauth-other.json", OTHER_AUDIENCE)

    def test_cli_new_scope_prunes_subscriptions(self):
        subscriber = ProcessOutput(client("sub", *broker_flags(self.broad, "5", "challenge"),
                                          "-t", "demo/r/a", "-t", "demo/r/b", "-q", "1", "-C", "1",
                                          "--reauth-with", self.narrow))
        try:
            subscriber.wait_for(r"^subscribed$")
            subscriber.wait_for(r"^re-authenticated$")
            # Routed (PUBACK) before the next publish starts: the subscriber would get it first.
            pruned = publish(self.broad, "demo/r/b", "pruned")
            self.assertEqual(pruned.returncode, 0, pruned.stdout + pruned.stderr)
            kept = publish(self.broad, "demo/r/a", "kept")
            self.assertEqual(kept.returncode, 0, kept.stdout + kept.stderr)
            subscriber.wait_for(r"^demo/r/a kept$")
            code, output = subscriber.finish()
            self.assertEqual(code, 0, output + "\n" + ENV.logs())
            self.assertNotIn("pruned", output)
        finally:
            subscriber.stop()

    def test_cli_worse_token_disconnects(self):
        # RFC 9431 4: a failed re-authentication ends the connection with DISCONNECT 0x87.
        expired = minted_credentials("reauth-expired.json", lifetime=-60, iat=int(time.time()) - 120)
        for name, worse in (("other audience", self.other_audience), ("expired", expired)):
            with self.subTest(worse=name):
                subscriber = ProcessOutput(client("sub", *broker_flags(self.broad, "5", "exporter"),
                                                  "-t", "demo/r/a", "-q", "1", "--reauth-with", worse))
                try:
                    subscriber.wait_for(r"^subscribed$")
                    code, output = subscriber.finish()
                    self.assertNotEqual(code, 0, output)
                    self.assertIn("server_disconnected (not_authorized)", output)
                    self.assertNotIn("re-authenticated", output)
                finally:
                    subscriber.stop()

    @unittest.skipUnless(os.environ.get("ACEMQ_NODE"), "node not found")
    def test_mqttjs_reauthentication(self):
        node = subprocess.run([os.environ["ACEMQ_NODE"], os.path.join(SCRIPT_DIR, "mqttjs_ace_client.mjs"),
                               "reauth", str(ENV.broker_port), ENV.path("pki", "ca.pem"), self.broad,
                               "reauth-%d" % time.monotonic_ns(), self.narrow, self.other_audience],
                              capture_output=True, text=True, timeout=STEP_TIMEOUT)
        self.assertEqual(node.returncode, 0, node.stdout + node.stderr + "\n" + ENV.logs())
        self.assertIn("re-authenticated", node.stdout)
        self.assertIn("pruned subscription demo/r/b", node.stdout)
        self.assertIn("worse token disconnect 135", node.stdout)


class Revocation(unittest.TestCase):
    def run_revoked(self, mqtt, expected):
        credentials = token_get("revoked-%s.json" % mqtt)
        subscriber = ProcessOutput(client("sub", *broker_flags(credentials, mqtt, "exporter"),
                                          "-t", "demo/revoked", "-q", "1"))
        try:
            subscriber.wait_for(r"^subscribed$")
            self.assertEqual(revoke_at_as(token_text(credentials)), 200)
            # RFC 9431 3.2: the broker polls the AS revocation list and ends the connection.
            code, output = subscriber.finish(timeout=STEP_TIMEOUT)
            self.assertNotEqual(code, 0, output)
            self.assertIn(expected, output, ENV.logs())
        finally:
            subscriber.stop()
        # The revoked token no longer connects at all.
        refused = publish(credentials, "demo/revoked", "again", mqtt)
        self.assertIn("connection_refused (not_authorized)", refused.stderr)

    def test_v5_gets_disconnect_0x87(self):
        self.run_revoked("5", "server_disconnected (not_authorized)")

    def test_v311_is_disconnected(self):
        self.run_revoked("3.1.1", "server_disconnected")


class AuthzInfo(unittest.TestCase):
    def test_upload_then_connect_without_the_token(self):
        credentials = token_get("authz-info.json")
        uploaded = run_client("authz-info", *broker_flags(), "--credentials", credentials, "-i",
                              "held-client")
        self.assertEqual(uploaded.returncode, 0, uploaded.stdout + uploaded.stderr)
        self.assertIn("authz-info: token stored", uploaded.stdout)
        # RFC 9431 2.2.4.2.2: CONNECT without a token; the broker challenges the stored one.
        held = publish(credentials, "demo/held", "by the stored token", "5", "challenge", "--token-held",
                       "-i", "held-client")
        self.assertEqual(held.returncode, 0, held.stdout + held.stderr + "\n" + ENV.logs())
        # Control: a client identifier the broker holds no token for is refused.
        fresh = token_get("authz-info-unused.json")
        refused = publish(fresh, "demo/held", "nothing held", "5", "challenge", "--token-held", "-i",
                          "held-nobody")
        self.assertIn("connection_refused (not_authorized)", refused.stderr)

    def test_stored_token_survives_a_broker_restart(self):
        # RFC 9431 2.4.2: the broker keeps tokens for later connections; with persistence on (the
        # default) they are in its database and validated again when it starts.
        credentials = token_get("authz-info-restart.json")
        uploaded = run_client("authz-info", *broker_flags(), "--credentials", credentials, "-i",
                              "restart-client")
        self.assertEqual(uploaded.returncode, 0, uploaded.stdout + uploaded.stderr)
        ENV.broker.stop()
        ENV.start_broker()
        # Validation may wait for the AS keys: poll the log for its outcome (an event, not a delay).
        deadline = time.monotonic() + STEP_TIMEOUT
        while "ace: restored a stored token" not in ENV.broker.log():
            self.assertLess(time.monotonic(), deadline, ENV.logs())
            time.sleep(0.05)
        held = publish(credentials, "demo/held", "after a restart", "5", "challenge", "--token-held",
                       "-i", "restart-client")
        self.assertEqual(held.returncode, 0, held.stdout + held.stderr + "\n" + ENV.logs())

    def anonymous(self, source="127.0.0.1", client_id="authz-info-raw"):
        raw = RawClient(source)
        raw.connect(client_id)
        reason, _ = raw.expect(2)
        self.assertEqual(reason, 0)  # TLS:Anon,MQTT:None reaches the public authz-info topic
        return raw

    def test_refusals(self):
        raw = self.anonymous()
        try:
            token, _, _ = mint()
            forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
            # RFC 9431 2.2.2: an invalid token -> 0x87; not a token at all -> 0x99.
            raw.publish_qos1("authz-info", forged.encode(), 1)
            self.assertEqual(raw.expect(4)[0], NOT_AUTHORIZED)
            raw.publish_qos1("authz-info", b"hello, not a token", 2)
            self.assertEqual(raw.expect(4)[0], PAYLOAD_FORMAT_INVALID)
            # QoS 0 has no PUBACK: the broker disconnects with 0x87.
            raw.publish_qos0("authz-info", forged.encode())
            self.assertEqual(raw.expect(14)[0], NOT_AUTHORIZED)
        finally:
            raw.close()

    def test_flood_is_bounded(self):
        # RFC 9431 8: authz-info is a DoS target; uploads are rate-limited per address, before any
        # signature is checked. Another loopback address keeps this test's budget separate.
        raw = self.anonymous("127.0.0.2", "authz-info-flood")
        try:
            reasons = []
            for packet_id in range(1, UPLOADS_BURST + 3):
                raw.publish_qos1("authz-info", b"flood, not a token", packet_id)
                reasons.append(raw.expect(4)[0])
            self.assertEqual(reasons[:UPLOADS_BURST], [PAYLOAD_FORMAT_INVALID] * UPLOADS_BURST)
            self.assertEqual(reasons[UPLOADS_BURST:], [QUOTA_EXCEEDED] * 2)
        finally:
            raw.close()


class Expiry(unittest.TestCase):
    def run_expiring(self, mqtt, expected):
        credentials = minted_credentials("expiring-%s.json" % mqtt, lifetime=4)
        subscriber = ProcessOutput(client("sub", *broker_flags(credentials, mqtt, "exporter"),
                                          "-t", "demo/expiring", "-q", "1"))
        try:
            subscriber.wait_for(r"^subscribed$")
            # RFC 9431 4: at expiry the broker ends the session (the expiry timer).
            code, output = subscriber.finish(timeout=STEP_TIMEOUT)
            self.assertNotEqual(code, 0, output)
            self.assertIn(expected, output)
        finally:
            subscriber.stop()

    def test_v5_gets_disconnect_0x87(self):
        self.run_expiring("5", "server_disconnected (not_authorized)")

    def test_v311_is_disconnected(self):
        self.run_expiring("3.1.1", "server_disconnected")


class Discovery(unittest.TestCase):
    def test_tokenless_connect_gets_the_hint(self):
        raw = RawClient()
        try:
            raw.connect("discovery-raw", "ace")
            reason, properties = raw.expect(2)
            self.assertEqual(reason, NOT_AUTHORIZED)
            hints = [value for name, value in properties.get(0x26, []) if name == "ace_as_hint"]
            self.assertEqual(len(hints), 1, properties)
            hint = json.loads(hints[0])
            self.assertEqual(hint["AS"], ENV.as_url)
            self.assertEqual(hint["audience"], AUDIENCE)
            self.assertTrue(hint["cnonce"])
        finally:
            raw.close()

    def test_cli_follows_the_hint(self):
        for command, extra in (("pub", ["-m", "discovered", "-q", "1"]), ):
            result = run_client(command, *broker_flags(), "--discover", "--as-cafile", ENV.as_certificate,
                                "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET,
                                "--scope", '[["demo/#",["pub"]]]', "-t", "demo/discovered", *extra)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr + "\n" + ENV.logs())
            self.assertIn("ace_as_hint: AS %s, audience %s, cnonce" % (ENV.as_url, AUDIENCE), result.stdout)


class RefusedTokens(unittest.TestCase):
    def assert_refused(self, credentials):
        for mqtt, pop in (("5", "exporter"), ("5", "challenge"), ("3.1.1", "exporter")):
            with self.subTest(mqtt=mqtt, pop=pop):
                refused = publish(credentials, "demo/x", "refused", mqtt, pop)
                self.assertNotEqual(refused.returncode, 0, refused.stdout + refused.stderr)
                self.assertIn("connection_refused (not_authorized)", refused.stderr)

    def test_minted_token_is_accepted(self):
        # The control for the refusals below: the same minting with nothing wrong connects.
        accepted = publish(minted_credentials("minted-good.json"), "demo/minted", "ok")
        self.assertEqual(accepted.returncode, 0, accepted.stdout + accepted.stderr + "\n" + ENV.logs())

    def test_expired(self):
        now = int(time.time())
        self.assert_refused(minted_credentials("minted-expired.json", lifetime=-10, iat=now - 70))

    def test_not_yet_valid(self):
        # nbf an hour ahead: beyond any leeway.
        self.assert_refused(minted_credentials("minted-nbf.json", nbf=int(time.time()) + 3600))

    def test_alg_none(self):
        self.assert_refused(minted_credentials("minted-none.json", algorithm="none"))

    def test_unknown_key(self):
        self.assert_refused(minted_credentials("minted-unknown.json", signer=UNKNOWN_KEY, kid="nobody-knows"))
        # The known kid with another key's signature is refused as well.
        self.assert_refused(minted_credentials("minted-wrong.json", signer=UNKNOWN_KEY))


class TlsPsk(unittest.TestCase):
    """RFC 9431 2.2.1 / 2.2.3.2: the token (or its key id) as the TLS 1.3 PSK identity, the
    symmetric PoP key as the PSK; MQTT then carries no `ace` method."""

    def test_token_as_identity_v5_and_v311(self):
        credentials = token_get("psk.json")
        for mqtt in ("5", "3.1.1"):
            with self.subTest(mqtt=mqtt):
                subscriber = ProcessOutput(client("sub", *broker_flags(credentials, mqtt, "psk"),
                                                  "-t", "demo/psk-" + mqtt, "-q", "1", "-C", "1"))
                try:
                    subscriber.wait_for(r"^subscribed$")
                    sent = publish(credentials, "demo/psk-" + mqtt, "over psk", mqtt, "psk")
                    self.assertEqual(sent.returncode, 0, sent.stdout + sent.stderr + "\n" + ENV.logs())
                    subscriber.wait_for(r"^demo/psk-%s over psk$" % re.escape(mqtt))
                    code, output = subscriber.finish()
                    self.assertEqual(code, 0, output)
                finally:
                    subscriber.stop()
        # The token's scope still applies.
        refused = publish(credentials, "private/x", "outside", "5", "psk")
        self.assertIn("not_authorized", refused.stderr)

    def test_key_id_of_an_uploaded_token(self):
        credentials = token_get("psk-kid.json")
        uploaded = run_client("authz-info", *broker_flags(), "--credentials", credentials)
        self.assertEqual(uploaded.returncode, 0, uploaded.stdout + uploaded.stderr)
        sent = publish(credentials, "demo/psk-kid", "by kid", "5", "psk", "--psk-identity", "kid")
        self.assertEqual(sent.returncode, 0, sent.stdout + sent.stderr + "\n" + ENV.logs())

    def test_wrong_key_fails_the_handshake(self):
        credentials = token_get("psk-wrong.json")
        with open(credentials) as handle:
            data = json.load(handle)
        data["pop_key"]["k"] = b64url(os.urandom(32))
        wrong = ENV.write("psk-wrong-key.json", json.dumps(data))
        refused = publish(wrong, "demo/psk", "wrong key", "5", "psk")
        self.assertNotEqual(refused.returncode, 0, refused.stdout + refused.stderr)
        self.assertIn("tls_error", refused.stderr)

    def test_asymmetric_key_cannot_be_a_psk(self):
        refused = publish(minted_credentials("psk-ed25519.json"), "demo/psk", "x", "5", "psk")
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("symmetric", refused.stderr)


class Demo(unittest.TestCase):
    def test_demo_runs_every_step(self):
        # `acemq demo` against this AS and broker, seeded like `make run` (scripts/run-dev).
        secret = ENV.write("demo-client-secret", CLIENT_SECRET + "\n")
        demo = run_client("demo", "--as", ENV.as_url, "--as-cafile", ENV.as_certificate,
                          "--client-secret-file", secret, "-h", "127.0.0.1", "-p", str(ENV.broker_port),
                          "--cafile", ENV.path("pki", "ca.pem"))
        self.assertEqual(demo.returncode, 0, demo.stdout + demo.stderr + "\n" + ENV.logs())
        for number in range(1, 9):
            self.assertIn("[%d] " % number, demo.stdout)
        self.assertIn("re-authenticated", demo.stdout)
        self.assertIn("the subscription the new scope disallows was removed", demo.stdout)
        self.assertIn("connection ended: server_disconnected (not_authorized)", demo.stdout)
        self.assertIn("demo finished with 0 unexpected outcome(s)", demo.stdout)


class RawAuthentication(unittest.TestCase):
    """Challenge/response by hand (Ed25519 PoP), to send what the CLI never would."""

    def challenge(self, raw, token, client_id, will_topic=None):
        raw.connect(client_id, "ace", token_only(token), will_topic)
        reason, properties = raw.expect(15)
        self.assertEqual(reason, CONTINUE_AUTHENTICATION)
        rs_nonce = properties[0x16]
        self.assertEqual(len(rs_nonce), 8)  # RFC 9431 2.2.4.2.2
        return rs_nonce

    def test_will_topic_outside_scope(self):
        token, pop, _ = mint(scope='[["demo/#",["pub","sub"]]]')
        for will, expected in (("demo/will", 0), ("private/will", NOT_AUTHORIZED)):
            with self.subTest(will=will):
                raw = RawClient()
                try:
                    rs_nonce = self.challenge(raw, token, "will-" + will.replace("/", "-"), will)
                    raw.auth(CONTINUE_AUTHENTICATION, challenge_answer(pop, rs_nonce))
                    self.assertEqual(raw.expect(2)[0], expected)
                finally:
                    raw.close()

    def test_replayed_challenge_response(self):
        token, pop, _ = mint()
        first = RawClient()
        try:
            answer = challenge_answer(pop, self.challenge(first, token, "replay"))
            first.auth(CONTINUE_AUTHENTICATION, answer)
            self.assertEqual(first.expect(2)[0], 0)
        finally:
            first.close()
        # The same answer on a new connection: the broker's nonce is new, the signature is not.
        second = RawClient()
        try:
            self.challenge(second, token, "replay")
            second.auth(CONTINUE_AUTHENTICATION, answer)
            self.assertEqual(second.expect(2)[0], NOT_AUTHORIZED)
        finally:
            second.close()

    def test_truncated_connect_authentication_data(self):
        token, pop, _ = mint()
        whole = token_only(token) + pop.sign(b"not the exporter, and cut anyway")
        length = len(token_only(token))
        # Inside the length prefix, inside the token, one byte short of it, inside the PoP.
        for cut in (1, 2, 3, length // 2, length - 1, length + 1, length + 32, len(whole) - 1):
            with self.subTest(cut=cut):
                raw = RawClient()
                try:
                    raw.connect("truncated-%d" % cut, "ace", whole[:cut])
                    self.assertEqual(raw.expect(2)[0], NOT_AUTHORIZED)
                finally:
                    raw.close()
        # A length prefix larger than what follows.
        raw = RawClient()
        try:
            raw.connect("overlong", "ace", struct.pack(">H", length + 10) + token.encode())
            self.assertEqual(raw.expect(2)[0], NOT_AUTHORIZED)
        finally:
            raw.close()

    def test_truncated_challenge_response(self):
        token, pop, _ = mint()
        for cut in (0, 1, 7, 8, 9, 40, 8 + 64 - 1):
            with self.subTest(cut=cut):
                raw = RawClient()
                try:
                    rs_nonce = self.challenge(raw, token, "truncated-answer-%d" % cut)
                    raw.auth(CONTINUE_AUTHENTICATION, challenge_answer(pop, rs_nonce)[:cut])
                    self.assertEqual(raw.expect(2)[0], NOT_AUTHORIZED)
                finally:
                    raw.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
