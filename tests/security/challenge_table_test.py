#!/usr/bin/env python3
"""Security: challenges must not outlive their connection, nor be handed out to anyone.

An MQTT 5 challenge (AUTH 0x18) is a table entry in the broker: the ACE provider's (RFC 9431
2.2.4.2.2: an 8-byte rs_nonce per CONNECT carrying a token) and the device-JWT provider's
(Authentication Method acemq-device-jwt, docs/authentication.md: a nonce per CONNECT naming a
registered device). Each table is bounded (`ace.max_pending_challenges`,
`auth.device_jwt.max_pending_challenges`); at the bound a CONNECT needing a challenge gets CONNACK
0x89 Server busy. Whoever can fill the table locks every challenge/response client out. Required:

  a  a challenge belongs to its connection: a client that gets its challenge and drops the
     connection frees the entry at once. Attack: 3x the bound connections one after another,
     each with a valid token, each dropped (TCP RST) right after its AUTH 0x18; then a legitimate
     client (another address) does challenge/response and must get CONNACK 0x00, not 0x89;
  b  an ACE challenge is issued only for a token that passed the cheap checks and the signature
     check: a CONNECT whose Authentication Data holds a forged or garbage token gets CONNACK 0x87
     (0x99 accepted), never AUTH 0x18; and connections kept open with such tokens do not keep a
     legitimate client out;
  c  no single source address can reach the bound: from 127.0.0.1, bound+4 connections are kept
     OPEN, each asking for a challenge (c1: with a valid token of the attacker's own; c2: with no
     token at all, naming the client identifier of a token the broker holds from an authz-info
     upload, so the broker challenges the held token); then a legitimate client from 127.0.0.2
     still completes challenge/response;
  d  the same for device JWTs: challenges of dropped connections are freed (d1) and one address
     cannot exhaust the table (d2); the attacker names a registered device it has no key for, and
     a legitimate device from another address (and the named device itself) still connects.

Each test runs its own broker (ace_security_harness.SiblingBroker: the same AS and test issuer),
with the bound at BOUND and a challenge timeout far longer than the test, so that only the
release of a closed connection's entry (or a per-address cap) can make room. Every wait is on an
event (a packet, the end of a stream); see abuse_harness.py.
"""

import os
import sys
import unittest

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import abuse_harness as abuse  # noqa: E402
from abuse_harness import (CONNACK, NOT_AUTHORIZED, PAYLOAD_FORMAT_INVALID,  # noqa: E402
                           SERVER_BUSY, describe, is_challenge)
from ace_security_harness import started  # noqa: E402
from ace_security_harness import (SUCCESS, SecurityEnvironment, SiblingBroker,  # noqa: E402
                                  b64url, principal_token, scope)
import ace_flows_e2e as flows  # noqa: E402

BOUND = 8
EXTRA = 4  # connections beyond the bound that one address tries to hold
CHALLENGE_TIMEOUT = "300"  # seconds: nothing expires while a test runs
ATTACKER = "127.0.0.1"  # the flooding address
LEGITIMATE_SOURCE = "127.0.0.2"  # the legitimate clients' address in these tests
DEVICE_AUDIENCE = "acemq-devices"
SCOPE = scope(("table/#", "pub", "sub"))

ENV = None


def setUpModule():
    global ENV
    ENV = started(SecurityEnvironment())


def tearDownModule():
    ENV.stop()


