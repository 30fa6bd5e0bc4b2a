#!/usr/bin/env python3
"""RFC 9431 on the wire: the proof column of docs/conformance-rfc9431.md.

Each test drives the real acemq-as and acemq-broker (and, where a row is about the client, the
`acemq` CLI) over sockets and asserts the bytes the requirement is about: CONNACK, AUTH, PUBACK,
PUBREC, SUBACK and DISCONNECT reason codes, which packet comes first, and that the broker closes
the connection. The raw MQTT 5 / 3.1.1 client and the proof of possession (TLS exporter through
pyOpenSSL, challenge/response) are ace_security_harness.py's; tokens are minted by the test
issuer the broker trusts (ace_flows_e2e.mint) or issued by the AS (`acemq token get`).

Classes, by RFC 9431 section:
  AsCommunication      2      the broker authenticates the AS (TLS) and itself to the AS (Basic)
  TokenClaims          2.1, 2.2.5  profile, cnf (JWE for symmetric keys), HS256/Ed25519, claim checks
  AuthenticationOptions 2.2.1  mutual authentication, TLS:Anon,MQTT:ace / MQTT:None, discovery,
                       several providers, rs_cnf
  AuthzInfo            2.2.2, 6.1, 8  publish-only, one token per key, refusals at every QoS, bounds
  TlsLayer             2.2.3  Extended Main Secret, the exporter's empty context in TLS 1.2, SNI, ALPN
  ConnectPhase         2.2.4.1, 2.4  nothing before CONNACK, flags, Will, Session Present, takeover
  ProofOfPossession    2.2.4.2.1  exporter label, context and length
  Authorization        2.3, 3  scope matching, empty scope, PUBREC 0x87, hidden names, no routing
  Reauthentication     4      AUTH 0x19 by challenge only, new scope and expiry at once, DISCONNECT 0x87
  Expiry               3.2, 4, 5  expiry disconnects, the Will after expiry, retained messages
  Mqtt311              6      the 3.1.1 interactions
  TokenFormats         2, 2.1, 2.2.2, 2.2.5, 2.4.2  CWTs and introspected reference tokens (an AS and
                       brokers of their own; the last test stops that AS)

Every wait is on an event (a packet, the end of a stream, a process exit); the expiry tests wait
for the broker's DISCONNECT at the end of a token's few seconds of lifetime.
"""

import base64
import hashlib
import hmac
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import unittest

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from OpenSSL import SSL as OPENSSL  # python3-openssl, as in ace_security_harness

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ace_security_harness as harness  # noqa: E402
from ace_security_harness import started  # noqa: E402
from ace_security_harness import (AUTH, CONNACK, CONTINUE_AUTHENTICATION, DISCONNECT,  # noqa: E402
                                  EXPORTER_LABEL, NOT_AUTHORIZED, PINGRESP, PUBACK, PUBLISH,
                                  SESSION_TAKEN_OVER, STEP_TIMEOUT, SUBACK, SUCCESS,
                                  UNSPECIFIED_ERROR, V311_NOT_AUTHORIZED, MqttClient,
                                  SecurityEnvironment, SiblingBroker, b64url,
                                  challenge_answer, flows, mint, principal_token, public_jwk, scope,
                                  token_only, utf8, varint)
from security_harness import write_password_file  # noqa: E402

PUBREC = 5
REAUTHENTICATE = 0x19
PROTOCOL_ERROR = 0x82
PAYLOAD_FORMAT_INVALID = 0x99
WILDCARD_SUBSCRIPTION_AVAILABLE = 0x28
SESSION_EXPIRY_INTERVAL = 0x11
USER_PROPERTY = 0x26
AUTHENTICATION_METHOD = 0x15
AUTHENTICATION_DATA = 0x16
END = "<end of stream>"
SHORT_LIFETIME = 3  # seconds: tokens whose expiry a test waits for

# Audiences of the AS's reference tokens and CWTs (TokenFormats), with the brokers' secrets.
REFERENCE_AUDIENCE = "ref-broker"
REFERENCE_SECRET = "ref-secret-1"
CWT_AUDIENCE = "cwt-broker"
CWT_SECRET = "cwt-secret-1"
# A broker whose introspection secret holds every character form-encoding changes ("%", "+", ":"
# and a space): RFC 6749 2.3.1 form-encodes the id and secret before Basic, and the AS decodes.
FORM_AUDIENCE = "form-secret-broker"
FORM_SECRET = "p%41ss+w:rd 100%"

ENV = None
_names = [0]


def unique(prefix):
    """A fresh principal / client / topic name: tests never share sessions or topics."""
    _names[0] += 1
    return "%s-%d-%s" % (prefix, _names[0], b64url(os.urandom(4)).replace("-", "x").replace("_", "y"))


def setUpModule():
    global ENV
    ENV = started(SecurityEnvironment(tcp=True))


def tearDownModule():
    ENV.stop()


class HmacKey:
    """A symmetric PoP key (HS256, RFC 9431 2.2.5) with the .sign() of an Ed25519 key, so the
    harness's challenge_answer() and exporter_pop() use it unchanged."""

    def __init__(self, secret):
        self.secret = secret

    def sign(self, data):
        return hmac.new(self.secret, data, hashlib.sha256).digest()


def as_token(env, name, audience=flows.AUDIENCE, token_scope='[["demo/#",["pub","sub"]]]', key_file=None):
    """`acemq token get` from env's AS (client credentials): (credentials path, token bytes,
    PoP key). Without `key_file` the AS generates a symmetric key (to the broker inside cnf.jwe,
    or in the introspection result); with it (an Ed25519 PEM) the token is bound to that key."""
    out = env.path(name)
    command = [os.environ["ACEMQ_CLIENT"], "token", "get", "--as", env.as_url, "--as-cafile",
               env.as_certificate, "--client-id", flows.CLIENT_ID, "--client-secret", flows.CLIENT_SECRET,
               "--audience", audience, "--scope", token_scope, "--out", out]
    if key_file:
        command += ["--key", key_file]
    result = subprocess.run(command, capture_output=True, text=True, timeout=STEP_TIMEOUT)
    if result.returncode != 0:
        raise RuntimeError("acemq token get: " + result.stdout + result.stderr + "\n" + env.logs())
    with open(out) as handle:
        credentials = json.load(handle)
    token = base64.urlsafe_b64decode(credentials["token"] + "==")
    key = credentials["pop_key"]
    if key["kty"] == "oct":
        return out, token, HmacKey(base64.urlsafe_b64decode(key["k"] + "=="))
    return out, token, Ed25519PrivateKey.from_private_bytes(base64.urlsafe_b64decode(key["d"] + "=="))


class Tls12ExporterTransport(harness._ExporterTransport):
    """The harness's pyOpenSSL transport limited to TLS 1.2 (where RFC 5705 tells an empty context
    from no context)."""

    def __init__(self, plain, cafile):
        # Not super().__init__(): its context would negotiate TLS 1.3.
        context = OPENSSL.Context(OPENSSL.TLS_CLIENT_METHOD)
        context.set_max_proto_version(OPENSSL.TLS1_2_VERSION)
        context.load_verify_locations(cafile)
        context.set_verify(OPENSSL.VERIFY_PEER, lambda _c, _x, _e, _d, ok: bool(ok))
        plain.settimeout(None)
        self.plain = plain
        self.connection = OPENSSL.Connection(context, plain)
        self.connection.set_connect_state()
        self.connection.do_handshake()


def client_over(transport, version=5):
    """An MqttClient over a transport built here (the harness builds only its own three)."""
    client = MqttClient.__new__(MqttClient)
    client.version = version
    client.transport = transport
    client.buffer = b""
    client.ended = False
    client.received = []
    return client


def captured(client, action):
    """The bytes `action` makes `client` send, not sent: to put several packets in one write."""
    sent = []
    client.transport.sendall = sent.append
    try:
        action()
    finally:
        del client.transport.sendall
    return b"".join(sent)


def subscribe_packet(packet_id, filters, version=5, qos=1):
    body = struct.pack(">H", packet_id) + (varint(0) if version == 5 else b"")
    for topic_filter in filters:
        body += utf8(topic_filter) + bytes([qos])
    return MqttClient.frame(0x82, body)


def pubrec_reason(packet):
    return packet.body[2] if len(packet.body) > 2 else SUCCESS


