"""Shared helpers of the abuse tests (challenge_table_test, password_lockout_test, tls_psk_test):
what an attacker needs beyond security_harness.py and ace_security_harness.py, which are reused
as they are.

  * clients bound to a chosen loopback source address (127.0.0.2 .. 127.0.0.20), so that one
    test can play several hosts: the raw MQTT client of security_harness with a source address,
    and a constructor for the ACE harness's MqttClient (which already takes one);
  * the MQTT 5 challenge exchanges by hand: ACE (RFC 9431 2.2.4.2.2) and the device-signed JWT
    method `acemq-device-jwt` (docs/authentication.md), each split in "get a challenge" and
    "answer it" so an attacker can stop after the first half;
  * tokens with a symmetric PoP key (RFC 9431 2.1: cnf.jwe, encrypted to the broker's key
    ace_profile_e2e.ENCRYPTION_KEY with A256KW/A256GCM, as acemq-as does), minted by the test
    issuer of ace_flows_e2e, for the TLS-PSK tests;
  * a TLS 1.3 ClientHello with a chosen external PSK identity and key (`openssl s_client
    -psk_identity ... -psk ...`): with a key the client does not hold, the binder is wrong;
  * the device registry (`acemq-broker device DB add / add-key`) and device JWTs.

Every wait is on an event (a packet, the end of a stream, a process exit); no sleeps.
"""

import base64
import collections
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import ace_security_harness as ace  # noqa: E402
import security_harness as raw  # noqa: E402

import jwt  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from cryptography.hazmat.primitives.keywrap import aes_key_wrap  # noqa: E402

from ace_security_harness import (AUTH, CONNACK, CONTINUE_AUTHENTICATION, b64url,  # noqa: E402,F401
                                  challenge_answer, profile, token_only)

# Loopback source addresses: one per simulated host. 127.0.0.1 is the legitimate client's usual
# address unless a test says otherwise.
LEGITIMATE = "127.0.0.1"
MALLORY = "127.0.0.2"


def source(n):
    """127.0.0.<n>, n in 1..20 (the addresses the tests may bind to)."""
    if not 1 <= n <= 20:
        raise ValueError("source address 127.0.0.%d is outside 127.0.0.1..127.0.0.20" % n)
    return "127.0.0.%d" % n


SERVER_BUSY = 0x89
BAD_USER_NAME_OR_PASSWORD = 0x86
CONNECTION_RATE_EXCEEDED = 0x9F
NOT_AUTHORIZED = 0x87
PAYLOAD_FORMAT_INVALID = 0x99

DEVICE_JWT_METHOD = "acemq-device-jwt"


def describe(packet):
    """A packet of the ACE harness (or None) for a failure message."""
    return "<end of stream>" if packet is None else repr(packet)


# ---- the raw client of security_harness, from a chosen source address ------------------------

class SourcedRawClient(raw.RawClient):
    """security_harness.RawClient whose socket is bound to `source` (a loopback address, or an
    IPv6 one when the broker listens on IPv6)."""

    def __init__(self, broker, version=raw.V5, tls=None, source=LEGITIMATE):
        self.version = version
        port = broker.tls_port if tls else broker.tcp_port
        # The listener's own address ("[::1]" for an IPv6 one), 127.0.0.1 by default.
        host = broker.addresses.get("tls" if tls else "tcp", "127.0.0.1").strip("[]")
        connection = socket.create_connection((host, port), timeout=raw.TIMEOUT,
                                              source_address=(source, 0))
        if tls:
            connection = tls.wrap_socket(connection, server_hostname="localhost")
        connection.settimeout(raw.TIMEOUT)
        self.sock = connection
        self.pending = collections.deque()
        self.next_packet_id = 1
        self.closed = False
        self.source = source


def password_connect(broker, client_id, username, password, version=raw.V5, source=LEGITIMATE):
    """One CONNECT with a user name and password from `source`; returns the CONNACK reason (MQTT
    5) or return code (3.1.1), or None when the broker closed the connection without one. The
    connection is closed afterwards (DISCONNECT first when accepted)."""
    client = SourcedRawClient(broker, version=version, source=source)
    try:
        try:
            connack = client.connect(client_id, username=username, password=password)
        except raw.Closed:
            return None
        if connack.reason == 0:
            client.disconnect()
        return connack.reason
    finally:
        client.close()


# ---- ACE: the challenge/response of RFC 9431 2.2.4.2.2, in two halves -------------------------

