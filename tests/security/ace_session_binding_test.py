#!/usr/bin/env python3
"""Security: an MQTT session and its client identifier belong to the principal that created it.

For an ACE client (RFC 9431) the principal is the token's issuer and its client as issued by the
AS (the "client_id" claim, else "sub"): not the PoP key, not the particular token. alice (tokens
for the client "alice", scope alice/#) holds a persistent session (Clean Start 0, Session Expiry
300, subscribed at QoS 1, one QoS 1 message in flight, never acknowledged, on a raw socket).
Nobody else may take that session or its client identifier over, whatever their own token allows:

  a  mallory, with a valid token of her own (scope alice/# even), Clean Start 0 -> CONNACK 0x87,
     closed; alice stays connected (no DISCONNECT 0x8E) and mallory gets nothing of hers;
  b  the same with Clean Start 1 -> refused; alice's session and Will are untouched;
  c  a TLS client with no credentials (public_topics_only, RFC 9431 2.2.1: admitted for
     authz-info only), Clean Start 0 and 1 -> CONNACK 0x87;
  d  mallory in MQTT 3.1.1 (RFC 9431 6.1) -> return code 5;
  e  alice herself with a new token (new PoP key) resumes (Session Present 1) and gets her
     in-flight message; with a narrower token she resumes without what it does not allow;
  f  the token the broker holds for alice's client identifier (RFC 9431 2.2.4.2.2, a CONNECT
     without a token) cannot be re-pointed at mallory's: not by an authz-info upload under alice's
     client identifier, not by a refused CONNECT;
  g  a token whose cnf names its PoP key by kid (RFC 9431 2.2.5) stays bound to the key of its
     own principal: mallory uploading a token of hers whose key carries the same kid does not
     make alice's token usable with mallory's key.

Every wait is on an event (a packet, the end of a stream); see ace_security_harness.py.
"""

import os
import sys
import unittest

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ace_security_harness as harness  # noqa: E402
from ace_security_harness import started  # noqa: E402
from ace_security_harness import (NOT_AUTHORIZED, PUBLISH, SUBACK, SUCCESS,  # noqa: E402
                                  V311_NOT_AUTHORIZED, MqttClient, SecurityEnvironment, ace_client,
                                  b64url, principal_token, public_jwk, scope)

ALICE_SCOPE = scope(("alice/#", "pub", "sub"))
EXPIRY = 300

ENV = None


def setUpModule():
    global ENV
    ENV = started(SecurityEnvironment())


def tearDownModule():
    ENV.stop()


class Alice:
    """alice's persistent session: the connection, her client identifier and the message she
    holds in flight."""

    def __init__(self, client, client_id, tag, token, pop, inflight_topic, inflight_payload):
        self.client, self.client_id, self.tag = client, client_id, tag
        self.token, self.pop = token, pop
        self.inflight_topic, self.inflight_payload = inflight_topic, inflight_payload