class WireTest(unittest.TestCase):
    """Connections made by a test are closed after it."""

    def setUp(self):
        self.clients = []
        self.cleanups = []

    def tearDown(self):
        for client in self.clients:
            client.close()
        for cleanup in reversed(self.cleanups):
            cleanup()

    # --- connections ---------------------------------------------------------------------------

    def client(self, env=None, **kwargs):
        made = MqttClient(env or ENV, **kwargs)
        self.clients.append(made)
        return made

    def track(self, client):
        self.clients.append(client)
        return client

    def ace(self, name, token_scope, env=None, client_id=None, **connect):
        """An MQTT 5 ACE client of principal `name`, connected by challenge/response."""
        env = env or ENV
        token, pop = principal_token(name, token_scope)
        client = self.client(env)
        connack = client.ace_connect(token, pop, client_id or name, **connect)
        self.assertIsNotNone(connack, env.logs())
        self.assertEqual(connack.reason, SUCCESS, "%s could not connect\n%s" % (name, env.logs()))
        return client

    def anonymous(self, env=None, client_id=None, version=5):
        """RFC 9431 2.2.1 TLS:Anon,MQTT:None: a TLS client without credentials."""
        client = self.client(env, version=version)
        client.connect(client_id or unique("anon"))
        connack = client.read()
        self.assertIsNotNone(connack)
        self.assertEqual((connack.kind, connack.reason), (CONNACK, SUCCESS), "TLS:Anon,MQTT:None refused")
        return client

    def exporter_connect(self, client, token, pop, client_id, label=EXPORTER_LABEL, length=32,
                         exporter=None, **connect):
        """RFC 9431 2.2.4.2.1: CONNECT with u16 len || token || PoP over the TLS exporter; returns
        the broker's first answer."""
        value = exporter if exporter is not None else client.transport.exporter(label, length)
        client.connect(client_id, method="ace", data=token_only(token) + pop.sign(value), **connect)
        return client.read()

    def reauthenticate(self, client, token, pop):
        """RFC 9431 4: AUTH 0x19 with the new token, the broker's challenge answered. Returns the
        broker's last packet (AUTH 0x00 on success) or None at the end of the stream."""
        client.auth(REAUTHENTICATE, token_only(token))
        packet = client.read()
        if packet is not None and packet.kind == AUTH and packet.reason == CONTINUE_AUTHENTICATION:
            self.assertEqual(packet.properties.get(AUTHENTICATION_METHOD), "ace")
            self.assertEqual(len(packet.properties[AUTHENTICATION_DATA]), 8)
            client.auth(CONTINUE_AUTHENTICATION, challenge_answer(pop, packet.properties[AUTHENTICATION_DATA]))
            packet = client.read()
        return packet

    # --- assertions ----------------------------------------------------------------------------

    def assert_refused(self, client, packet, reason, what, env=None):
        """`packet` is CONNACK `reason`, after which the broker closes the connection."""
        self.assertIsNotNone(packet, "%s: the connection ended without a CONNACK" % what)
        after = client.evidence() if packet.kind != CONNACK or packet.reason != reason else []
        self.assertEqual((packet.kind, packet.reason), (CONNACK, reason),
                         "%s: got %r then %r (expected CONNACK 0x%02X)\n%s"
                         % (what, packet, after, reason, (env or ENV).logs()[-3000:]))
        self.assertEqual(client.read_until_end(), [], "%s: more after the refusing CONNACK" % what)

    def assert_accepted(self, packet, what, env=None):
        self.assertIsNotNone(packet, "%s: the connection ended without a CONNACK" % what)
        self.assertEqual((packet.kind, packet.reason), (CONNACK, SUCCESS),
                         "%s: got %r\n%s" % (what, packet, (env or ENV).logs()[-3000:]))

    def assert_disconnected(self, client, reason, what):
        """The next packet is DISCONNECT `reason`, then the broker closes the connection."""
        packets = client.read_until_end()
        self.assertTrue(packets and packets[0].kind == DISCONNECT,
                        "%s: expected DISCONNECT 0x%02X, got %r" % (what, reason, packets + [END]))
        self.assertEqual(packets[0].reason, reason, "%s: got %r" % (what, packets))
        self.assertEqual(packets[1:], [], "%s: more after the DISCONNECT: %r" % (what, packets))

    def assert_ping_answered(self, client, what):
        """The connection is open and idle: a PINGREQ gets PINGRESP (no DISCONNECT before it)."""
        client.send_raw(client.pingreq_packet())
        packet = client.read()
        self.assertTrue(packet is not None and packet.kind == PINGRESP,
                        "%s: expected PINGRESP, got %r" % (what, packet if packet is not None else END))

    def topics_until_marker(self, watcher, publisher, marker, packet_id=900):
        """`publisher` (which may be `watcher`) publishes `marker` at QoS 1; every topic `watcher`
        receives up to and including the marker (what was routed before it arrives first)."""
        publisher.send_raw(publisher.publish_packet(marker, "marker", 1, packet_id))
        acknowledged = watcher is not publisher
        if acknowledged:
            self.assertLess(publisher.expect(PUBACK).reason, 0x80)
        topics = []
        while not (acknowledged and marker in topics):
            packet = watcher.read()
            self.assertIsNotNone(packet, "the watcher was disconnected; it received %r" % watcher.received)
            if packet.kind == PUBACK and packet.packet_id == packet_id and watcher is publisher:
                self.assertLess(packet.reason, 0x80, "the marker was refused")
                acknowledged = True
            elif packet.kind == PUBLISH:
                if packet.qos:
                    watcher.puback(packet.packet_id)
                topics.append(packet.topic)
            else:
                self.fail("the watcher received %r" % packet)
        return topics


# --- 2: Broker-AS communication ----------------------------------------------------------------

class AsCommunication(WireTest):
    def test_broker_that_cannot_authenticate_the_as_does_not_trust_its_keys(self):
        # RFC 9431 2: Broker-AS communication MUST be mutually authenticated. A broker whose AS
        # trust anchor is wrong (here: the broker's own CA) cannot fetch /jwks, so a token the
        # AS signed is refused (0x87); the same token on the correctly configured broker connects.
        _, token, pop = as_token(ENV, "as-auth.json")
        wrong_anchor = SiblingBroker(ENV, {"ace.as.ca_file": ENV.path("pki", "ca.pem")})
        self.cleanups.append(wrong_anchor.stop)
        wrong_anchor.start()
        client = self.client(wrong_anchor)
        self.assert_refused(client, client.ace_connect(token, pop, unique("as-auth")), NOT_AUTHORIZED,
                            "AS token on a broker that cannot verify the AS certificate", wrong_anchor)
        # Controls: the sibling accepts a token of the issuer key it holds in a file; the
        # correctly configured broker accepts the AS token.
        minted, minted_pop = principal_token(unique("as-auth-minted"), scope(("x/#", "pub")))
        connack = self.client(wrong_anchor).ace_connect(minted, minted_pop, unique("as-auth-minted"))
        self.assert_accepted(connack, "control: a minted token on the sibling", wrong_anchor)
        self.assert_accepted(self.client().ace_connect(token, pop, unique("as-auth")),
                             "control: the AS token on the broker that trusts the AS")


# --- 2.1 and 2.2.5: the token ------------------------------------------------------------------

class TokenClaims(WireTest):
    def connect_minted(self, what, expected, **claims):
        """CONNECT (challenge/response) with a token minted with `claims`; CONNACK `expected`."""
        name = unique("claims")
        claims.setdefault("sub", name)
        claims.setdefault("client_id", name)
        token, pop, _ = mint(scope=scope((name + "/#", "pub", "sub")), **claims)
        client = self.client()
        connack = client.ace_connect(token, pop, name)
        if expected == SUCCESS:
            self.assert_accepted(connack, what)
        else:
            self.assert_refused(client, connack, expected, what)

    def test_ace_profile_when_present_must_be_mqtt_tls(self):
        # RFC 9431 2.1: ace_profile, when present, is "mqtt_tls".
        self.connect_minted("ace_profile mqtt_tls", SUCCESS, ace_profile="mqtt_tls")
        self.connect_minted("no ace_profile claim", SUCCESS, ace_profile=None)
        self.connect_minted("ace_profile coap_dtls", NOT_AUTHORIZED, ace_profile="coap_dtls")

    def test_pop_token_without_cnf_is_refused(self):
        # RFC 9431 2.1: the PoP token carries cnf.
        self.connect_minted("a token without cnf", NOT_AUTHORIZED, cnf=None)

    def test_symmetric_key_only_inside_a_jwe(self):
        # RFC 9431 2.1: a JWT with a symmetric key MUST use JWE. A cleartext "oct" JWK in cnf is
        # refused; the AS's token (cnf.jwe, decrypted with the broker's key) connects with HS256.
        secret = os.urandom(32)
        name = unique("clear-oct")
        token, _, _ = mint(scope=scope((name + "/#", "pub")), sub=name, client_id=name,
                           cnf={"jwk": {"kty": "oct", "k": b64url(secret)}})
        client = self.client()
        self.assert_refused(client, client.ace_connect(token, HmacKey(secret), name), NOT_AUTHORIZED,
                            "a symmetric key in a cleartext cnf.jwk")
        _, as_issued, key = as_token(ENV, "jwe-key.json")
        self.assert_accepted(self.client().ace_connect(as_issued, key, unique("jwe-key")),
                             "the AS token with cnf.jwe")

    def test_hs256_and_ed25519_keys_with_both_proofs(self):
        # RFC 9431 2.2.5: HS256 and Ed25519 are mandatory for the broker; 2.2.4.2: both PoP
        # options. A MAC or signature that does not match is refused.
        _, symmetric, hs256 = as_token(ENV, "hs256.json")
        ed_name = unique("ed25519")
        ed_token, ed25519 = principal_token(ed_name, scope((ed_name + "/#", "pub")))
        for label, token, key in (("HS256", symmetric, hs256), ("Ed25519", ed_token, ed25519)):
            with self.subTest(key=label):
                self.assert_accepted(self.client().ace_connect(token, key, unique("pop")),
                                     "%s challenge/response" % label)
                client = self.client(transport="exporter")
                self.assert_accepted(self.exporter_connect(client, token, key, unique("pop")),
                                     "%s over the exporter" % label)
        wrong = self.client()
        self.assert_refused(wrong, wrong.ace_connect(symmetric, HmacKey(os.urandom(32)), unique("pop")),
                            NOT_AUTHORIZED, "HS256 answer with another key")
        wrong = self.client(transport="exporter")
        self.assert_refused(wrong, self.exporter_connect(wrong, ed_token, Ed25519PrivateKey.generate(),
                                                         unique("pop")),
                            NOT_AUTHORIZED, "Ed25519 exporter proof with another key")

    def test_claims_and_protection_are_verified(self):
        # RFC 9431 2.2.5 / RFC 9200 5.10.1.1: validity, audience, an authorized issuer; alg none,
        # an undeterminable key and a wrong signature fail.
        now = int(time.time())
        self.connect_minted("control: a valid token", SUCCESS)
        self.connect_minted("expired", NOT_AUTHORIZED, lifetime=-10, iat=now - 70)
        self.connect_minted("not yet valid", NOT_AUTHORIZED, nbf=now + 3600)
        self.connect_minted("another audience", NOT_AUTHORIZED, aud=flows.OTHER_AUDIENCE)
        self.connect_minted("an issuer the broker does not accept (signed by a trusted key)",
                            NOT_AUTHORIZED, iss="https://other-as.test")
        self.connect_minted("alg none", NOT_AUTHORIZED, algorithm="none")
        self.connect_minted("an unknown signing key", NOT_AUTHORIZED, signer=flows.UNKNOWN_KEY,
                            kid="nobody-knows")
        self.connect_minted("the trusted kid, another key's signature", NOT_AUTHORIZED,
                            signer=flows.UNKNOWN_KEY)

    def test_cnf_by_kid_names_a_key_the_broker_holds(self):
        # RFC 9431 2.2.5: cnf holds the key or a reference to a key the broker already knows
        # (here: from a token uploaded to authz-info).
        name = unique("kid")
        key = Ed25519PrivateKey.generate()
        kid = unique("kid-of")
        uploaded, _, _ = mint(scope=scope((name + "/#", "pub")), sub=name, client_id=name,
                              cnf={"jwk": public_jwk(key, kid)})
        uploader = self.anonymous()
        self.assertEqual(uploader.publish_qos1("authz-info", uploaded).reason, SUCCESS, ENV.logs())
        by_kid, _, _ = mint(scope=scope((name + "/#", "pub")), sub=name, client_id=name, cnf={"kid": kid})
        self.assert_accepted(self.client().ace_connect(by_kid, key, name), "cnf.kid of a held key")
        unknown, _, _ = mint(scope=scope((name + "/#", "pub")), sub=name, client_id=name,
                             cnf={"kid": unique("no-such-kid")})
        client = self.client()
        self.assert_refused(client, client.ace_connect(unknown, key, name), NOT_AUTHORIZED,
                            "cnf.kid the broker does not hold")