def ace_client_from(env, source=LEGITIMATE, **kwargs):
    """An ACE-harness MqttClient (TLS) to `env`'s broker from `source`."""
    return ace.MqttClient(env, source=source, **kwargs)


def ask_ace_challenge(client, token, client_id):
    """CONNECT with method `ace` and the token alone (token None: no Authentication Data, the
    broker challenges a token it holds for the client). Returns the broker's first answer: an
    AUTH 0x18 (the challenge), a CONNACK (a refusal), or None (closed)."""
    client.connect(client_id, method="ace", data=token_only(token) if token is not None else None)
    return client.read()


def is_challenge(packet):
    return packet is not None and packet.kind == AUTH and packet.reason == CONTINUE_AUTHENTICATION


def answer_ace_challenge(client, challenge, pop):
    """Answers an AUTH 0x18 challenge with the Ed25519 PoP key; returns the CONNACK (or None)."""
    client.auth(CONTINUE_AUTHENTICATION, challenge_answer(pop, challenge.properties[0x16]))
    return client.read()


def ace_challenge_response(env, token, pop, client_id, source=LEGITIMATE):
    """A whole legitimate MQTT 5 challenge/response connection from `source`. Returns (the
    broker's first answer, the CONNACK or None); the connection is closed afterwards."""
    client = ace_client_from(env, source)
    try:
        first = ask_ace_challenge(client, token, client_id)
        if not is_challenge(first):
            return first, first if first is not None and first.kind == CONNACK else None
        connack = answer_ace_challenge(client, first, pop)
        if connack is not None and connack.reason == 0:
            client.disconnect()
        return first, connack
    finally:
        client.close()


def abort(client):
    """Closes a client's socket at once: TCP RST (SO_LINGER 0), no DISCONNECT, no TLS
    close_notify, the way an attacker drops a connection."""
    transport = client.transport
    sock = getattr(transport, "socket", None) or getattr(transport, "plain", None)
    try:
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
    client.close()


# ---- tokens with a symmetric PoP key (cnf.jwe) ------------------------------------------------

def _b64decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cnf_jwe(jwk, recipient=None):
    """RFC 7800 3.3: a compact JWE of the JWK `jwk` (a dict), A256KW + A256GCM, to the broker's
    key (ace_profile_e2e.ENCRYPTION_KEY unless `recipient`), like acemq-as does."""
    recipient = recipient or profile.ENCRYPTION_KEY
    kek = _b64decode(recipient["k"])
    protected = b64url(json.dumps({"alg": "A256KW", "enc": "A256GCM"}).encode())
    cek = os.urandom(32)
    iv = os.urandom(12)
    sealed = AESGCM(cek).encrypt(iv, json.dumps(jwk).encode(), protected.encode())
    return ".".join([protected, b64url(aes_key_wrap(kek, cek)), b64url(iv),
                     b64url(sealed[:-16]), b64url(sealed[-16:])])


def symmetric_token(name, token_scope, key=None, kid=None, **overrides):
    """(token, 32-byte symmetric PoP key) minted by the test issuer for the client `name`
    (client_id and sub), the key in cnf.jwe with `kid` when given."""
    key = key or os.urandom(32)
    jwk = {"kty": "oct", "k": b64url(key)}
    if kid:
        jwk["kid"] = kid
    token, _ = ace.principal_token(name, token_scope, cnf={"jwe": cnf_jwe(jwk)}, **overrides)
    return token, key


def write_symmetric_credentials(env, file_name, token, key, token_scope, kid=None):
    """The `acemq token get --out` file for a token with a symmetric PoP key (for `acemq ...
    --pop psk`)."""
    jwk = {"kty": "oct", "k": b64url(key)}
    if kid:
        jwk["kid"] = kid
    return env.write(file_name, json.dumps({
        "token": b64url(token.encode()), "pop_key": jwk, "expires_at": int(time.time()) + 600,
        "scope": token_scope, "audience": profile.AUDIENCE, "as": env.as_url}))


# ---- TLS 1.3 external PSK ClientHellos --------------------------------------------------------

class PskHandshake:
    """The outcome of one `openssl s_client` run offering one external PSK."""

    def __init__(self, returncode, output):
        self.returncode = returncode
        self.output = output

    @property
    def psk_accepted(self):
        # s_client reports a handshake on an external PSK as a resumption.
        return self.returncode == 0 and "Reused, TLSv1.3" in self.output

    @property
    def failed(self):
        return self.returncode != 0 or "Reused, TLSv1.3" not in self.output and \
            "New, TLSv1.3" not in self.output

    def summary(self):
        lines = [line for line in self.output.splitlines()
                 if "alert" in line or "error" in line.lower() or "Reused" in line or "New," in line]
        return "exit %d: %s" % (self.returncode, " | ".join(lines[:6]))