class ChallengeTable(abuse.SiblingBrokerTest):
    def home(self):
        return ENV

    # --- brokers and clients -------------------------------------------------------------------

    def broker(self, settings):
        broker = SiblingBroker(ENV, settings)
        self.brokers.append(broker)
        broker.start()
        return broker

    def ace_broker(self):
        return self.broker({"ace.max_pending_challenges": str(BOUND),
                            "ace.challenge_timeout": CHALLENGE_TIMEOUT})

    def device_broker(self):
        registry = ENV.path("devices-%s.db" % b64url(os.urandom(6)))
        self.victim_key, self.legit_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
        abuse.register_device(registry, "dev-victim", self.victim_key)
        abuse.register_device(registry, "dev-legit", self.legit_key)
        return self.broker({"auth.device_registry": registry,
                            "auth.device_jwt.audience": DEVICE_AUDIENCE,
                            "auth.device_jwt.max_pending_challenges": str(BOUND),
                            "auth.device_jwt.challenge_timeout": CHALLENGE_TIMEOUT})

    def client(self, broker, source):
        client = abuse.ace_client_from(broker, source)
        self.clients.append(client)
        return client

    # --- the legitimate side -------------------------------------------------------------------

    def expect_legitimate_ace_client(self, broker, attack, name="legit"):
        """A legitimate client (its own token, challenge/response) from LEGITIMATE_SOURCE must connect."""
        token, pop = principal_token(name, SCOPE)
        first, connack = abuse.ace_challenge_response(broker, token, pop, "%s-%s" % (
            name, b64url(os.urandom(4))), source=LEGITIMATE_SOURCE)
        if not is_challenge(first) or connack is None or connack.reason != SUCCESS:
            self.fail("after %s, a LEGITIMATE client from %s doing challenge/response (RFC 9431 "
                      "2.2.4.2.2) got %s then %s instead of AUTH 0x18 then CONNACK 0x00%s\n%s"
                      % (attack, LEGITIMATE_SOURCE, describe(first), describe(connack),
                         " (0x89 Server busy: the challenge table is full)"
                         if first is not None and first.kind == CONNACK and first.reason == SERVER_BUSY
                         else "", broker.broker.log()[-3000:]))

    def expect_legitimate_device(self, broker, attack, device_id, key):
        first, connack = abuse.device_challenge_response(broker, device_id, key, DEVICE_AUDIENCE,
                                                         source=LEGITIMATE_SOURCE)
        if not is_challenge(first) or connack is None or connack.reason != SUCCESS:
            self.fail("after %s, the LEGITIMATE device %s from %s (method acemq-device-jwt, nonce "
                      "challenge) got %s then %s instead of AUTH 0x18 then CONNACK 0x00%s\n%s"
                      % (attack, device_id, LEGITIMATE_SOURCE, describe(first), describe(connack),
                         " (0x89 Server busy: the challenge table is full)"
                         if first is not None and first.kind == CONNACK and first.reason == SERVER_BUSY
                         else "", broker.broker.log()[-3000:]))

    def control(self, broker, device=False):
        """Before any attack, the legitimate client connects (the broker and client work)."""
        if device:
            self.expect_legitimate_device(broker, "nothing (control)", "dev-legit", self.legit_key)
        else:
            self.expect_legitimate_ace_client(broker, "nothing (control)")

    # --- a: a dropped connection frees its challenge -------------------------------------------

    def drop_after_challenge(self, broker, ask, count):
        """`count` connections from ATTACKER one after another: each asks for a challenge (`ask`)
        and is dropped (RST) as soon as the broker answers. Returns the answers."""
        answers = []
        for index in range(count):
            client = self.client(broker, ATTACKER)
            answers.append(ask(client, index))
            abuse.abort(client)
        return answers

    def check_flood_had_teeth(self, answers, what):
        """The attack did get challenges (else the table could not have filled and the test
        would prove nothing)."""
        challenges = sum(1 for answer in answers if is_challenge(answer))
        self.assertGreaterEqual(challenges, BOUND, "%s: the flood got only %d challenges: %s"
                                % (what, challenges, [describe(a) for a in answers]))
        return challenges

    def test_a_ace_challenge_of_a_dropped_connection_is_freed(self):
        broker = self.ace_broker()
        self.control(broker)
        token, _ = principal_token("mallory", SCOPE)  # valid, the attacker's own
        answers = self.drop_after_challenge(
            broker, lambda client, i: abuse.ask_ace_challenge(client, token, "mallory-a-%d" % i),
            3 * BOUND)
        got = self.check_flood_had_teeth(answers, "ACE")
        self.expect_legitimate_ace_client(
            broker, "%d connections (ace.max_pending_challenges = %d) one after another, each asking for an "
            "ACE challenge with a valid token (%d got one) and dropped (TCP RST) as soon as the broker "
            "answered" % (3 * BOUND, BOUND, got))

    # --- b: no challenge for a token that fails the cheap checks or its signature --------------

    def forged_tokens(self):
        """(what, Authentication Data token bytes) that must never be challenged."""
        good, _, _ = flows.mint(scope=SCOPE)
        unknown_issuer, _, _ = flows.mint(scope=SCOPE, signer=flows.UNKNOWN_KEY, kid="nobody-knows")
        known_kid_wrong_key, _, _ = flows.mint(scope=SCOPE, signer=flows.UNKNOWN_KEY)
        header, payload, signature = good.split(".")
        tampered = header + "." + b64url(b'{"iss":"x","aud":"acemq-broker","exp":9999999999}') + \
            "." + signature
        alg_none, _, _ = flows.mint(scope=SCOPE, algorithm="none")
        expired, _, _ = flows.mint(scope=SCOPE, lifetime=-60)
        other_audience, _, _ = flows.mint(scope=SCOPE, aud=flows.OTHER_AUDIENCE)
        return [
            ("a JWT signed by an unknown key (unknown kid)", unknown_issuer.encode()),
            ("a JWT with the trusted issuer's kid, signed by another key", known_kid_wrong_key.encode()),
            ("a JWT whose claims were replaced under a valid signature", tampered.encode()),
            ("an alg none JWT", alg_none.encode()),
            ("an expired JWT (valid signature)", expired.encode()),
            ("a JWT for another audience (valid signature)", other_audience.encode()),
            ("random bytes", os.urandom(300)),
            ("an opaque reference-shaped handle the AS never issued", b64url(os.urandom(32)).encode()),
        ]

    def test_b_forged_or_garbage_token_gets_no_challenge(self):
        broker = self.ace_broker()
        self.control(broker)
        problems = []
        held_open = 0
        for what, data in self.forged_tokens():
            # Two connections per kind, all kept open: 16 = twice the bound in all.
            for copy in range(2):
                client = self.client(broker, ATTACKER)
                answer = abuse.ask_ace_challenge(client, data, "forger-%d-%d" % (held_open, copy))
                held_open += 1
                if is_challenge(answer):
                    problems.append("%s in CONNECT's Authentication Data got a CHALLENGE (AUTH 0x18) "
                                    "instead of CONNACK 0x87" % what)
                elif answer is None or answer.kind != CONNACK or \
                        answer.reason not in (NOT_AUTHORIZED, PAYLOAD_FORMAT_INVALID):
                    problems.append("%s: expected CONNACK 0x87 (or 0x99), got %s" % (what, describe(answer)))
        if problems:
            self.fail("\n".join(problems))
        self.expect_legitimate_ace_client(
            broker, "%d connections kept open with forged or garbage tokens" % held_open)

    # --- c: one address cannot fill the table --------------------------------------------------

    def hold_open(self, broker, ask, count):
        """`count` connections from ATTACKER, each asking for a challenge, all kept open."""
        answers = []
        for index in range(count):
            client = self.client(broker, ATTACKER)
            answers.append(ask(client, index))
        return answers

    def summary(self, answers):
        challenges = sum(1 for answer in answers if is_challenge(answer))
        return "%d connections from %s kept open (ace.max_pending_challenges = %d), %d of them holding " \
               "a challenge" % (len(answers), ATTACKER, BOUND, challenges)

    def test_c1_one_address_cannot_fill_the_ace_table_with_valid_tokens(self):
        broker = self.ace_broker()
        self.control(broker)
        token, _ = principal_token("mallory", SCOPE)
        answers = self.hold_open(
            broker, lambda client, i: abuse.ask_ace_challenge(client, token, "mallory-c1-%d" % i),
            BOUND + EXTRA)
        self.assertTrue(is_challenge(answers[0]), "the flood got no challenge at all: %s"
                        % [describe(a) for a in answers])
        self.expect_legitimate_ace_client(
            broker, self.summary(answers) + " (valid tokens of the attacker's own)")

    def test_c2_one_address_cannot_fill_the_ace_table_with_a_held_token(self):
        # RFC 9431 2.2.4.2.2: a CONNECT without a token, naming a client the broker holds a token
        # for (uploaded to authz-info, 2.2.2), is challenged. Client identifiers are no secret:
        # the attacker needs no token at all.
        broker = self.ace_broker()
        victim_token, victim_pop = principal_token("victim", SCOPE)
        uploader = self.client(broker, LEGITIMATE_SOURCE)
        uploader.connect("victim-c2")
        connack = uploader.read()
        self.assertEqual(connack.reason if connack else None, SUCCESS, broker.broker.log())
        puback = uploader.publish_qos1("authz-info", victim_token, 1)
        self.assertEqual(puback.reason, SUCCESS, broker.broker.log())
        uploader.disconnect()
        answers = self.hold_open(
            broker, lambda client, i: abuse.ask_ace_challenge(client, None, "victim-c2"), BOUND + EXTRA)
        self.assertTrue(is_challenge(answers[0]), "the tokenless CONNECT naming the held token's "
                        "client got no challenge: %s" % [describe(a) for a in answers])
        attack = self.summary(answers) + " (CONNECTs without a token naming victim-c2, whose token the " \
            "broker holds)"
        # The victim itself, with the token the broker holds (CONNECT without a token) ...
        client = self.client(broker, LEGITIMATE_SOURCE)
        first = abuse.ask_ace_challenge(client, None, "victim-c2")
        connack = abuse.answer_ace_challenge(client, first, victim_pop) if is_challenge(first) else first
        if not is_challenge(first) or connack is None or connack.reason != SUCCESS:
            self.fail("after %s, the VICTIM from %s (CONNECT without a token, the held token "
                      "challenged) got %s then %s instead of AUTH 0x18 then CONNACK 0x00\n%s"
                      % (attack, LEGITIMATE_SOURCE, describe(first), describe(connack),
                         broker.broker.log()[-3000:]))
        # ... and any other legitimate client.
        self.expect_legitimate_ace_client(broker, attack)

    # --- d: the device-JWT challenge -----------------------------------------------------------

    def test_d1_device_challenge_of_a_dropped_connection_is_freed(self):
        broker = self.device_broker()
        self.control(broker, device=True)
        answers = self.drop_after_challenge(
            broker, lambda client, i: abuse.ask_device_challenge(client, "dev-victim"), 3 * BOUND)
        got = self.check_flood_had_teeth(answers, "device JWT")
        attack = ("%d connections (auth.device_jwt.max_pending_challenges = %d) naming the registered "
                  "device dev-victim, each dropped (TCP RST) right after its nonce challenge (%d got "
                  "one)" % (3 * BOUND, BOUND, got))
        self.expect_legitimate_device(broker, attack, "dev-legit", self.legit_key)
        self.expect_legitimate_device(broker, attack, "dev-victim", self.victim_key)

    def test_d2_one_address_cannot_fill_the_device_table(self):
        broker = self.device_broker()
        self.control(broker, device=True)
        answers = self.hold_open(
            broker, lambda client, i: abuse.ask_device_challenge(client, "dev-victim"), BOUND + EXTRA)
        self.assertTrue(is_challenge(answers[0]), "the flood got no challenge at all: %s"
                        % [describe(a) for a in answers])
        challenges = sum(1 for answer in answers if is_challenge(answer))
        attack = ("%d connections from %s kept open (auth.device_jwt.max_pending_challenges = %d) naming "
                  "the registered device dev-victim without its key, %d of them holding a nonce "
                  "challenge" % (len(answers), ATTACKER, BOUND, challenges))
        self.expect_legitimate_device(broker, attack, "dev-legit", self.legit_key)
        self.expect_legitimate_device(broker, attack, "dev-victim", self.victim_key)


if __name__ == "__main__":
    unittest.main(verbosity=2)
