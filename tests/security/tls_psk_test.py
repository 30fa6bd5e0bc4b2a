#!/usr/bin/env python3
"""Security: a TLS-PSK identity is not a token upload; nothing is kept before the binder proves
the key.

RFC 9431 2.2.3.2 (TLS:Known(PSK),MQTT:none): the TLS 1.3 external PSK identity is an access token
(or `{"cnf":{"kid":..}}` naming the key of a token the broker holds), the PSK is the token's
symmetric PoP key. The broker looks the identity up while it reads the ClientHello
(`ace.allow_psk_identity`, on by default), before the PSK binder has been checked: at that point
anybody may have sent the identity, a token captured on the way to its owner, say. Only a
handshake whose binder verifies shows that the client holds the key. Required:

  a  a ClientHello whose PSK identity is a VALID token the sender does not hold the key of (a
     wrong binder) must not make the broker keep the token: afterwards a CONNECT without a token
     naming the token's client is refused (CONNACK 0x87; a challenge, AUTH 0x18, would mean the
     broker holds a token for that client, RFC 9431 2.2.4.2.2), and the PSK identity
     `{"cnf":{"kid":<the token's kid>}}` with the right key finds nothing (the handshake falls
     back to the certificate). Controls: before the attack the same CONNECT is refused; after a
     PROVEN PSK connection (`acemq pub --pop psk`, right key) both observations do see a held
     token, so they can tell;
  b  unproven PSK identities are no way around the authz-info upload limits (RFC 9431 8): with
     `ace.store.max_tokens = 4`, 2x that many ClientHellos, each with another valid token (tokens
     the attacker got for itself) and a wrong binder, must not evict the token a victim uploaded
     to authz-info: the victim's CONNECT without a token still gets its challenge and CONNACK 0x00.

Not covered, for want of an honest observable: that an INVALID identity repeated many times is
validated only once (failures cached). The broker exports no count of token verifications (see
/metrics) and logs nothing per PSK lookup, at any level; timing a signature check over loopback
would measure noise.

ClientHellos with a chosen identity and key come from `openssl s_client -psk_identity ... -psk
...` (abuse_harness.psk_client_hello): with a key other than the token's, the binder is wrong
and the broker ends the handshake ("binder does not verify"). Every wait is on a process exit, a
packet or the end of a stream.
"""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import abuse_harness as abuse  # noqa: E402
from abuse_harness import CONNACK, MALLORY, NOT_AUTHORIZED, describe, is_challenge  # noqa: E402
from ace_security_harness import started  # noqa: E402
from ace_security_harness import (STEP_TIMEOUT, SUCCESS, SecurityEnvironment, SiblingBroker,  # noqa: E402
                                  b64url, principal_token, scope)

SCOPE = scope(("psk/#", "pub", "sub"))
STORE_BOUND = 4

ENV = None


def setUpModule():
    global ENV
    ENV = started(SecurityEnvironment())


def tearDownModule():
    if ENV is not None:
        ENV.stop()


def kid_identity(kid):
    return json.dumps({"cnf": {"kid": kid}}, separators=(",", ":"))