def openssl_path():
    return shutil.which("openssl")


def psk_client_hello(env, identity, key, source=LEGITIMATE, timeout=ace.STEP_TIMEOUT):
    """Offers the TLS 1.3 external PSK (`identity`, `key`) to `env`'s broker with `openssl
    s_client`, from `source`, and closes at once (standard input is empty). With a key other than
    the one the identity stands for, the ClientHello carries the identity with a wrong binder."""
    command = [openssl_path(), "s_client", "-connect", "127.0.0.1:%d" % env.broker_port]
    if openssl_supports_bind():
        command += ["-bind", "%s:0" % source]
    command += ["-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256", "-psk_identity", identity,
                "-psk", key.hex(), "-CAfile", env.path("pki", "ca.pem"), "-servername", "localhost",
                "-no_ign_eof"]
    done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)
    return PskHandshake(done.returncode, done.stdout + done.stderr)


_BIND = []


def openssl_supports_bind():
    """Whether this `openssl s_client` has -bind (OpenSSL 3.2+, some 3.0 builds); without it the
    ClientHellos come from 127.0.0.1 (no test depends on their source address)."""
    if not _BIND:
        done = subprocess.run([openssl_path(), "s_client", "-help"], capture_output=True, text=True,
                              timeout=30)
        _BIND.append(" -bind " in done.stdout + done.stderr)
    return _BIND[0]


class SiblingBrokerTest(unittest.TestCase):
    """A test case that starts brokers of its own beside its module's environment: the clients
    and brokers it lists are closed after each test, and the module's environment (home())
    becomes the current one again."""

    def home(self):
        raise NotImplementedError

    def setUp(self):
        self.clients = []
        self.brokers = []

    def tearDown(self):
        for client in self.clients:
            client.close()
        for broker in self.brokers:
            broker.stop()
        self.home().use()


# ---- device-signed JWTs -----------------------------------------------------------------------

def register_device(registry, device_id, key, policy="nonce"):
    """`acemq-broker device REGISTRY add ID POLICY` and `add-key ID -` with `key`'s public key
    (PEM on standard input)."""
    broker = os.environ["ACEMQ_BROKER"]
    subprocess.run([broker, "device", registry, "add", device_id, policy], check=True,
                   capture_output=True, text=True, timeout=60)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    subprocess.run([broker, "device", registry, "add-key", device_id, "-"], input=pem.decode(),
                   check=True, capture_output=True, text=True, timeout=60)


def device_jwt(key, device_id, audience, nonce=None, lifetime=300):
    """A JWT signed by the device's Ed25519 key (EdDSA), with the broker's `nonce` when given."""
    now = int(time.time())
    claims = {"aud": audience, "iat": now, "exp": now + lifetime, "sub": device_id}
    if nonce is not None:
        claims["nonce"] = nonce
    return jwt.encode(claims, key, algorithm="EdDSA")


def ask_device_challenge(client, device_id):
    """CONNECT with Authentication Method acemq-device-jwt and no data; returns the broker's
    first answer (AUTH 0x18 with the nonce, a CONNACK, or None)."""
    client.connect(device_id, method=DEVICE_JWT_METHOD)
    return client.read()


def answer_device_challenge(client, challenge, key, device_id, audience):
    """AUTH 0x18 with a JWT carrying the challenge's nonce; returns the CONNACK (or None)."""
    nonce = challenge.properties[0x16].decode()
    client.auth(CONTINUE_AUTHENTICATION, device_jwt(key, device_id, audience, nonce).encode(),
                method=DEVICE_JWT_METHOD)
    return client.read()


def device_challenge_response(env, device_id, key, audience, source=LEGITIMATE):
    """A whole legitimate device connection (MQTT 5 challenge) from `source`: (first answer,
    CONNACK or None); closed afterwards."""
    client = ace_client_from(env, source)
    try:
        first = ask_device_challenge(client, device_id)
        if not is_challenge(first):
            return first, first if first is not None and first.kind == CONNACK else None
        connack = answer_device_challenge(client, first, key, device_id, audience)
        if connack is not None and connack.reason == 0:
            client.disconnect()
        return first, connack
    finally:
        client.close()
