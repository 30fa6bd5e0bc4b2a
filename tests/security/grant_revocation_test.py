#!/usr/bin/env python3
"""Security: a grant that ends, is revoked or is narrowed ends the MQTT sessions it allowed, and a
revoked token never becomes valid again, even when the broker's revocation list overflows.

Real acemq-as and acemq-broker (ace_security_harness.SecurityEnvironment), the broker polling the
AS revocation list (/trl) at its DEFAULT interval (ace.revocation_poll_interval_ms 500). An owner
(demo-owner, subtree demo/#) grants a client of its own through the owner API; the client gets a
token from the AS (`acemq token get`) and connects over MQTT 5 (ACE challenge, RFC 9431 2.2.4.2.2).

  a  the owner revokes the grant (DELETE /owner/grants/{id}) -> the broker sends DISCONNECT 0x87;
     the milliseconds from the owner's HTTP response to the DISCONNECT are printed (the
     revocation latency at default settings; ACEMQ_REVOCATION_ROUNDS=N takes N samples);
  b  the owner narrows the grant (PATCH, pub+sub -> sub) -> the token carrying pub is revoked,
     DISCONNECT 0x87;
  c  the owner moves the grant's end before the token's exp (PATCH not_after) -> the token is
     revoked, DISCONNECT 0x87 (a token must never outlive the grant that allowed it);
  d  a token issued a few seconds before its grant ends has exp <= the grant's end, and the
     session using it ends (DISCONNECT 0x87) when the grant does;
  e  a broker whose revocation list holds only 2 entries (ace.max_revoked_entries=2) sees three
     tokens revoked: none of them connects afterwards (a dropped entry is replaced by a floor on
     iat), while a token issued after the floor still connects.

Every wait is on an event (a packet, the end of a stream, the clock passing a given second).
"""

import base64
import json
import os
import ssl
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from cryptography.hazmat.primitives.serialization import load_pem_private_key

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ace_security_harness import (CONNACK, DISCONNECT, NOT_AUTHORIZED, STEP_TIMEOUT,  # noqa: E402
                                  SUCCESS, MqttClient, SecurityEnvironment, SiblingBroker, flows,
                                  scope, started)

# The broker's default poll interval (docs/configuration.md): the latency figure is measured there.
DEFAULT_POLL = {"ace.revocation_poll_interval_ms": "500"}
OWNER, OWNER_SECRET = "demo-owner", "owner-secret"  # created by the e2e environment
CLIENT_SECRET = "grantee-secret"

ENV = None


def setUpModule():
    global ENV
    ENV = started(SecurityEnvironment(DEFAULT_POLL))
    ENV.key_file = ENV.path("grantee-ed25519.pem")
    subprocess.run([os.environ["ACEMQ_CLIENT"], "token", "keygen", "--type", "ed25519", "--out",
                    ENV.key_file], check=True, capture_output=True, timeout=STEP_TIMEOUT)
    with open(ENV.key_file, "rb") as handle:
        ENV.pop = load_pem_private_key(handle.read(), password=None)


def tearDownModule():
    ENV.stop()


def as_request(method, path, user, secret, body=None):
    """(status, JSON body) of one HTTPS request to the AS with Basic credentials."""
    context = ssl.create_default_context(cafile=ENV.as_certificate)
    context.check_hostname = False
    request = urllib.request.Request(
        ENV.as_url + path, data=json.dumps(body).encode() if body is not None else None, method=method,
        headers={"Content-Type": "application/json", "Authorization": "Basic " + base64.b64encode(
            ("%s:%s" % (user, secret)).encode()).decode()})
    try:
        with urllib.request.urlopen(request, context=context, timeout=STEP_TIMEOUT) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def owner(method, path, body=None):
    return as_request(method, path, OWNER, OWNER_SECRET, body)