# --- 2.2.1: authentication options ---------------------------------------------------------------

class AuthenticationOptions(WireTest):
    def test_tls_anon_mqtt_ace_by_both_proofs(self):
        # RFC 9431 2.2.1: the broker MUST support TLS:Anon,MQTT:ace; 2.2.4.2: both PoP options.
        name = unique("anon-ace")
        token, pop = principal_token(name, scope((name + "/#", "pub", "sub")))
        self.assert_accepted(self.client().ace_connect(token, pop, name), "challenge/response")
        client = self.client(transport="exporter")
        self.assert_accepted(self.exporter_connect(client, token, pop, name), "TLS exporter")

    def test_tls_anon_mqtt_none_reaches_public_topics_only(self):
        # RFC 9431 2.2.1: TLS:Anon,MQTT:None only for public topics (authz-info). Over plain TCP
        # such a client is not admitted at all.
        client = self.anonymous()
        token, _ = principal_token(unique("public"), scope(("public/#", "pub")))
        self.assertEqual(client.publish_qos1("authz-info", token, 1).reason, SUCCESS, ENV.logs())
        self.assertEqual(client.publish_qos1("public/x", "protected", 2).reason, NOT_AUTHORIZED)
        self.assertEqual(client.subscribe("#", 1, 3), [NOT_AUTHORIZED])
        self.assertEqual(client.subscribe("public/x", 1, 4), [NOT_AUTHORIZED])
        tcp = self.client(transport="tcp")
        tcp.connect(unique("anon-tcp"))
        self.assert_refused(tcp, tcp.read(), NOT_AUTHORIZED, "TLS:Anon,MQTT:None over plain TCP")

    # RFC 9431 2.2.1: "Unless the Client publishes and subscribes to only public topics, the
    # Client and the Broker MUST perform mutual authentication"; the Client "MUST authenticate the
    # Broker during the TLS handshake". Over plain TCP the token would travel in clear with no
    # authenticated channel under the proof: the ace method is refused there.
    def test_ace_is_refused_without_tls(self):
        name = unique("ace-tcp")
        token, pop = principal_token(name, scope((name + "/#", "pub", "sub")))
        client = self.client(transport="tcp")
        client.connect(name, method="ace", data=token_only(token))
        packet = client.read()
        self.assertTrue(packet is not None and packet.kind == CONNACK and packet.reason >= 0x80,
                        "MQTT:ace over plain TCP: the broker answered %r, not a refusing CONNACK" % packet)
        self.assertEqual(client.read_until_end(), [])

    def test_uploaded_token_does_not_authorize_a_connection_without_credentials(self):
        # RFC 9431 2.2.1 TLS:Known(RPK),MQTT:none is not implemented: a token uploaded to
        # authz-info authorizes nothing for a later connection that presents no credential (the
        # TLS layer offers no raw public keys); it gets the public-only rights.
        name = unique("rpk")
        token, _ = principal_token(name, scope((name + "/#", "pub", "sub")))
        uploader = self.anonymous(client_id=name)
        self.assertEqual(uploader.publish_qos1("authz-info", token).reason, SUCCESS, ENV.logs())
        uploader.disconnect()
        later = self.anonymous(client_id=name)
        self.assertEqual(later.publish_qos1(name + "/x", "with the uploaded token?").reason, NOT_AUTHORIZED)
        self.assertEqual(later.subscribe(name + "/#"), [NOT_AUTHORIZED])

    def test_tokenless_connect_is_refused_with_the_as_hint(self):
        # RFC 9431 2.2.1 (tokenless CONNECT for AS discovery) and 2.4.1 (ace_as_hint).
        client = self.client()
        client.connect(unique("discovery"), method="ace")
        connack = client.read()
        self.assertIsNotNone(connack)
        hints = [value for key, value in connack.properties.get(USER_PROPERTY, []) if key == "ace_as_hint"]
        self.assert_refused(client, connack, NOT_AUTHORIZED, "tokenless CONNECT")
        self.assertEqual(len(hints), 1, connack.properties)
        hint = json.loads(hints[0])
        self.assertEqual(hint["AS"], ENV.as_url)
        self.assertEqual(hint["audience"], flows.AUDIENCE)

    def test_several_client_authentication_options_on_one_listener(self):
        # RFC 9431 2.2.1: the broker MAY offer several options: ACE and user name / password.
        password = b64url(os.urandom(12))
        path = ENV.path("passwords-" + unique("p"))
        write_password_file(path, {"alice": password})
        both = SiblingBroker(ENV, {"auth.password_file": path})
        self.cleanups.append(both.stop)
        both.start()
        by_password = self.client(both)
        by_password.connect(unique("password"), username="alice", password=password.encode())
        self.assert_accepted(by_password.read(), "user name and password", both)
        self.ace(unique("both-ace"), scope(("x/#", "pub")), env=both)

    def test_client_authenticates_the_broker_against_rs_cnf(self):
        # RFC 9431 2.2.1: the client MUST validate the broker's key against rs_cnf (the `acemq`
        # CLI pins the TLS server to the rs_cnf in its credentials).
        credentials, _, _ = as_token(ENV, "rs-cnf.json")
        with open(credentials) as handle:
            data = json.load(handle)
        with open(ENV.path("pki", "server.pem"), "rb") as handle:
            numbers = x509.load_pem_x509_certificate(handle.read()).public_key().public_numbers()
        right = {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
                 "y": b64url(numbers.y.to_bytes(32, "big"))}
        other = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
        wrong = dict(right, x=b64url(other.x.to_bytes(32, "big")), y=b64url(other.y.to_bytes(32, "big")))
        for name, rs_cnf, accepted in (("right", right, True), ("wrong", wrong, False)):
            with self.subTest(rs_cnf=name):
                path = ENV.write("rs-cnf-%s.json" % name, json.dumps(dict(data, rs_cnf=rs_cnf)))
                result = flows.publish(path, "demo/rs-cnf", "pinned", "5", "challenge")
                if accepted:
                    self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
                else:
                    self.assertNotEqual(result.returncode, 0, result.stdout + result.stderr)
                    self.assertIn("does not match the pin", result.stderr)


# --- 2.2.2, 6.1, 8: authz-info ------------------------------------------------------------------

