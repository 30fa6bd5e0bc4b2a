#!/usr/bin/env python3
"""Security: the AS binds a token only to a key the requesting client sent, named by its RFC 7638
thumbprint (RFC 9201 3.1 req_cnf, RFC 9431 2.2.5).

The attack ("key-id re-binding"): the broker resolves a token whose cnf names its PoP key by kid
alone with the keys it already holds. An AS that binds a token to whatever kid a client names, or
copies the kid a client put in its req_cnf key into the token, lets mallory obtain tokens whose
cnf names alice's key, or whose key (mallory's) carries alice's kid, so the broker can take one
key for the other. Over HTTPS, against the real acemq-as:

  a  alice is issued a token for her Ed25519 key and may then name it by its thumbprint (control);
     mallory's /token request with req_cnf {"kid": <alice's thumbprint>} is refused with 400
     invalid_request;
  b  mallory's req_cnf {"jwk": <her key with "kid": "alice-kid">} gives a token whose cnf.jwk.kid
     is mallory's thumbprint (the JWT checked against /jwks, and by introspection), and "alice-kid"
     names nothing she can ask for by kid.

Only the AS is started (ace_profile_e2e.Environment without its broker); every wait is on an event
(the AS's "listening" line, an HTTP response).
"""

import base64
import hashlib
import json
import os
import ssl
import sys
import unittest
import urllib.error
import urllib.request

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e", "ace"))
import ace_profile_e2e as profile  # noqa: E402
from ace_security_harness import started  # noqa: E402

OWNER, OWNER_SECRET = "home-owner", "home-owner-secret"
ALICE, ALICE_SECRET = "alice", "alice-secret-1"
MALLORY, MALLORY_SECRET = "mallory", "mallory-secret-1"

ENV = None


class AuthorizationServerOnly(profile.Environment):
    """The e2e environment's AS with two more clients, alice and mallory, each granted its own
    subtree; no broker (the attack is on the AS's token endpoint)."""

    def start_broker(self):
        for client_id, secret in ((ALICE, ALICE_SECRET), (MALLORY, MALLORY_SECRET)):
            self.as_admin("client", "create", client_id, "--secret", secret)
        self.as_admin("owner", "create", OWNER, "--secret", OWNER_SECRET,
                      "--subtree", profile.AUDIENCE + "=home/#")
        for client_id in (ALICE, MALLORY):
            self.as_admin("grant", "create", "--owner", OWNER, "--client", client_id,
                          "--audience", profile.AUDIENCE, "--filter", "home/%s/#" % client_id,
                          "--permissions", "pub,sub", "--lifetime", "3600")


def setUpModule():
    global ENV
    ENV = started(AuthorizationServerOnly())


def tearDownModule():
    ENV.stop()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(key, kid=None):
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
    if kid is not None:
        jwk["kid"] = kid
    return jwk


def thumbprint(key):
    """RFC 7638: SHA-256 of the required members in lexicographic order, no whitespace."""
    jwk = public_jwk(key)
    canonical = json.dumps({name: jwk[name] for name in ("crv", "kty", "x")}, separators=(",", ":"))
    return b64url(hashlib.sha256(canonical.encode()).digest())


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def https(path, body=None, authorization=None, content_type="application/ace+json"):
    """(status, JSON body) of one request to the AS over HTTPS, its certificate as the only CA."""
    context = ssl.create_default_context(cafile=ENV.as_certificate)
    headers = {"Content-Type": content_type} if body is not None else {}
    if authorization:
        headers["Authorization"] = authorization
    request = urllib.request.Request(ENV.as_url + path, data=body, headers=headers,
                                     method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, context=context, timeout=profile.STEP_TIMEOUT) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def token(client_id, secret, req_cnf):
    body = {"grant_type": "client_credentials", "audience": profile.AUDIENCE, "req_cnf": req_cnf,
            "scope": [["home/%s/#" % client_id, ["pub", "sub"]]]}
    return https("/token", json.dumps(body).encode(), basic(client_id, secret))


def verified_claims(access_token):
    """The JWT's claims, verified with the AS's published keys only (/jwks)."""
    status, jwks = https("/jwks")
    assert status == 200, jwks
    header = jwt.get_unverified_header(access_token)
    signer = next(jwt.PyJWK(key) for key in jwks["keys"] if key.get("kid") == header["kid"])
    # The AS signs with EdDSA or ES256 (docs/authorization-server.md); nothing else is accepted.
    algorithms = [header["alg"]] if header["alg"] in ("EdDSA", "ES256") else []
    return jwt.decode(access_token, signer.key, algorithms=algorithms, audience=profile.AUDIENCE,
                      issuer=profile.ISSUER)


def introspect(access_token):
    status, body = https("/introspect", json.dumps({"token": access_token}).encode(),
                         basic(profile.AUDIENCE, profile.RS_SECRET))
    assert status == 200, body
    return body


class KeyBinding(unittest.TestCase):
    def test_a_mallory_cannot_name_alices_key_by_kid(self):
        alice_key = Ed25519PrivateKey.generate()
        alice_kid = thumbprint(alice_key)
        status, body = token(ALICE, ALICE_SECRET, {"jwk": public_jwk(alice_key)})
        self.assertEqual(status, 200, body)
        # Control: alice, who was issued a token for her key, may name it by its thumbprint.
        status, body = token(ALICE, ALICE_SECRET, {"kid": alice_kid})
        self.assertEqual(status, 200, "alice naming her own key by kid: %r\n%s" % (body, ENV.logs()))
        self.assertEqual(verified_claims(body["access_token"])["cnf"], {"kid": alice_kid})

        status, body = token(MALLORY, MALLORY_SECRET, {"kid": alice_kid})
        if status == 200:
            claims = verified_claims(body["access_token"])
            self.fail("mallory was issued a token whose cnf names ALICE's key by kid: cnf %r, sub %r "
                      "(the broker resolves a kid-only cnf with the keys it holds)" %
                      (claims.get("cnf"), claims.get("sub")))
        self.assertEqual((status, body.get("error")), (400, "invalid_request"), body)

    def test_b_a_kid_in_mallorys_key_is_replaced_by_its_thumbprint(self):
        mallory_key = Ed25519PrivateKey.generate()
        status, body = token(MALLORY, MALLORY_SECRET, {"jwk": public_jwk(mallory_key, kid="alice-kid")})
        self.assertEqual(status, 200, body)
        self.assertNotIn("cnf", body)  # the client knows its key (RFC 9201 3.2)
        bound = verified_claims(body["access_token"])["cnf"]["jwk"]
        self.assertEqual(bound["x"], public_jwk(mallory_key)["x"], bound)
        self.assertEqual(bound.get("kid"), thumbprint(mallory_key),
                         "the token binds mallory's key under the kid she chose (%r), not under its "
                         "RFC 7638 thumbprint %r" % (bound.get("kid"), thumbprint(mallory_key)))
        self.assertEqual(introspect(body["access_token"])["cnf"]["jwk"].get("kid"), thumbprint(mallory_key))
        # The kid mallory chose names no key of hers: asking for a token by it is refused.
        status, body = token(MALLORY, MALLORY_SECRET, {"kid": "alice-kid"})
        self.assertEqual((status, body.get("error")), (400, "invalid_request"),
                         "req_cnf {\"kid\": \"alice-kid\"} from mallory: %r" % body)


if __name__ == "__main__":
    unittest.main(verbosity=2)