def claims_of(token):
    payload = token.split(b".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))


class Grantee:
    """A client of its own (registered at the AS for this case), granted `filter` by the owner."""

    count = 0

    def __init__(self, case, filter, permissions=("pub", "sub"), lifetime=3600):
        Grantee.count += 1
        self.case = case
        self.client_id = "grantee-%d-%d" % (os.getpid(), Grantee.count)
        self.filter = filter
        ENV.as_admin("client", "create", self.client_id, "--secret", CLIENT_SECRET)
        status, body = owner("POST", "/owner/grants", {
            "client_id": self.client_id, "audience": flows.AUDIENCE, "filter": filter,
            "permissions": list(permissions), "lifetime": lifetime})
        case.assertEqual(status, 201, body)
        self.grant_id = body["grant_id"]

    def grant(self):
        status, body = owner("GET", "/owner/grants")
        self.case.assertEqual(status, 200, body)
        return next(g for g in body["grants"] if g["grant_id"] == self.grant_id)

    def token(self, permissions=("pub", "sub")):
        """A token from the AS for the whole granted filter: (token bytes, claims)."""
        out = ENV.path(self.client_id + "-%d.json" % time.monotonic_ns())
        result = subprocess.run(
            [os.environ["ACEMQ_CLIENT"], "token", "get", "--as", ENV.as_url, "--as-cafile",
             ENV.as_certificate, "--client-id", self.client_id, "--client-secret", CLIENT_SECRET,
             "--audience", flows.AUDIENCE, "--scope", scope((self.filter, *permissions)), "--key",
             ENV.key_file, "--out", out], capture_output=True, text=True, timeout=STEP_TIMEOUT)
        self.case.assertEqual(result.returncode, 0, result.stdout + result.stderr + ENV.logs())
        with open(out) as handle:
            token = base64.urlsafe_b64decode(json.load(handle)["token"] + "==")
        return token, claims_of(token)

    def connect(self, token, broker=None):
        client = MqttClient(broker or ENV)
        self.case.addCleanup(client.close)
        connack = client.ace_connect(token, ENV.pop, self.client_id)
        return client, connack

    def session(self, token, broker=None):
        client, connack = self.connect(token, broker)
        self.case.assertIsNotNone(connack, "closed without CONNACK\n" + (broker or ENV).logs())
        self.case.assertEqual(connack.reason, SUCCESS, (broker or ENV).logs())
        return client


def await_disconnect(case, client, what, broker=None):
    """Waits for the broker's DISCONNECT 0x87 on `client`; returns the monotonic time it came."""
    try:
        packet = client.read(STEP_TIMEOUT)
    except TimeoutError:
        case.fail("%s: the session stayed up for %d s\n%s" % (what, STEP_TIMEOUT, (broker or ENV).logs()))
    arrived = time.monotonic()
    case.assertIsNotNone(packet, "%s: closed without DISCONNECT" % what)
    case.assertEqual(packet.kind, DISCONNECT, "%s: got %r" % (what, packet))
    case.assertEqual(packet.reason, NOT_AUTHORIZED, what)
    return arrived


def report(what, milliseconds):
    print("revocation latency (%s, poll interval %s ms): %.0f ms"
          % (what, DEFAULT_POLL["ace.revocation_poll_interval_ms"], milliseconds),
          file=sys.stderr, flush=True)


class GrantRevocation(unittest.TestCase):
    def test_a_revoking_the_grant_ends_the_session(self):
        # ACEMQ_REVOCATION_ROUNDS=20 measures the latency on more samples (printed per round).
        for round_number in range(int(os.environ.get("ACEMQ_REVOCATION_ROUNDS", "3"))):
            grantee = Grantee(self, "demo/revoked-%d/#" % round_number)
            token, _ = grantee.token()
            client = grantee.session(token)
            status, body = owner("DELETE", "/owner/grants/%d" % grantee.grant_id)
            answered = time.monotonic()
            self.assertEqual(status, 200, body)
            self.assertEqual(body["tokens_revoked"], 1, body)
            ended = await_disconnect(self, client, "grant revoked")
            report("grant revoked", (ended - answered) * 1000)
            # The revoked token does not connect again.
            _, connack = grantee.connect(token)
            self.assertEqual(connack.kind, CONNACK)
            self.assertEqual(connack.reason, NOT_AUTHORIZED)

    def test_b_narrowing_the_grant_ends_sessions_with_the_wider_scope(self):
        grantee = Grantee(self, "demo/narrowed/#")
        token, _ = grantee.token()
        client = grantee.session(token)
        status, body = owner("PATCH", "/owner/grants/%d" % grantee.grant_id,
                             {"permissions": ["sub"], "not_after": grantee.grant()["not_after"]})
        answered = time.monotonic()
        self.assertEqual(status, 200, body)
        self.assertEqual(body["tokens_revoked"], 1, body)
        report("grant narrowed", (await_disconnect(self, client, "grant narrowed") - answered) * 1000)
        # A token of what is left (sub) is issued and connects.
        narrow, claims = grantee.token(("sub",))
        grantee.session(narrow)

    def test_c_moving_the_grant_end_before_the_token_exp_revokes_it(self):
        grantee = Grantee(self, "demo/shortened/#")
        token, claims = grantee.token()
        client = grantee.session(token)
        new_end = int(time.time()) + 600
        self.assertGreater(claims["exp"], new_end, "the token must outlive the new end")
        status, body = owner("PATCH", "/owner/grants/%d" % grantee.grant_id,
                             {"permissions": ["pub", "sub"], "not_after": new_end})
        answered = time.monotonic()
        self.assertEqual(status, 200, body)
        self.assertEqual(body["tokens_revoked"], 1,
                         "a token with exp %d outlives its grant's new end %d: %r"
                         % (claims["exp"], new_end, body))
        report("grant shortened", (await_disconnect(self, client, "grant shortened") - answered) * 1000)
        # A new token ends with the grant.
        _, renewed = grantee.token()
        self.assertLessEqual(renewed["exp"], new_end)

    def test_d_token_issued_just_before_the_grant_ends_ends_with_it(self):
        grantee = Grantee(self, "demo/ending/#", lifetime=8)
        not_after = grantee.grant()["not_after"]
        token, claims = grantee.token()
        self.assertLessEqual(claims["exp"], not_after,
                             "token exp %d passes the end of its grant %d (iat %d)"
                             % (claims["exp"], not_after, claims["iat"]))
        client = grantee.session(token)
        await_disconnect(self, client, "grant ended")
        self.assertGreaterEqual(time.time(), not_after - 1)


class RevocationListOverflow(unittest.TestCase):
    def test_e_a_revoked_token_never_becomes_valid_again(self):
        small = SiblingBroker(ENV, dict(DEFAULT_POLL, **{"ace.max_revoked_entries": "2"}))
        self.addCleanup(small.stop)
        small.start()
        grantee = Grantee(self, "demo/overflow/#")
        tokens = [grantee.token()[0] for _ in range(3)]
        # The last one holds a session: its DISCONNECT says the broker has applied all three.
        last = grantee.session(tokens[-1], small)
        for token in tokens:
            self.assertEqual(self.revoke(grantee, token), 200)
        await_disconnect(self, last, "third revoked token", small)
        for number, token in enumerate(tokens):
            _, connack = grantee.connect(token, small)
            self.assertIsNotNone(connack, "closed without CONNACK")
            self.assertEqual(connack.reason, NOT_AUTHORIZED,
                             "revoked token %d of 3 connects again after the revocation list of 2 "
                             "overflowed\n%s" % (number + 1, small.logs()))
        # A token issued after every revoked one (the clock past their iat) still connects.
        newest_iat = max(claims_of(token)["iat"] for token in tokens)
        while int(time.time()) <= newest_iat:
            time.sleep(0.05)
        fresh, claims = grantee.token()
        self.assertGreater(claims["iat"], newest_iat)
        grantee.session(fresh, small)

    def revoke(self, grantee, token):
        """RFC 7009 /revoke by the client itself."""
        context = ssl.create_default_context(cafile=ENV.as_certificate)
        context.check_hostname = False
        request = urllib.request.Request(
            ENV.as_url + "/revoke", data=urllib.parse.urlencode({"token": token.decode()}).encode(),
            method="POST", headers={"Content-Type": "application/x-www-form-urlencoded",
                                    "Authorization": "Basic " + base64.b64encode(
                                        ("%s:%s" % (grantee.client_id, CLIENT_SECRET)).encode()).decode()})
        with urllib.request.urlopen(request, context=context, timeout=STEP_TIMEOUT) as response:
            return response.status


if __name__ == "__main__":
    unittest.main(verbosity=2)