class AuthzInfo(WireTest):
    def test_authz_info_is_publish_only_and_never_routed(self):
        # RFC 9431 2.2.2: publish-only; uploads are consumed, never routed nor retained.
        anonymous = self.anonymous()
        self.assertEqual(anonymous.subscribe("authz-info"), [NOT_AUTHORIZED])
        everything = self.ace(unique("all"), scope(("#", "pub", "sub")))
        self.assertEqual(everything.subscribe("authz-info", 1, 1), [NOT_AUTHORIZED])
        self.assertEqual(everything.subscribe("+", 1, 2), [1])
        token, _ = principal_token(unique("routed"), scope(("x/#", "pub")))
        self.assertEqual(anonymous.publish_qos1("authz-info", token, 5).reason, SUCCESS, ENV.logs())
        anonymous.send_raw(anonymous.publish_packet("authz-info", token, 1, 6, retain=True))
        self.assertEqual(anonymous.expect(PUBACK).reason, SUCCESS)
        marker = unique("marker")
        topics = self.topics_until_marker(everything, everything, marker)
        self.assertNotIn("authz-info", topics)
        later = self.ace(unique("all-later"), scope(("#", "pub", "sub")))
        self.assertEqual(later.subscribe("+", 1, 1), [1])
        topics = self.topics_until_marker(later, later, unique("marker"))
        self.assertNotIn("authz-info", topics, "an upload was kept as a retained message")

    def test_newer_token_for_the_same_key_replaces_the_older(self):
        # RFC 9431 2.2.2: one token per PoP key; a newer one for the key overwrites the older.
        name = unique("same-key")
        key = Ed25519PrivateKey.generate()
        older, _, _ = mint(scope=scope((name + "/one/#", "pub")), sub=name, client_id=name,
                           cnf={"jwk": public_jwk(key)})
        newer, _, _ = mint(scope=scope((name + "/two/#", "pub")), sub=name, client_id=name,
                           cnf={"jwk": public_jwk(key)})
        for number, token in enumerate((older, newer), 1):
            uploader = self.anonymous(client_id=name)
            self.assertEqual(uploader.publish_qos1("authz-info", token, number).reason, SUCCESS, ENV.logs())
            uploader.disconnect()
        client = self.client()
        self.assert_accepted(client.ace_connect(None, key, name), "tokenless CONNECT on the held token")
        self.assertLess(client.publish_qos1(name + "/two/x", "newer scope", 1).reason, 0x80)
        self.assertEqual(client.publish_qos1(name + "/one/x", "older scope", 2).reason, NOT_AUTHORIZED)

    def test_invalid_token_is_refused_at_every_qos_and_discarded(self):
        # RFC 9431 2.2.2: QoS >= 1 -> PUBACK/PUBREC 0x87 (invalid) or 0x99 (not a token); QoS 0 ->
        # DISCONNECT 0x87 / 0x99 and the connection closed; an invalid token is not stored.
        name = unique("forged")
        key = Ed25519PrivateKey.generate()
        token, _, _ = mint(scope=scope((name + "/#", "pub")), sub=name, client_id=name,
                           cnf={"jwk": public_jwk(key)})
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        uploader = self.anonymous(client_id=name)
        self.assertEqual(uploader.publish_qos1("authz-info", forged, 1).reason, NOT_AUTHORIZED)
        self.assertEqual(uploader.publish_qos1("authz-info", "not a token", 2).reason, PAYLOAD_FORMAT_INVALID)
        for packet_id, payload, expected in ((3, forged, NOT_AUTHORIZED),
                                             (4, "not a token", PAYLOAD_FORMAT_INVALID)):
            uploader.send_raw(uploader.publish_packet("authz-info", payload, 2, packet_id))
            pubrec = uploader.read()
            self.assertEqual((pubrec.kind, pubrec_reason(pubrec)), (PUBREC, expected),
                             "QoS 2 %r" % payload[:12])
        uploader.disconnect()
        client = self.client()
        self.assert_refused(client, client.ace_connect(None, key, name), NOT_AUTHORIZED,
                            "tokenless CONNECT after only a forged upload")
        for payload, expected in ((forged, NOT_AUTHORIZED), ("not a token", PAYLOAD_FORMAT_INVALID)):
            with self.subTest(qos=0, payload=payload[:12]):
                qos0 = self.anonymous()
                qos0.publish("authz-info", payload)
                self.assert_disconnected(qos0, expected, "QoS 0 upload of %r" % payload[:12])

    def test_mqtt311_upload_is_acknowledged_without_a_result(self):
        # RFC 9431 6.1: in 3.1.1 the broker cannot return the validation result: a plain
        # acknowledgement, no disconnection; a valid upload is stored for later use.
        name = unique("v311-upload")
        key = Ed25519PrivateKey.generate()
        token, _, _ = mint(scope=scope((name + "/#", "pub")), sub=name, client_id=name,
                           cnf={"jwk": public_jwk(key)})
        client = self.anonymous(client_id=name, version=4)
        puback = client.publish_qos1("authz-info", "not a token", 1)
        self.assertEqual(puback.body, struct.pack(">H", 1), "a 3.1.1 PUBACK carries only the packet id")
        client.publish("authz-info", "not a token either")
        self.assert_ping_answered(client, "after refused 3.1.1 uploads")
        self.assertEqual(client.publish_qos1("authz-info", token, 2).body, struct.pack(">H", 2))
        client.disconnect()
        later = self.client()
        self.assert_accepted(later.ace_connect(None, key, name), "the token uploaded in 3.1.1 is held")

    def test_token_store_is_bounded(self):
        # RFC 9431 8: authz-info is a DoS target; the store holds at most ace.store.max_tokens
        # (here 2): a third upload evicts the least recently used token.
        small = SiblingBroker(ENV, {"ace.store.max_tokens": "2"})
        self.cleanups.append(small.stop)
        small.start()
        held = []
        for _ in range(3):
            name = unique("bounded")
            key = Ed25519PrivateKey.generate()
            token, _, _ = mint(scope=scope((name + "/#", "pub")), sub=name, client_id=name,
                               cnf={"jwk": public_jwk(key)})
            uploader = self.anonymous(small, client_id=name)
            self.assertEqual(uploader.publish_qos1("authz-info", token).reason, SUCCESS, small.logs())
            uploader.disconnect()
            held.append((name, key))
        evicted = self.client(small)
        self.assert_refused(evicted, evicted.ace_connect(None, held[0][1], held[0][0]), NOT_AUTHORIZED,
                            "the first of three uploads into a store of two", small)
        self.assert_accepted(self.client(small).ace_connect(None, held[2][1], held[2][0]),
                             "the last upload is held", small)


# --- 2.2.3: TLS ---------------------------------------------------------------------------------

class TlsLayer(WireTest):
    def tls12_client(self, extended_master_secret):
        context = ssl.create_default_context(cafile=ENV.path("pki", "ca.pem"))
        context.check_hostname = False
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        if not extended_master_secret:
            context.options |= 0x1  # SSL_OP_NO_EXTENDED_MASTER_SECRET (OpenSSL 3)
        plain = socket.create_connection(("127.0.0.1", ENV.broker_port), timeout=STEP_TIMEOUT)
        wrapped = context.wrap_socket(plain)
        self.assertEqual(wrapped.version(), "TLSv1.2")
        return self.track(client_over(harness._PlainTransport(wrapped)))

    def test_tls12_without_extended_master_secret_is_refused(self):
        # RFC 9431 2.2.3: TLS 1.2 MUST use the Extended Main Secret (RFC 7627). Without it the
        # broker closes the connection before any MQTT; with it, CONNECT is answered.
        refused = self.tls12_client(extended_master_secret=False)
        try:
            refused.connect(unique("no-ems"))
        except OSError:
            pass  # closed already
        self.assertEqual(refused.read_until_end(), [], "TLS 1.2 without EMS reached MQTT")
        accepted = self.tls12_client(extended_master_secret=True)
        accepted.connect(unique("ems"))
        self.assert_accepted(accepted.read(), "TLS 1.2 with EMS")

    def test_exporter_over_tls12_uses_an_empty_context(self):
        # RFC 9431 2.2.4.2.1: an empty (present) context; RFC 5705 tells it apart from no
        # context in TLS 1.2, where only the former is accepted.
        name = unique("tls12")
        token, pop = principal_token(name, scope((name + "/#", "pub")))
        for context, expected in ((b"", SUCCESS), (None, NOT_AUTHORIZED)):
            with self.subTest(context="empty" if context is not None else "none"):
                plain = socket.create_connection(("127.0.0.1", ENV.broker_port), timeout=STEP_TIMEOUT)
                client = self.track(client_over(Tls12ExporterTransport(plain, ENV.path("pki", "ca.pem"))))
                self.assertEqual(client.transport.connection.get_protocol_version_name(), "TLSv1.2")
                value = client.transport.connection.export_keying_material(EXPORTER_LABEL, 32, context)
                packet = self.exporter_connect(client, token, pop, unique(name), exporter=value)
                if expected == SUCCESS:
                    self.assert_accepted(packet, "TLS 1.2 exporter with an empty context")
                else:
                    self.assert_refused(client, packet, expected, "TLS 1.2 exporter without a context")

    def test_cli_sends_sni_for_a_host_name(self):
        # RFC 9431 2.2.3: SNI. The `acemq` CLI names the broker it connects to by host name; a
        # literal address is never sent as SNI (RFC 6066 3). A TLS server of this test records it.
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(ENV.path("pki", "server.pem"), ENV.path("pki", "server.key"))
        seen = []
        context.sni_callback = lambda _socket, name, _context: seen.append(name)
        listener = socket.create_server(("127.0.0.1", 0))
        self.cleanups.append(listener.close)
        credentials, _, _ = as_token(ENV, "sni.json")

        def serve_one():
            connection, _ = listener.accept()
            try:
                context.wrap_socket(connection, server_side=True).close()
            except (OSError, ssl.SSLError):
                connection.close()

        for host, expected in (("localhost", "localhost"), ("127.0.0.1", None)):
            with self.subTest(host=host):
                del seen[:]
                server = threading.Thread(target=serve_one, daemon=True)
                server.start()
                port = str(listener.getsockname()[1])
                subprocess.run([os.environ["ACEMQ_CLIENT"], "pub", "-h", host, "-p", port, "--cafile",
                                ENV.path("pki", "ca.pem"), "--credentials", credentials, "--mqtt", "5",
                                "--pop", "challenge", "-t", "demo/sni", "-m", "x"],
                               capture_output=True, text=True, timeout=STEP_TIMEOUT)
                server.join(STEP_TIMEOUT)
                self.assertEqual(seen, [expected], "the server name the CLI sent for -h %s" % host)

    def test_broker_selects_alpn_mqtt(self):
        # RFC 9431 2.2.3 (SHOULD): ALPN, so the handshake authenticates the application protocol:
        # the broker selects "mqtt" (the IANA ALPN id of MQTT) when the client offers it. Before,
        # it selected no protocol.
        context = ssl.create_default_context(cafile=ENV.path("pki", "ca.pem"))
        context.check_hostname = False
        context.set_alpn_protocols(["mqtt"])
        plain = socket.create_connection(("127.0.0.1", ENV.broker_port), timeout=STEP_TIMEOUT)
        with context.wrap_socket(plain) as wrapped:
            self.assertEqual(wrapped.selected_alpn_protocol(), "mqtt")


# --- 2.2.4.1 and 2.4: the CONNECT ---------------------------------------------------------------