class SessionBinding(unittest.TestCase):
    def setUp(self):
        self.clients = []
        self.packet_id = 0
        self.publisher = self.track(ace_client(ENV, "publisher", scope(("alice/#", "pub"))))

    def tearDown(self):
        for client in self.clients:
            client.close()

    def track(self, client):
        self.clients.append(client)
        return client

    def new_client(self, **kwargs):
        return self.track(MqttClient(ENV, **kwargs))

    def publish(self, topic, payload):
        """The publisher's QoS 1 PUBLISH, routed once its PUBACK is back."""
        self.packet_id += 1
        puback = self.publisher.publish_qos1(topic, payload, self.packet_id)
        # 0x10 No matching subscribers is a success too (an attack may have removed alice's).
        self.assertLess(puback.reason, 0x80, "publisher refused on %s\n%s" % (topic, ENV.logs()))

    def alice_session(self, tag, will=None, inflight_topic=None):
        """alice connects (Clean Start 0, Session Expiry 300, optional Will), subscribes to
        alice/<tag>/# at QoS 1 and receives one QoS 1 message she never acknowledges."""
        token, pop = principal_token("alice", ALICE_SCOPE)
        client = self.new_client()
        client_id = "alice-" + tag
        connack = client.ace_connect(token, pop, client_id, clean_start=False, expiry=EXPIRY, will=will)
        self.assertIsNotNone(connack, ENV.logs())
        self.assertEqual(connack.reason, SUCCESS, ENV.logs())
        self.assertFalse(connack.session_present)
        self.assertEqual(client.subscribe("alice/%s/#" % tag, 1), [1])
        topic = inflight_topic or "alice/%s/inflight" % tag
        payload = "alice's in-flight message (%s)" % tag
        self.publish(topic, payload)
        message = client.expect(PUBLISH)  # never acknowledged: it stays in flight
        self.assertEqual((message.topic, message.payload, message.qos), (topic, payload.encode(), 1))
        return Alice(client, client_id, tag, token, pop, topic, payload)

    def anonymous_upload(self, token, client_id, clean_start=True, expiry=None):
        """RFC 9431 2.2.1/2.2.2: a TLS client without credentials publishes `token` to authz-info
        (QoS 1). Returns (CONNACK, PUBACK or None, PUBLISH packets it received)."""
        client = self.new_client()
        client.connect(client_id, clean_start, expiry)
        connack = client.read()
        if connack is None or connack.reason != SUCCESS:
            if connack is not None:
                client.read_until_end()
            return connack, None, []
        puback = client.publish_qos1("authz-info", token, 1)
        client.disconnect()
        return connack, puback, client.publishes()

    def expect_refused(self, client, connack, expected, what, problems):
        """`connack` must be the refusal `expected`, then the stream must end with nothing else."""
        if connack is None:
            problems.append("%s: the connection ended without a CONNACK (expected 0x%02X)"
                            % (what, expected))
        elif connack.reason != expected:
            problems.append("%s was ACCEPTED: CONNACK 0x%02X, Session Present %d; it then received %r"
                            % (what, connack.reason, connack.session_present, client.evidence()))
        else:
            after = client.read_until_end()
            if after:
                problems.append("%s: refused with 0x%02X, but then received %r" % (what, expected, after))

    def expect_alice_undisturbed(self, alice, problems, watchers=()):
        """A message published now on alice/<tag>/later reaches alice on her connection (and
        every watcher, as its next message)."""
        topic = "alice/%s/later" % alice.tag
        payload = "a later message (%s)" % alice.tag
        self.publish(topic, payload)
        packet = alice.client.read()
        if packet is None or packet.kind != PUBLISH or packet.topic != topic:
            rest = alice.client.evidence() if packet is not None else []
            problems.append("alice was disturbed: instead of the later message on %s her connection "
                            "got %r" % (topic, [packet if packet is not None else "<end of stream>"] + rest))
        for name, watcher in watchers:
            packet = watcher.read()
            if packet is None or packet.kind != PUBLISH or packet.topic != topic:
                problems.append("%s expected the later message on %s next, got %r" % (name, topic, packet))

    def report(self, problems, *details):
        if problems:
            self.fail("\n".join(problems + list(details)))

    def expect_control(self, token, pop, client_id):
        """The attacker's token works on a client identifier of her own: a refusal below is about
        whose session it is, not about the token."""
        client = self.new_client()
        connack = client.ace_connect(token, pop, client_id)
        self.assertIsNotNone(connack, ENV.logs())
        self.assertEqual(connack.reason, SUCCESS, "control: %s\n%s" % (client_id, ENV.logs()))
        client.disconnect()

    # --- a, b: another ACE principal -----------------------------------------------------------

    def test_a_another_principal_cannot_resume_alices_session(self):
        alice = self.alice_session("a")
        token, pop = principal_token("mallory", ALICE_SCOPE)
        self.expect_control(token, pop, "mallory-a-own")
        mallory = self.new_client()
        connack = mallory.ace_connect(token, pop, alice.client_id, clean_start=False, expiry=EXPIRY)
        problems = []
        self.expect_refused(mallory, connack, NOT_AUTHORIZED,
                            "mallory (her own valid token, scope alice/#) with alice's client identifier "
                            "and Clean Start 0", problems)
        self.expect_alice_undisturbed(alice, problems)
        self.report(problems)

    def test_b_another_principal_cannot_start_over_alices_session(self):
        watcher = self.track(ace_client(ENV, "watcher", scope(("alice/#", "sub"))))
        will_topic = "alice/b/will"
        self.assertEqual(watcher.subscribe(will_topic, 1, 1), [1])
        self.assertEqual(watcher.subscribe("alice/b/later", 1, 2), [1])
        alice = self.alice_session("b", will={"topic": will_topic, "payload": b"alice's will", "qos": 1})
        token, pop = principal_token("mallory", ALICE_SCOPE)
        mallory = self.new_client()
        connack = mallory.ace_connect(token, pop, alice.client_id, clean_start=True, expiry=0)
        problems = []
        self.expect_refused(mallory, connack, NOT_AUTHORIZED,
                            "mallory (her own valid token, scope alice/#) with alice's client identifier "
                            "and Clean Start 1", problems)
        # alice's Will would have been routed to the watcher before this later message.
        self.expect_alice_undisturbed(alice, problems, [("the Will watcher (alice's Will must not be "
                                                          "published)", watcher)])
        self.report(problems)

    # --- c: no credentials at all --------------------------------------------------------------

    def test_c_client_without_credentials_cannot_take_alices_session(self):
        # Control: RFC 9431 2.2.1 admits a TLS client without credentials on an identifier of
        # its own (for authz-info).
        control = self.new_client()
        control.connect("anonymous-c-own", True)
        connack = control.read()
        self.assertEqual(connack.reason if connack else None, SUCCESS, ENV.logs())
        control.disconnect()
        for clean_start in (False, True):
            with self.subTest(clean_start=clean_start):
                alice = self.alice_session("c%d" % clean_start)
                anonymous = self.new_client()
                anonymous.connect(alice.client_id, clean_start, 0 if clean_start else EXPIRY)
                problems = []
                self.expect_refused(anonymous, anonymous.read(), NOT_AUTHORIZED,
                                    "a TLS client WITHOUT ANY CREDENTIALS with alice's client identifier "
                                    "and Clean Start %d" % clean_start, problems)
                self.expect_alice_undisturbed(alice, problems)
                self.report(problems)

    # --- d: MQTT 3.1.1 -------------------------------------------------------------------------

    def test_d_mqtt311_another_principal_cannot_take_alices_session(self):
        alice = self.alice_session("d")
        token, pop = principal_token("mallory", ALICE_SCOPE)
        problems = []
        control = self.new_client(version=4, transport="exporter")
        connack = control.ace_connect_v311(token, pop, "mallory-d-own")
        self.assertEqual(connack.reason if connack else None, SUCCESS, "control\n" + ENV.logs())
        control.disconnect()
        mallory = self.new_client(version=4, transport="exporter")
        connack = mallory.ace_connect_v311(token, pop, alice.client_id, clean_session=False)
        self.expect_refused(mallory, connack, V311_NOT_AUTHORIZED,
                            "mallory in MQTT 3.1.1 (user name ace+token, PoP over the exporter) with "
                            "alice's client identifier and Clean Session 0", problems)
        self.expect_alice_undisturbed(alice, problems)
        self.report(problems)

    # --- e: alice herself ----------------------------------------------------------------------

    def test_e1_alice_with_a_new_token_resumes_her_session(self):
        # The principal is the issuer and the client, not the PoP key: a new token (new key) for
        # the client "alice" continues her session (RFC 9431 2.2.4.1).
        alice = self.alice_session("e1")
        alice.client.disconnect()
        token, pop = principal_token("alice", ALICE_SCOPE)
        again = self.new_client()
        connack = again.ace_connect(token, pop, alice.client_id, clean_start=False, expiry=EXPIRY)
        self.assertIsNotNone(connack, ENV.logs())
        self.assertEqual(connack.reason, SUCCESS, ENV.logs())
        self.assertTrue(connack.session_present, "alice's new token did not resume her session")
        message = again.expect(PUBLISH)
        self.assertEqual((message.topic, message.payload), (alice.inflight_topic, alice.inflight_payload.encode()))
        again.puback(message.packet_id)

    def test_e2_alice_with_a_narrower_token_resumes_without_what_it_disallows(self):
        # RFC 9431 2.2.4.1: on session continuation the broker verifies that the client may
        # receive the pending messages; those the new token does not allow are dropped.
        tag = "e2"
        alice = self.alice_session(tag, inflight_topic="alice/%s/secret/x" % tag)
        alice.client.disconnect()
        self.publish("alice/%s/secret/z" % tag, "queued, outside the new scope")
        self.publish("alice/%s/public/y" % tag, "queued, inside the new scope")
        narrow = "alice/%s/public/#" % tag
        token, pop = principal_token("alice", scope((narrow, "pub", "sub")))
        again = self.new_client()
        connack = again.ace_connect(token, pop, alice.client_id, clean_start=False, expiry=EXPIRY)
        self.assertIsNotNone(connack, ENV.logs())
        self.assertEqual(connack.reason, SUCCESS, ENV.logs())
        self.assertTrue(connack.session_present, "alice's narrower token did not resume her session")
        # Subscribe within the new scope (whether or not the old subscription survives), then a
        # marker: everything that was pending arrives before it.
        marker = "alice/%s/public/end" % tag
        again.send(0x82, b"\x00\x07" + harness.varint(0) + harness.utf8(narrow) + b"\x01")
        packets, ended = [], False
        while True:
            packet = again.read()
            if packet is None:
                ended = True
                break
            packets.append(packet)
            if packet.kind == SUBACK:
                self.publish(marker, "the end")
            if packet.kind == PUBLISH and packet.topic == marker:
                break
        topics = [p.topic for p in packets if p.kind == PUBLISH]
        problems = []
        leaked = [t for t in topics if not t.startswith("alice/%s/public/" % tag)]
        if leaked:
            problems.append("alice's narrower token (scope %s) still received %s (the message in flight "
                            "is resent, DUP)" % (narrow, leaked))
        if "alice/%s/public/y" % tag not in topics:
            problems.append("the queued message on alice/%s/public/y, which the new scope allows, did "
                            "not arrive" % tag)
        if ended:
            problems.append("the broker ended the resumed connection instead of dropping what the new "
                            "scope refuses")
        self.report(problems, "packets: %r" % packets)

    # --- f: the token held for alice's client identifier ---------------------------------------

    def test_f1_uploaded_token_does_not_open_alices_session(self):
        # mallory publishes her own token to authz-info from a connection with alice's client
        # identifier (RFC 9431 2.2.2: the broker indexes it by the uploader's identifier), then
        # connects with that identifier and no token: the broker challenges the token it holds
        # for the identifier, which is now hers.
        alice = self.alice_session("f1")
        alice.client.disconnect()
        token, pop = principal_token("mallory", scope(("mallory/#", "pub", "sub")))
        problems = []
        connack, puback, leaked = self.anonymous_upload(token, alice.client_id, False, EXPIRY)
        if connack is not None and connack.reason == SUCCESS:
            problems.append("step 1: mallory's credential-less upload connection with alice's client "
                            "identifier was accepted (Session Present %d, received %r), upload PUBACK %r"
                            % (connack.session_present, leaked, puback))
        mallory = self.new_client()
        connack = mallory.ace_connect(None, pop, alice.client_id, clean_start=False, expiry=EXPIRY)
        self.expect_refused(mallory, connack, NOT_AUTHORIZED,
                            "step 2: mallory with alice's client identifier and NO token in CONNECT "
                            "(answering the challenge with her own key)", problems)
        # alice can still come back with the token the broker holds for her.
        again = self.new_client()
        connack = again.ace_connect(None, alice.pop, alice.client_id, clean_start=False, expiry=EXPIRY)
        if connack is None or connack.reason != SUCCESS or not connack.session_present:
            problems.append("step 3: alice's CONNECT without a token (held token) then got %r"
                            % connack)
        self.report(problems)

    def test_f2_upload_under_alices_identifier_does_not_repoint_her_held_token(self):
        # alice has no session, only a token held for her client identifier (uploaded to
        # authz-info, RFC 9431 2.2.2). mallory uploads hers under the same identifier.
        client_id = "alice-f2"
        token, pop = principal_token("alice", ALICE_SCOPE)
        connack, puback, _ = self.anonymous_upload(token, client_id)
        self.assertEqual(puback.reason if puback else None, SUCCESS, ENV.logs())
        # Control: the held token opens alice's CONNECT without a token.
        control = self.new_client()
        connack = control.ace_connect(None, pop, client_id)
        self.assertEqual(connack.reason if connack else None, SUCCESS, "control\n" + ENV.logs())
        control.disconnect()
        mallory_token, _ = principal_token("mallory", scope(("mallory/#", "pub", "sub")))
        _, mallory_puback, _ = self.anonymous_upload(mallory_token, client_id)
        again = self.new_client()
        connack = again.ace_connect(None, pop, client_id)
        self.assertTrue(connack is not None and connack.reason == SUCCESS,
                        "alice's CONNECT without a token was refused (%r) after mallory uploaded her own "
                        "token from a connection with alice's client identifier (upload PUBACK %r): the "
                        "token held for alice was re-pointed at mallory's" % (connack, mallory_puback))

    def test_f3_refused_connect_does_not_repoint_alices_held_token(self):
        # mallory's CONNECT with her own token and alice's identifier must be refused (a), and it
        # must not leave her token as the one held for alice's identifier either.
        alice = self.alice_session("f3")
        alice.client.disconnect()
        token, pop = principal_token("mallory", ALICE_SCOPE)
        mallory = self.new_client()
        connack = mallory.ace_connect(token, pop, alice.client_id, clean_start=False, expiry=EXPIRY)
        problems = []
        self.expect_refused(mallory, connack, NOT_AUTHORIZED,
                            "mallory (her own token) with alice's client identifier, alice offline", problems)
        if connack is not None and connack.reason == SUCCESS:
            mallory.disconnect()
        again = self.new_client()
        connack = again.ace_connect(None, alice.pop, alice.client_id, clean_start=False, expiry=EXPIRY)
        if connack is None or connack.reason != SUCCESS or not connack.session_present:
            problems.append("alice's CONNECT without a token (the token held for her identifier) then got "
                            "%r: the held token was re-pointed at mallory's" % connack)
        else:
            message = again.expect(PUBLISH)
            if message.topic != alice.inflight_topic:
                problems.append("alice resumed but got %r instead of her in-flight message" % message)
        self.report(problems)

    # --- g: a PoP key named by kid -------------------------------------------------------------

    def test_g_kid_reference_stays_bound_to_alices_key(self):
        # RFC 9431 2.2.5: a token's cnf may name its key by kid, the key held from an earlier
        # token. The AS copies the kid of the key a client sends in req_cnf, so mallory can get a
        # token whose key (hers) carries alice's kid.
        kid = "alice-key-" + b64url(os.urandom(6))
        alice_key, mallory_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
        first, _ = principal_token("alice", ALICE_SCOPE, cnf={"jwk": public_jwk(alice_key, kid)})
        _, puback, _ = self.anonymous_upload(first, "alice-g-upload")
        self.assertEqual(puback.reason if puback else None, SUCCESS, ENV.logs())
        # Control: a token naming the key by kid works with alice's key.
        reference, _ = principal_token("alice", ALICE_SCOPE, cnf={"kid": kid})
        control = self.new_client()
        connack = control.ace_connect(reference, alice_key, "alice-g-control")
        self.assertEqual(connack.reason if connack else None, SUCCESS, "control\n" + ENV.logs())
        control.disconnect()
        # mallory registers her key under alice's kid, then uses another of alice's kid tokens
        # (one the broker has not validated yet) with her own key.
        mine, _ = principal_token("mallory", scope(("mallory/#", "pub", "sub")),
                                  cnf={"jwk": public_jwk(mallory_key, kid)})
        _, mallory_puback, _ = self.anonymous_upload(mine, "mallory-g-upload")
        stolen, _ = principal_token("alice", ALICE_SCOPE, cnf={"kid": kid})
        mallory = self.new_client()
        connack = mallory.ace_connect(stolen, mallory_key, "mallory-g")
        problems = []
        if connack is not None and connack.reason == SUCCESS:
            reasons = mallory.subscribe("alice/#", 1)
            problems.append("mallory connected with ALICE's token (cnf by kid) proving possession with HER "
                            "OWN key, after uploading a token of hers whose key carries alice's kid (upload "
                            "PUBACK %r); SUBSCRIBE alice/# as alice -> %r" % (mallory_puback, reasons))
        elif connack is not None and connack.reason != NOT_AUTHORIZED:
            problems.append("refused with 0x%02X instead of 0x87" % connack.reason)
        self.report(problems)


if __name__ == "__main__":
    unittest.main(verbosity=2)