class TlsPsk(abuse.SiblingBrokerTest):
    def home(self):
        return ENV

    def client(self, broker, source=abuse.LEGITIMATE):
        client = abuse.ace_client_from(broker, source)
        self.clients.append(client)
        return client

    def tokenless_connect(self, broker, client_id):
        """The broker's answer to an MQTT 5 CONNECT with method ace and no token naming
        `client_id` (AUTH 0x18 when it holds a token for that client, else CONNACK 0x87)."""
        client = self.client(broker)
        answer = abuse.ask_ace_challenge(client, None, client_id)
        client.close()
        return answer

    def proven_psk_connection(self, broker, token, key, kid, client_id):
        """The legitimate holder: `acemq pub --pop psk` (the token as PSK identity, its key as
        PSK: the binder verifies), MQTT 5, one QoS 1 message in scope."""
        credentials = abuse.write_symmetric_credentials(broker, "psk-%s.json" % client_id, token, key,
                                                        SCOPE, kid)
        done = subprocess.run([os.environ["ACEMQ_CLIENT"], "pub", "-h", "127.0.0.1", "-p",
                               str(broker.broker_port), "--cafile", broker.path("pki", "ca.pem"),
                               "--credentials", credentials, "--pop", "psk", "--mqtt", "5", "-i", client_id,
                               "-t", "psk/control", "-m", "proven", "-q", "1"],
                              capture_output=True, text=True, timeout=STEP_TIMEOUT)
        self.assertEqual(done.returncode, 0, "control: the PSK holder could not publish: %s%s\n%s"
                         % (done.stdout, done.stderr, broker.logs()))

    def unproven_hello(self, broker, token):
        """mallory (127.0.0.2) offers `token` as PSK identity with a key of her own: the binder is
        wrong, the handshake must fail."""
        hello = abuse.psk_client_hello(broker, token, os.urandom(32), source=MALLORY)
        self.assertTrue(hello.failed and not hello.psk_accepted,
                        "the ClientHello with a wrong binder was accepted (%s): the test is broken"
                        % hello.summary())
        return hello

    # --- a: the token of an unproven identity is not kept --------------------------------------

    def test_a_unproven_psk_identity_does_not_store_the_token(self):
        # Controls: a proven PSK connection makes the broker hold the token (RFC 9431 2.4.2), seen
        # by both observations used below.
        control_token, control_key = abuse.symmetric_token("psk-control", SCOPE, kid="kid-psk-control")
        self.proven_psk_connection(ENV, control_token, control_key, "kid-psk-control", "psk-control-cli")
        answer = self.tokenless_connect(ENV, "psk-control")
        self.assertTrue(is_challenge(answer), "control: after a proven PSK connection, the CONNECT without "
                        "a token for its client got %s instead of AUTH 0x18\n%s"
                        % (describe(answer), ENV.logs()))
        by_kid = abuse.psk_client_hello(ENV, kid_identity("kid-psk-control"), control_key)
        self.assertTrue(by_kid.psk_accepted, "control: the kid identity of a held token with its key was "
                        "not accepted as PSK: %s\n%s" % (by_kid.summary(), ENV.logs()))

        # The victim's token (captured): its client and its kid are unknown to the broker so far.
        victim_token, victim_key = abuse.symmetric_token("psk-victim", SCOPE, kid="kid-psk-victim")
        answer = self.tokenless_connect(ENV, "psk-victim")
        self.assertTrue(answer is not None and answer.kind == CONNACK and answer.reason == NOT_AUTHORIZED,
                        "control: before the attack, the CONNECT without a token for psk-victim got %s"
                        % describe(answer))

        hello = self.unproven_hello(ENV, victim_token)
        problems = []
        answer = self.tokenless_connect(ENV, "psk-victim")
        if is_challenge(answer):
            problems.append("a CONNECT without a token naming psk-victim was CHALLENGED (AUTH 0x18): the "
                            "broker holds the victim's token")
        elif answer is None or answer.kind != CONNACK or answer.reason != NOT_AUTHORIZED:
            problems.append("a CONNECT without a token naming psk-victim got %s, expected CONNACK 0x87"
                            % describe(answer))
        by_kid = abuse.psk_client_hello(ENV, kid_identity("kid-psk-victim"), victim_key)
        if by_kid.psk_accepted:
            problems.append("the PSK identity {\"cnf\":{\"kid\":\"kid-psk-victim\"}} was ACCEPTED: the kid "
                            "lookup finds the victim's token")
        if problems:
            self.fail("after a ClientHello from %s offering psk-victim's VALID token as PSK identity with a "
                      "WRONG binder (%s), i.e. without the key:\n  %s"
                      % (MALLORY, hello.summary(), "\n  ".join(problems)))

    # --- b: unproven identities do not evict held tokens ---------------------------------------

    def test_b_unproven_psk_identities_do_not_evict_a_held_token(self):
        broker = SiblingBroker(ENV, {"ace.store.max_tokens": str(STORE_BOUND)})
        self.brokers.append(broker)
        broker.start()
        # The victim uploads its token to authz-info (RFC 9431 2.2.2) and later connects without it.
        victim_token, victim_pop = principal_token("evict-victim", SCOPE)
        uploader = self.client(broker)
        uploader.connect("evict-victim")
        connack = uploader.read()
        self.assertEqual(connack.reason if connack else None, SUCCESS, broker.logs())
        puback = uploader.publish_qos1("authz-info", victim_token, 1)
        self.assertEqual(puback.reason, SUCCESS, broker.logs())
        uploader.disconnect()
        first, connack = abuse.ace_challenge_response(broker, None, victim_pop, "evict-victim")
        self.assertTrue(is_challenge(first) and connack is not None and connack.reason == SUCCESS,
                        "control: the victim's CONNECT without a token got %s then %s\n%s"
                        % (describe(first), describe(connack), broker.logs()))
        # mallory: 2x the store bound of valid tokens (of her own), each offered with a wrong binder.
        hellos = []
        for index in range(2 * STORE_BOUND):
            token, _ = abuse.symmetric_token("mallory-%d" % index, SCOPE, kid="kid-mallory-%d-%s"
                                             % (index, b64url(os.urandom(4))))
            hellos.append(self.unproven_hello(broker, token))
        first, connack = abuse.ace_challenge_response(broker, None, victim_pop, "evict-victim")
        if not is_challenge(first) or connack is None or connack.reason != SUCCESS:
            self.fail("after %d ClientHellos from %s, each offering another valid token as PSK identity with "
                      "a WRONG binder (ace.store.max_tokens = %d), the victim's CONNECT without a token (its "
                      "token uploaded to authz-info) got %s then %s instead of AUTH 0x18 then CONNACK 0x00: "
                      "unproven PSK identities were stored and evicted the victim's token"
                      % (len(hellos), MALLORY, STORE_BOUND, describe(first), describe(connack)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