class ConnectPhase(WireTest):
    def early_packets(self, name, token, topic):
        """CONNECT (token only, challenge/response) followed in the same write by a PUBLISH at
        QoS 1, a SUBSCRIBE and a PINGREQ, before the broker's challenge is answered."""
        client = self.client()
        connect = captured(client, lambda: client.connect(name, method="ace", data=token_only(token)))
        client.send_raw(connect + client.publish_packet(topic, "sent before CONNACK", 1, 1) +
                        subscribe_packet(2, [topic]) + client.pingreq_packet())
        return client

    def test_nothing_but_auth_is_processed_before_connack(self):
        # RFC 9431 2.2.4.1 / 2.2.1: the broker MUST NOT process packets other than AUTH and
        # DISCONNECT before CONNACK. The broker's first answer is the challenge; a refused client's
        # early PUBLISH is never routed; an accepted client's packets are answered after CONNACK.
        name = unique("early")
        topic = name + "/early"
        watcher = self.ace(unique("early-watch"), scope((name + "/#", "pub", "sub")))
        self.assertEqual(watcher.subscribe(name + "/#"), [1])
        token, pop = principal_token(name, scope((name + "/#", "pub", "sub")))

        refused = self.early_packets(name, token, topic)
        challenge = refused.read()
        self.assertEqual((challenge.kind, challenge.reason), (AUTH, CONTINUE_AUTHENTICATION), challenge)
        refused.auth(CONTINUE_AUTHENTICATION, challenge_answer(Ed25519PrivateKey.generate(),
                                                               challenge.properties[AUTHENTICATION_DATA]))
        self.assert_refused(refused, refused.read(), NOT_AUTHORIZED, "a wrong answer")
        self.assertEqual(self.topics_until_marker(watcher, watcher, name + "/marker"), [name + "/marker"],
                         "a PUBLISH sent before a refused CONNACK was routed")

        accepted = self.early_packets(name, token, topic)
        challenge = accepted.read()
        self.assertEqual((challenge.kind, challenge.reason), (AUTH, CONTINUE_AUTHENTICATION), challenge)
        accepted.auth(CONTINUE_AUTHENTICATION, challenge_answer(pop, challenge.properties[AUTHENTICATION_DATA]))
        packets = [accepted.read() for _ in range(4)]
        self.assertEqual([p.kind for p in packets], [CONNACK, PUBACK, SUBACK, PINGRESP], packets)
        self.assertEqual(packets[0].reason, SUCCESS)

    def test_username_and_password_flags_next_to_the_ace_method_are_ignored(self):
        # RFC 9431 2.2.4.1: the client MUST set both flags to 0. The broker is lenient (a
        # documented deviation): it authenticates by the ace method and ignores the two fields.
        name = unique("flags")
        token, pop = principal_token(name, scope((name + "/#", "pub")))
        client = self.client()
        client.connect(name, method="ace", data=token_only(token), username="someone", password=b"secret")
        challenge = client.read()
        self.assertEqual((challenge.kind, challenge.reason), (AUTH, CONTINUE_AUTHENTICATION), challenge)
        client.auth(CONTINUE_AUTHENTICATION, challenge_answer(pop, challenge.properties[AUTHENTICATION_DATA]))
        self.assert_accepted(client.read(), "ace method with user name and password flags")

    def test_will_topic_must_be_in_the_scope(self):
        # RFC 9431 2.2.4.1 / 2.3 / 5: the Will topic is authorized with the scope, for every proof;
        # outside it the CONNECT is refused (0x87, 3.1.1: 5). An accepted Will is published when
        # the connection is lost.
        name = unique("will")
        token, pop = principal_token(name, scope((name + "/#", "pub")))
        outside = {"topic": "elsewhere/" + name, "payload": b"last words"}
        client = self.client()
        self.assert_refused(client, client.ace_connect(token, pop, name, will=outside), NOT_AUTHORIZED,
                            "challenge/response with a Will outside the scope")
        client = self.client(transport="exporter")
        self.assert_refused(client, self.exporter_connect(client, token, pop, name, will=outside),
                            NOT_AUTHORIZED, "exporter with a Will outside the scope")
        client = self.client(version=4, transport="exporter")
        client.connect(name, username="ace" + b64url(token.encode()), password=client.exporter_pop(pop),
                       will=outside)
        self.assert_refused(client, client.read(), V311_NOT_AUTHORIZED, "3.1.1 with a Will outside the scope")

        watcher = self.ace(unique("will-watch"), scope((name + "/#", "sub")))
        self.assertEqual(watcher.subscribe(name + "/#"), [1])
        inside = {"topic": name + "/will", "payload": b"last words"}
        client = self.client()
        self.assert_accepted(client.ace_connect(token, pop, name, will=inside), "a Will inside the scope")
        client.close()  # the network connection is lost: no DISCONNECT
        will = watcher.expect(PUBLISH)
        self.assertEqual((will.topic, will.payload), (inside["topic"], b"last words"))

    def test_session_present_follows_the_session_state(self):
        # RFC 9431 2.2.4.1 / 2.4.2: a new session is Session Present 0; a continued one (Clean
        # Start 0, a session for the client id) is resumed with Session Present 1, its
        # subscription and the message queued meanwhile. Clean Start 1 discards it.
        name = unique("session")
        token_scope = scope((name + "/#", "pub", "sub"))
        publisher = self.ace(unique("session-pub"), scope((name + "/#", "pub")))

        def connect(clean_start, expiry=None):
            token, pop = principal_token(name, token_scope)
            client = self.client()
            connack = client.ace_connect(token, pop, name, clean_start=clean_start, expiry=expiry)
            self.assert_accepted(connack, "Clean Start %d" % clean_start)
            return client, connack.session_present

        client, present = connect(True)
        self.assertFalse(present)
        client.disconnect()
        client, present = connect(False, 300)
        self.assertFalse(present, "no session existed (the first had Session Expiry 0)")
        self.assertEqual(client.subscribe(name + "/#"), [1])
        client.disconnect()
        self.assertLess(publisher.publish_qos1(name + "/offline", "queued").reason, 0x80)
        client, present = connect(False, 300)
        self.assertTrue(present, "the session was not resumed")
        queued = client.expect(PUBLISH)
        self.assertEqual(queued.topic, name + "/offline")
        client.puback(queued.packet_id)
        client.disconnect()
        client, present = connect(True)
        self.assertFalse(present, "Clean Start 1 must start a new session")

    def test_continuing_a_session_needs_a_new_proof(self):
        # RFC 9431 2.2.4.1 / 5: PoP again on every connection, session continuation or not: the
        # proof of an earlier TLS connection is refused and the session stays for the real owner.
        name = unique("resume-pop")
        token, pop = principal_token(name, scope((name + "/#", "pub", "sub")))
        first = self.client(transport="exporter")
        proof = token_only(token) + first.exporter_pop(pop)
        first.connect(name, clean_start=False, expiry=300, method="ace", data=proof)
        self.assert_accepted(first.read(), "the first connection")
        first.disconnect()
        replay = self.client()
        replay.connect(name, clean_start=False, expiry=300, method="ace", data=proof)
        self.assert_refused(replay, replay.read(), NOT_AUTHORIZED, "the first connection's proof replayed")
        wrong = self.client()
        self.assert_refused(wrong, wrong.ace_connect(token, Ed25519PrivateKey.generate(), name,
                                                     clean_start=False, expiry=300),
                            NOT_AUTHORIZED, "the token with another key's answer")
        again = self.client()
        connack = again.ace_connect(token, pop, name, clean_start=False, expiry=300)
        self.assert_accepted(connack, "a fresh proof")
        self.assertTrue(connack.session_present)

    def test_token_of_a_connect_is_kept_for_later_connections(self):
        # RFC 9431 2.4.2 (MUST be prepared to store the token after disconnection) and 6.1
        # (SHOULD, 3.1.1): a later CONNECT without a token is challenged on the token kept.
        name = unique("kept")
        token, pop = principal_token(name, scope((name + "/#", "pub")))
        first = self.client()
        self.assert_accepted(first.ace_connect(token, pop, name), "MQTT 5 CONNECT with the token")
        first.disconnect()
        self.assert_accepted(self.client().ace_connect(None, pop, name), "a later CONNECT without it")
        name = unique("kept-v311")
        token, pop = principal_token(name, scope((name + "/#", "pub")))
        first = self.client(version=4, transport="exporter")
        self.assert_accepted(first.ace_connect_v311(token, pop, name), "MQTT 3.1.1 CONNECT with the token")
        first.disconnect()
        self.assert_accepted(self.client().ace_connect(None, pop, name), "a later CONNECT without it")

    def test_mqtt5_token_in_user_name_and_password_is_not_offered(self):
        # RFC 9431 2.2.4.1 (MAY): the user name / password transport is for MQTT 3.1.1 clients
        # only; an MQTT 5 CONNECT carrying it (no Authentication Method) is refused.
        name = unique("v5-username")
        token, pop = principal_token(name, scope((name + "/#", "pub")))
        client = self.client(transport="exporter")
        client.connect(name, username="ace" + b64url(token.encode()), password=client.exporter_pop(pop))
        self.assert_refused(client, client.read(), NOT_AUTHORIZED, "MQTT 5 with the 3.1.1 token transport")

    def test_client_id_collision_takes_over_with_0x8e(self):
        # RFC 9431 2.2.4.1: a second connection of the client identifier: DISCONNECT 0x8E to the
        # older connection, which is then closed (the same principal; another one is refused,
        # security/ace_session_binding_test).
        name = unique("takeover")
        older = self.ace(name, scope((name + "/#", "pub")))
        self.ace(name, scope((name + "/#", "pub")))
        self.assert_disconnected(older, SESSION_TAKEN_OVER, "the older connection")

    def test_refusal_reasons_are_0x87(self):
        # RFC 9431 2.4 / 2.4.1: a CONNACK for the validation result; an invalid token, no
        # Authentication Data and no token held, malformed Authentication Data, and a Will the
        # scope does not allow are all 0x87.
        name = unique("refusals")
        token, pop = principal_token(name, scope((name + "/#", "pub")))
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        client = self.client()
        self.assert_refused(client, client.ace_connect(forged, pop, name), NOT_AUTHORIZED, "an invalid token")
        client = self.client()
        client.connect(name, method="ace")
        self.assert_refused(client, client.read(), NOT_AUTHORIZED, "no Authentication Data, no token held")
        for data in (b"\x00", struct.pack(">H", len(token) + 10) + token.encode(), b"\x00\x00"):
            client = self.client()
            client.connect(name, method="ace", data=data)
            self.assert_refused(client, client.read(), NOT_AUTHORIZED, "malformed data %r" % data[:8])
        client = self.client()
        self.assert_refused(client, client.ace_connect(token, pop, name, will={"topic": "x/" + name,
                                                                              "payload": b"w"}),
                            NOT_AUTHORIZED, "a Will outside the scope")


# --- 2.2.4.2.1: the exporter ---------------------------------------------------------------------

class ProofOfPossession(WireTest):
    def test_exporter_label_context_and_length(self):
        # RFC 9431 2.2.4.2.1: label EXPORTER-ACE-MQTT-Sign-Challenge, an empty context, 32 bytes,
        # from this TLS connection; any other exporter value is refused.
        name = unique("exporter")
        token, pop = principal_token(name, scope((name + "/#", "pub")))
        client = self.client(transport="exporter")
        self.assert_accepted(self.exporter_connect(client, token, pop, unique(name)),
                             "the exporter of RFC 9431")
        other = self.client(transport="exporter")  # another live TLS connection
        cases = (("another label", dict(label=b"EXPORTER-ACE-MQTT-Sign-Challenge-2")),
                 ("16 bytes", dict(length=16)),
                 ("64 bytes", dict(length=64)),
                 ("another TLS connection's exporter",
                  dict(exporter=other.transport.exporter(EXPORTER_LABEL, 32))))
        for what, change in cases:
            with self.subTest(what=what):
                client = self.client(transport="exporter")
                self.assert_refused(client, self.exporter_connect(client, token, pop, unique(name), **change),
                                    NOT_AUTHORIZED, what)


# --- 2.3 and 3: authorization --------------------------------------------------------------------

class Authorization(WireTest):
    def test_topic_must_equal_or_be_a_subset_of_a_scope_filter(self):
        # RFC 9431 2.3 / 3.1 / 3.3 with the example scope of 2.3: per-filter SUBACK codes (0x87
        # for each refused filter), PUBLISH by "pub" filters; wildcard subscriptions available.
        n = unique("aif")
        token, pop = principal_token(n, scope((n + "/topic1", "pub", "sub"), (n + "/topic2/#", "pub"),
                                              (n + "/+/topic3", "sub")))
        client = self.client()
        connack = client.ace_connect(token, pop, n)
        self.assert_accepted(connack, "the RFC 2.3 example scope")
        self.assertEqual(connack.properties.get(WILDCARD_SUBSCRIPTION_AVAILABLE, 1), 1)
        filters = {n + "/topic1": 1, n + "/topic2/#": NOT_AUTHORIZED, n + "/a/topic3": 1,
                   n + "/+/topic3": 1, n + "/#": NOT_AUTHORIZED, n + "/+/+": NOT_AUTHORIZED,
                   "#": NOT_AUTHORIZED}
        client.send_raw(subscribe_packet(1, list(filters)))
        self.assertEqual(client.expect(SUBACK).suback_reasons, list(filters.values()))
        for packet_id, (topic, allowed) in enumerate(((n + "/topic2/a", True), (n + "/topic2/a/b", True),
                                                      (n + "/topic1", True), (n + "/b/topic3", False),
                                                      (n + "/topic1/x", False), (n + "/topic", False)), 2):
            with self.subTest(publish=topic):
                reason = client.publish_qos1(topic, "x", packet_id).reason
                if allowed:
                    self.assertLess(reason, 0x80)
                else:
                    self.assertEqual(reason, NOT_AUTHORIZED)

    def test_empty_scope_grants_nothing(self):
        # RFC 9431 2.3: an empty scope records no permissions (a Will is refused too).
        name = unique("empty")
        client = self.ace(name, "[]")
        self.assertEqual(client.publish_qos1(name + "/x", "x").reason, NOT_AUTHORIZED)
        self.assertEqual(client.subscribe(name + "/#"), [NOT_AUTHORIZED])
        token, pop = principal_token(name, "[]")
        will = self.client()
        self.assert_refused(will, will.ace_connect(token, pop, unique(name), will={"topic": name + "/w",
                                                                                   "payload": b"w"}),
                            NOT_AUTHORIZED, "a Will with an empty scope")

    def test_refused_publish_is_acknowledged_0x87_and_never_routed(self):
        # RFC 9431 3.1: PUBACK / PUBREC 0x87; the message reaches no subscriber.
        name = unique("refused")
        watcher = self.ace(unique("refused-watch"), scope((name + "/#", "sub")))
        self.assertEqual(watcher.subscribe(name + "/#"), [1])
        publisher = self.ace(name, scope((name + "/ok/#", "pub")))
        self.assertEqual(publisher.publish_qos1(name + "/secret", "qos 1", 1).reason, NOT_AUTHORIZED)
        publisher.send_raw(publisher.publish_packet(name + "/secret", "qos 2", 2, 2))
        pubrec = publisher.read()
        self.assertEqual((pubrec.kind, pubrec_reason(pubrec)), (PUBREC, NOT_AUTHORIZED), pubrec)
        marker = name + "/ok/marker"
        self.assertEqual(self.topics_until_marker(watcher, publisher, marker), [marker])

    def test_hidden_topic_names_answer_0x80_to_subscribe(self):
        # RFC 9431 3.3 (MAY): 0x80 instead of 0x87 (ace.hide_topic_names), per filter.
        hidden = SiblingBroker(ENV, {"ace.hide_topic_names": "true"})
        self.cleanups.append(hidden.stop)
        hidden.start()
        name = unique("hidden")
        client = self.ace(name, scope((name + "/#", "pub", "sub")), env=hidden)
        client.send_raw(subscribe_packet(1, [name + "/a", "elsewhere/#"]))
        self.assertEqual(client.expect(SUBACK).suback_reasons, [1, UNSPECIFIED_ERROR])


# --- 4: re-authentication -----------------------------------------------------------------------

class Reauthentication(WireTest):
    def test_new_token_by_challenge_takes_effect_at_once(self):
        # RFC 9431 4: AUTH 0x19 (method ace, the new token) -> AUTH 0x18 (8-byte nonce) -> the
        # client's answer -> AUTH 0x00; the new scope applies at once and the subscription it
        # no longer allows is removed.
        name = unique("reauth")
        client = self.ace(name, scope((name + "/a", "pub", "sub"), (name + "/b", "pub", "sub")))
        client.send_raw(subscribe_packet(1, [name + "/a", name + "/b"]))
        self.assertEqual(client.expect(SUBACK).suback_reasons, [1, 1])
        token, pop = principal_token(name, scope((name + "/a", "pub", "sub"), (name + "/b", "pub")))
        done = self.reauthenticate(client, token, pop)
        self.assertEqual((done.kind, done.reason), (AUTH, SUCCESS), done)
        self.assertEqual(client.subscribe(name + "/b", 1, 2), [NOT_AUTHORIZED])
        publisher = self.ace(unique("reauth-pub"), scope((name + "/#", "pub")))
        self.assertLess(publisher.publish_qos1(name + "/b", "pruned", 1).reason, 0x80)
        self.assertEqual(self.topics_until_marker(client, publisher, name + "/a"), [name + "/a"],
                         "the subscription the new scope refuses still delivered")

    def test_new_expiry_takes_effect_at_once(self):
        # RFC 9431 4: the new token's expiry replaces the old one (DISCONNECT 0x87 at its end).
        name = unique("reauth-expiry")
        client = self.ace(name, scope((name + "/#", "pub", "sub")))
        token, pop, _ = mint(scope=scope((name + "/#", "pub", "sub")), lifetime=SHORT_LIFETIME, sub=name,
                             client_id=name)
        done = self.reauthenticate(client, token, pop)
        self.assertEqual((done.kind, done.reason), (AUTH, SUCCESS), done)
        self.assert_disconnected(client, NOT_AUTHORIZED, "after the new token's expiry")

    def test_exporter_is_refused_within_the_tls_session(self):
        # RFC 9431 2.2.4.2.1 / 4: re-authentication in the same TLS session MUST use the
        # challenge/response; the exporter layout is refused (DISCONNECT 0x87).
        name = unique("reauth-exporter")
        token, pop = principal_token(name, scope((name + "/#", "pub")))
        client = self.client(transport="exporter")
        self.assert_accepted(client.ace_connect(token, pop, name), "challenge/response")
        new_token, _ = principal_token(name, scope((name + "/#", "pub")))
        client.auth(REAUTHENTICATE, token_only(new_token) + client.exporter_pop(pop))
        self.assert_disconnected(client, NOT_AUTHORIZED, "re-authentication over the exporter")

    def test_failed_reauthentication_disconnects_0x87(self):
        # RFC 9431 4: a failed re-authentication -> DISCONNECT 0x87 and the connection closed.
        name = unique("reauth-fail")
        token_scope = scope((name + "/#", "pub"))
        now = int(time.time())
        expired, expired_pop, _ = mint(scope=token_scope, lifetime=-10, iat=now - 70, sub=name, client_id=name)
        good, good_pop = principal_token(name, token_scope)
        forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
        other, other_pop = principal_token(unique("someone-else"), token_scope)
        cases = (("an expired token", expired, expired_pop),
                 ("an invalid token", forged, good_pop),
                 ("a wrong answer to the challenge", good, Ed25519PrivateKey.generate()),
                 ("another principal's token", other, other_pop))
        for what, token, pop in cases:
            with self.subTest(what=what):
                client = self.ace(name, token_scope, client_id=unique(name))
                client.auth(REAUTHENTICATE, token_only(token))
                packet = client.read()
                if packet is not None and packet.kind == AUTH and packet.reason == CONTINUE_AUTHENTICATION:
                    # The token was valid: the broker challenges, and the answer decides.
                    client.auth(CONTINUE_AUTHENTICATION,
                                challenge_answer(pop, packet.properties[AUTHENTICATION_DATA]))
                    packet = client.read()
                after = client.read_until_end() if packet is not None else []
                self.assertTrue(packet is not None and packet.kind == DISCONNECT,
                                "%s: expected DISCONNECT 0x87, got %r" % (what, packet if packet else END))
                self.assertEqual(packet.reason, NOT_AUTHORIZED, "%s: %r" % (what, packet))
                self.assertEqual(after, [], "%s: more after the DISCONNECT" % what)

    def test_reauthentication_without_an_ace_connect_is_denied(self):
        # RFC 9431 4: accepted only after a token with PoP; otherwise MUST deny. A client
        # admitted without credentials (no Authentication Method at CONNECT) is disconnected.
        client = self.anonymous()
        name = unique("reauth-anon")
        token, _ = principal_token(name, scope((name + "/#", "pub")))
        client.auth(REAUTHENTICATE, token_only(token))
        self.assert_disconnected(client, PROTOCOL_ERROR, "AUTH 0x19 without an ace CONNECT")


# --- 3.2, 4, 5: expiry, Wills and retained messages ----------------------------------------------

class Expiry(WireTest):
    def short_lived(self, name, token_scope, version=5, **connect):
        token, pop, _ = mint(scope=token_scope, lifetime=SHORT_LIFETIME, sub=name, client_id=name)
        if version == 5:
            client = self.client()
            self.assert_accepted(client.ace_connect(token, pop, name, **connect), "a short-lived token")
        else:
            client = self.client(version=4, transport="exporter")
            self.assert_accepted(client.ace_connect_v311(token, pop, name), "a short-lived 3.1.1 token")
        return client

    def test_expired_client_is_disconnected_and_its_will_published(self):
        # RFC 9431 4 and 3.2: at expiry the broker ends the connection with DISCONNECT 0x87 (no
        # delivery to it any more); 5: its Will is published although the token expired.
        name = unique("expiry")
        watcher = self.ace(unique("expiry-watch"), scope((name + "/#", "sub")))
        self.assertEqual(watcher.subscribe(name + "/#"), [1])
        client = self.short_lived(name, scope((name + "/#", "pub", "sub")),
                                  will={"topic": name + "/will", "payload": b"gone"})
        self.assertEqual(client.subscribe(name + "/#"), [1])
        self.assert_disconnected(client, NOT_AUTHORIZED, "at token expiry")
        will = watcher.expect(PUBLISH)
        self.assertEqual((will.topic, will.payload), (name + "/will", b"gone"))

    def test_retained_messages_live_while_the_token_is_valid(self):
        # RFC 9431 5: retained messages are kept after a DISCONNECT with Session Expiry 0 and
        # published while the token is valid; dropped at min(token expiry, message expiry).
        name = unique("retained")
        kept = self.ace(name, scope((name + "/#", "pub")))
        kept.send_raw(kept.publish_packet(name + "/kept", "kept", 1, 1, retain=True))
        self.assertLess(kept.expect(PUBACK).reason, 0x80)
        kept.disconnect()
        short = self.short_lived(unique(name), scope((name + "/#", "pub")))
        short.send_raw(short.publish_packet(name + "/short", "short", 1, 1, retain=True))
        self.assertLess(short.expect(PUBACK).reason, 0x80)

        def retained_now():
            subscriber = self.ace(unique("retained-sub"), scope((name + "/#", "pub", "sub")))
            self.assertEqual(subscriber.subscribe(name + "/#"), [1])
            return sorted(self.topics_until_marker(subscriber, subscriber, name + "/marker"))

        self.assertEqual(retained_now(), [name + "/kept", name + "/marker", name + "/short"])
        self.assert_disconnected(short, NOT_AUTHORIZED, "the retained message's publisher at expiry")
        self.assertEqual(retained_now(), [name + "/kept", name + "/marker"],
                         "a retained message outlived its publisher's token")

    def test_retained_will_is_dropped_with_the_token(self):
        # RFC 9431 5: a retained message is discarded at min(token expiry, message expiry), a
        # retained Will too; and the Will is published although the token expired. Before, a
        # retained Will got no bound from the token (broker::publish_will set no retain_until):
        # the Will of a client whose token expired stayed retained for every later subscriber.
        name = unique("retained-will")
        watcher = self.ace(unique("retained-will-watch"), scope((name + "/#", "sub")))
        self.assertEqual(watcher.subscribe(name + "/#"), [1])
        client = self.short_lived(name, scope((name + "/#", "pub")),
                                  will={"topic": name + "/will", "payload": b"gone", "retain": True})
        self.assert_disconnected(client, NOT_AUTHORIZED, "at token expiry")
        self.assertEqual(watcher.expect(PUBLISH).topic, name + "/will")  # published live: RFC 9431 5
        later = self.ace(unique("retained-will-later"), scope((name + "/#", "pub", "sub")))
        self.assertEqual(later.subscribe(name + "/#"), [1])
        self.assertEqual(self.topics_until_marker(later, later, name + "/marker"), [name + "/marker"],
                         "the retained Will outlived its publisher's token")

    def test_mqtt311_expired_client_is_disconnected(self):
        # RFC 9431 6.2: expiry disconnects a 3.1.1 client (no DISCONNECT packet in 3.1.1).
        name = unique("expiry-v311")
        client = self.short_lived(name, scope((name + "/#", "pub", "sub")), version=4)
        self.assertEqual(client.subscribe(name + "/#"), [1])
        self.assertEqual(client.read_until_end(), [], "3.1.1 at token expiry")


# --- 6: MQTT 3.1.1 ------------------------------------------------------------------------------

class Mqtt311(WireTest):
    def v311(self, env=None):
        return self.client(env, version=4, transport="exporter")

    def test_username_ace_token_and_exporter_password(self):
        # RFC 9431 6.1: user name "ace" + base64url(token), password = PoP over the exporter;
        # 6.2: a CONNECT without a token fails; PoP is always checked.
        name = unique("v311")
        token, pop = principal_token(name, scope((name + "/#", "pub")))
        self.assert_accepted(self.v311().ace_connect_v311(token, pop, name), "3.1.1 ACE CONNECT")
        other = self.v311()
        username = "ace" + b64url(token.encode())
        cases = (("user name ace without a token", lambda _: dict(username="ace", password=b"x" * 64)),
                 ("a token without a password", lambda _: dict(username=username)),
                 ("the proof over another connection's exporter",
                  lambda _: dict(username=username, password=other.exporter_pop(pop))),
                 ("a proof by another key",
                  lambda client: dict(username=username,
                                      password=client.exporter_pop(Ed25519PrivateKey.generate()))))
        for what, fields in cases:
            with self.subTest(what=what):
                client = self.v311()
                client.connect(unique(name), **fields(client))
                self.assert_refused(client, client.read(), V311_NOT_AUTHORIZED, what)

    def test_clean_session_0_resumes_or_creates(self):
        # RFC 9431 6.1: Clean 0 -> resume the session or create one; Session Present accordingly.
        name = unique("v311-session")
        token, pop = principal_token(name, scope((name + "/#", "pub", "sub")))
        first = self.v311()
        connack = first.ace_connect_v311(token, pop, name, clean_session=False)
        self.assert_accepted(connack, "the first Clean 0 CONNECT")
        self.assertFalse(connack.session_present)
        first.disconnect()
        again = self.v311()
        connack = again.ace_connect_v311(token, pop, name, clean_session=False)
        self.assert_accepted(connack, "the second Clean 0 CONNECT")
        self.assertTrue(connack.session_present)

    def test_unauthorized_publish_is_ignored_and_disconnects(self):
        # RFC 9431 6.2: ignore the PUBLISH and disconnect (no PUBACK, no routing).
        name = unique("v311-publish")
        watcher = self.ace(unique("v311-watch"), scope((name + "/#", "pub", "sub")))
        self.assertEqual(watcher.subscribe(name + "/#"), [1])
        token, pop = principal_token(name, scope((name + "/ok/#", "pub")))
        client = self.v311()
        self.assert_accepted(client.ace_connect_v311(token, pop, name), "3.1.1 publisher")
        client.publish(name + "/secret", "outside the scope", 1, 1)
        self.assertEqual(client.read_until_end(), [], "3.1.1 unauthorized PUBLISH")
        self.assertEqual(self.topics_until_marker(watcher, watcher, name + "/marker"), [name + "/marker"])

    def test_subscribe_failure_is_0x80(self):
        # RFC 9431 6.2: the 3.1.1 SUBACK return code 0x80 per refused filter.
        name = unique("v311-subscribe")
        token, pop = principal_token(name, scope((name + "/#", "sub")))
        client = self.v311()
        self.assert_accepted(client.ace_connect_v311(token, pop, name), "3.1.1 subscriber")
        client.send_raw(subscribe_packet(1, [name + "/a", "elsewhere/#"], version=4))
        self.assertEqual(client.expect(SUBACK).suback_reasons, [1, 0x80])

    def test_interactions_can_be_switched_off(self):
        # RFC 9431 6 (MAY): with ace.allow_v311 = false the "ace" user name is not read; the
        # broker still speaks MQTT 3.1.1 (other providers) and refuses with return code 5.
        off = SiblingBroker(ENV, {"ace.allow_v311": "false"})
        self.cleanups.append(off.stop)
        off.start()
        name = unique("v311-off")
        token, pop = principal_token(name, scope((name + "/#", "pub")))
        client = self.v311(off)
        self.assert_refused(client, client.ace_connect_v311(token, pop, name), V311_NOT_AUTHORIZED,
                            "3.1.1 ACE with allow_v311 off", off)
        self.ace(unique("v311-off-v5"), scope(("x/#", "pub")), env=off)

    def test_session_expiry_is_limited(self):
        # RFC 9431 2.2.4.1 / 6.1 / 8: policies limit stored sessions; MQTT 5 sees the broker's
        # maximum (broker.maximum_session_expiry, 7 days) in CONNACK.
        name = unique("max-expiry")
        token, pop = principal_token(name, scope((name + "/#", "pub")))
        client = self.client()
        connack = client.ace_connect(token, pop, name, clean_start=True, expiry=0xFFFFFFFF)
        self.assert_accepted(connack, "Session Expiry 0xFFFFFFFF")
        self.assertEqual(connack.properties.get(SESSION_EXPIRY_INTERVAL), 7 * 24 * 3600)


# --- reference tokens and CWTs: an AS and brokers of their own ------------------------------------

class ReferenceEnvironment(SecurityEnvironment):
    """An AS that also issues reference tokens for REFERENCE_AUDIENCE and CWTs for CWT_AUDIENCE
    (their symmetric keys encrypted to the brokers' key), and a broker for REFERENCE_AUDIENCE,
    which introspects with its Basic credentials (RFC 7662)."""

    def __init__(self, settings=None):
        self.overrides = {}
        super().__init__(self.overrides)
        self.overrides.update({"ace.audience": REFERENCE_AUDIENCE, "ace.as.client_id": REFERENCE_AUDIENCE,
                               "ace.as.client_secret_file": self.path("reference-secret")})
        self.overrides.update(settings or {})

    def start_broker(self):
        if not os.path.exists(self.path("reference-secret")):
            self.write("reference-secret", REFERENCE_SECRET + "\n")
            self.as_admin("rs", "create", REFERENCE_AUDIENCE, "--format", "reference", "--secret",
                          REFERENCE_SECRET)
            self.as_admin("rs", "create", CWT_AUDIENCE, "--format", "cwt", "--secret", CWT_SECRET,
                          "--encryption-key", json.dumps(harness.profile.ENCRYPTION_KEY))
            self.as_admin("rs", "create", FORM_AUDIENCE, "--format", "reference", "--secret", FORM_SECRET)
            subtrees = []
            for audience in (REFERENCE_AUDIENCE, CWT_AUDIENCE, FORM_AUDIENCE):
                subtrees += ["--subtree", audience + "=demo/#"]
            self.as_admin("owner", "create", "formats-owner", "--secret", "owner-secret", *subtrees)
            for audience in (REFERENCE_AUDIENCE, CWT_AUDIENCE, FORM_AUDIENCE):
                self.as_admin("grant", "create", "--owner", "formats-owner", "--client", flows.CLIENT_ID,
                              "--audience", audience, "--filter", "demo/#", "--permissions", "pub,sub",
                              "--lifetime", "3600")
        super().start_broker()


class TokenFormats(WireTest):
    REF = None  # the AS and the reference-token broker
    CWT = None  # a broker for the AS's CWTs
    KEY_FILE = None

    @classmethod
    def setUpClass(cls):
        cls.REF = ReferenceEnvironment()
        try:
            cls.REF.start()
            secret = cls.REF.write("cwt-secret", CWT_SECRET + "\n")
            cls.CWT = SiblingBroker(cls.REF, {"ace.audience": CWT_AUDIENCE, "ace.as.client_id": CWT_AUDIENCE,
                                              "ace.as.client_secret_file": secret})
            cls.CWT.start()
            cls.KEY_FILE = cls.REF.path("client-ed25519.pem")
            subprocess.run([os.environ["ACEMQ_CLIENT"], "token", "keygen", "--type", "ed25519", "--out",
                            cls.KEY_FILE], check=True, capture_output=True, timeout=STEP_TIMEOUT)
        except Exception:
            cls.tearDownClass()
            raise
        finally:
            ENV.use()  # REF.start() pointed the e2e modules' globals at REF

    @classmethod
    def tearDownClass(cls):
        if cls.CWT:
            cls.CWT.stop()
        cls.REF.stop()

    def test_a_cwt_is_verified_and_its_symmetric_key_encrypted(self):
        # RFC 9431 2.1: a CWT carries a symmetric key only encrypted (COSE_Encrypt0, opened with
        # the broker's key); 2.2.5: COSE protection is processed first; HS256 and Ed25519.
        _, token, key = as_token(self.REF, unique("cwt") + ".json", CWT_AUDIENCE)
        self.assertEqual(token[:3], b"\xd8\x3d\xd2", "expected a tagged COSE_Sign1 CWT")
        self.assertNotIn(key.secret, token, "the symmetric PoP key travels in clear")
        self.assert_accepted(self.client(self.CWT).ace_connect(token, key, unique("cwt")), "CWT, HS256",
                             self.CWT)
        _, signed, ed25519 = as_token(self.REF, unique("cwt") + ".json", CWT_AUDIENCE, key_file=self.KEY_FILE)
        client = self.client(self.CWT, transport="exporter")
        self.assert_accepted(self.exporter_connect(client, signed, ed25519, unique("cwt")), "CWT, Ed25519",
                             self.CWT)
        forged = token[:-1] + bytes([token[-1] ^ 1])  # the last byte of the signature
        client = self.client(self.CWT)
        self.assert_refused(client, client.ace_connect(forged, key, unique("cwt")), NOT_AUTHORIZED,
                            "a CWT with a broken signature", self.CWT)

    def reference_token(self, symmetric=False):
        """A reference token of the AS, bound to the client's Ed25519 key (req_cnf) or, with
        `symmetric`, to a key the AS generates."""
        _, token, key = as_token(self.REF, unique("ref") + ".json", REFERENCE_AUDIENCE,
                                 key_file=None if symmetric else self.KEY_FILE)
        self.assertNotIn(b".", token, "expected an opaque reference token")
        return token, key

    def test_a_reference_token_proves_possession_with_the_introspected_cnf(self):
        # RFC 9431 2.2.5: the broker MAY introspect; for a reference token it uses the cnf of the
        # introspection result.
        token, key = self.reference_token()
        self.assert_accepted(self.client(self.REF).ace_connect(token, key, unique("ref-a")),
                             "reference token, challenge/response", self.REF)
        client = self.client(self.REF, transport="exporter")
        self.assert_accepted(self.exporter_connect(client, token, key, unique("ref-a")),
                             "reference token over the exporter", self.REF)
        wrong = self.client(self.REF)
        self.assert_refused(wrong, wrong.ace_connect(token, Ed25519PrivateKey.generate(), unique("ref-a")),
                            NOT_AUTHORIZED, "reference token, another key", self.REF)

    def test_a_reference_token_with_a_symmetric_key(self):
        # RFC 9431 2.2.5: "For a token-by-reference, the Broker uses the cnf structure returned as
        # a result of token introspection". acemq-as answers /introspect for a token with its own
        # (default, symmetric) PoP key with cnf {"jwk": {"kty": "oct", ...}}, over the mutually
        # authenticated TLS channel of RFC 7662; the broker accepts that key there (not in a JWT,
        # 2.1). Before, it applied the JWT rule and refused every HS256 reference token.
        token, key = self.reference_token(symmetric=True)
        self.assert_accepted(self.client(self.REF).ace_connect(token, key, unique("ref-hs256")),
                             "reference token with an HS256 key, challenge/response", self.REF)
        client = self.client(self.REF, transport="exporter")
        self.assert_accepted(self.exporter_connect(client, token, key, unique("ref-hs256")),
                             "reference token with an HS256 key over the exporter", self.REF)
        wrong = self.client(self.REF)
        self.assert_refused(wrong, wrong.ace_connect(token, HmacKey(os.urandom(32)), unique("ref-hs256")),
                            NOT_AUTHORIZED, "reference token, another HS256 key", self.REF)

    def test_b_broker_authenticates_itself_to_the_as(self):
        # RFC 9431 2: the AS authenticates the broker (HTTP Basic, RFC 7662 2.1): a broker with a
        # wrong secret obtains no introspection result, so the token is refused (0x87).
        secret = self.REF.write("wrong-reference-secret", "not-the-secret\n")
        wrong = SiblingBroker(self.REF, dict(self.REF.overrides, **{"ace.as.client_secret_file": secret}))
        self.cleanups.append(wrong.stop)
        wrong.start()
        token, key = self.reference_token()
        client = self.client(wrong)
        self.assert_refused(client, client.ace_connect(token, key, unique("ref-b")), NOT_AUTHORIZED,
                            "introspection with a wrong broker secret", wrong)
        self.assert_accepted(self.client(self.REF).ace_connect(token, key, unique("ref-b")),
                             "control: the right secret", self.REF)

    def test_c_broker_secret_is_form_encoded_for_basic(self):
        # RFC 6749 2.3.1 (RFC 7662 2.1 authenticates the broker as an OAuth client): the client id
        # and secret are form-encoded before "id:secret" is base64-encoded, and acemq-as decodes
        # them. A secret with "%", "+", ":" and a space must still authenticate the broker. Before,
        # the broker sent them raw: the AS read "%41" as "A" and "+" as a space, refused the
        # broker, and the reference token was refused (0x87).
        secret = self.REF.write("form-secret", FORM_SECRET + "\n")
        broker = SiblingBroker(self.REF, dict(self.REF.overrides, **{
            "ace.audience": FORM_AUDIENCE, "ace.as.client_id": FORM_AUDIENCE,
            "ace.as.client_secret_file": secret}))
        self.cleanups.append(broker.stop)
        broker.start()
        _, token, key = as_token(self.REF, unique("form") + ".json", FORM_AUDIENCE, key_file=self.KEY_FILE)
        self.assert_accepted(self.client(broker).ace_connect(token, key, unique("form")),
                             "introspection with a secret of '%', '+', ':' and a space", broker)

    def test_z_cached_introspection_outlives_the_as_but_pop_does_not(self):
        # Stops the AS (the last test of the class). RFC 9431 2.3 / 2.4.2: the introspection
        # result is cached for later PUBLISH / SUBSCRIBE and (2.2.4.1 MAY) for a reconnect, which
        # still needs a proof; 2.2.2: when the claims cannot be obtained -> 0x87 (PUBACK at QoS 1,
        # DISCONNECT at QoS 0) and a CONNECT is refused.
        token, key = self.reference_token()
        never_presented, never_key = self.reference_token()
        connected = self.client(self.REF)
        self.assert_accepted(connected.ace_connect(token, key, unique("ref-z")), "introspected", self.REF)
        self.REF.as_process.stop()
        self.assertLess(connected.publish_qos1("demo/cached", "authorized by the cached result").reason, 0x80)
        self.assertEqual(connected.subscribe("demo/cached/#", 1, 2), [1])
        self.assert_accepted(self.client(self.REF).ace_connect(token, key, unique("ref-z")),
                             "reconnect with the cached token, AS down", self.REF)
        wrong = self.client(self.REF)
        self.assert_refused(wrong, wrong.ace_connect(token, Ed25519PrivateKey.generate(), unique("ref-z")),
                            NOT_AUTHORIZED, "the cached token with another key", self.REF)
        unknown = self.client(self.REF)
        self.assert_refused(unknown, unknown.ace_connect(never_presented, never_key, unique("ref-z")),
                            NOT_AUTHORIZED, "a reference token the AS cannot be asked about", self.REF)
        uploader = self.anonymous(self.REF)
        self.assertEqual(uploader.publish_qos1("authz-info", never_presented).reason, NOT_AUTHORIZED)
        uploader.publish("authz-info", never_presented)
        self.assert_disconnected(uploader, NOT_AUTHORIZED, "QoS 0 upload, claims unobtainable")


if __name__ == "__main__":
    unittest.main(verbosity=2)
