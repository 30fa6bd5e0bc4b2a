#!/usr/bin/env python3
"""Security: a web page on another site cannot make a browser change grants or obtain tokens at
the authorization server (docs/authorization-server.md, "Content types and Origin").

The attack (cross-site request forgery): the owner API took a JSON body sent as text/plain, the
one content type (with form and multipart) a browser sends cross-site without a CORS preflight,
from any Origin, with the Basic credentials the browser remembers for the AS. Against the real
acemq-as over HTTPS:

  a  POST /owner/grants with a JSON body as text/plain is refused 415, and no grant is created;
  b  requests carrying an Origin other than the AS's own (its issuer) or a configured
     allowed_origins entry are refused 403 and change nothing: creating or deleting a grant,
     and /token with a form body;
  c  the AS's own origin and a configured allowed origin are served (controls).
"""

import json
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import as_abuse_harness as harness  # noqa: E402
from as_abuse_harness import (AUDIENCE, CLIENT, CLIENT_SECRET, OWNER, OWNER_SECRET,  # noqa: E402
                              basic)

ALLOWED = "https://console.example"
EVIL = "https://evil.example"
OWN = "https://127.0.0.1"  # the issuer the harness gives the AS


def new_grant(filter_suffix):
    return json.dumps({"client_id": CLIENT, "audience": AUDIENCE,
                       "filter": "home/alice/" + filter_suffix, "permissions": ["sub"],
                       "lifetime": 3600})


class CrossSite(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.started({"allowed_origins": [ALLOWED]})

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def grant_filters(self):
        listing = self.server.owner_grants()
        self.assertEqual(listing.status, 200, listing)
        return [grant["filter"] for grant in listing.json()["grants"] if grant["revoked_at"] == 0]

    def owner_post(self, body, content_type, origin=None):
        headers = {"Content-Type": content_type, "Authorization": basic(OWNER, OWNER_SECRET)}
        if origin:
            headers["Origin"] = origin
        return self.server.request("POST", "/owner/grants", body, headers)

    def test_a_text_plain_body_is_refused(self):
        answer = self.owner_post(new_grant("plain"), "text/plain")
        self.assertEqual(answer.status, 415, answer)
        self.assertNotIn("home/alice/plain", self.grant_filters())
        form = self.owner_post(urllib.parse.urlencode({"client_id": CLIENT}),
                               "application/x-www-form-urlencoded")
        self.assertEqual(form.status, 415, form)

    def test_b_foreign_origin_is_refused(self):
        answer = self.owner_post(new_grant("evil"), "application/json", origin=EVIL)
        self.assertEqual(answer.status, 403, answer)
        self.assertNotIn("home/alice/evil", self.grant_filters())

        created = self.owner_post(new_grant("keep"), "application/json")
        self.assertEqual(created.status, 201, created)
        grant_id = created.json()["grant_id"]
        deleted = self.server.request("DELETE", "/owner/grants/%d" % grant_id, None,
                                      {"Authorization": basic(OWNER, OWNER_SECRET),
                                       "Origin": EVIL})
        self.assertEqual(deleted.status, 403, deleted)
        self.assertIn("home/alice/keep", self.grant_filters())

        token = self.server.request(
            "POST", "/token", urllib.parse.urlencode({"grant_type": "client_credentials",
                                                      "audience": AUDIENCE}),
            {"Content-Type": "application/x-www-form-urlencoded",
             "Authorization": basic(CLIENT, CLIENT_SECRET), "Origin": EVIL})
        self.assertEqual(token.status, 403, token)
        self.assertNotIn("access_token", token.json() or {})
        # "null" is what a browser sends from sandboxed and file pages.
        null = self.owner_post(new_grant("null"), "application/json", origin="null")
        self.assertEqual(null.status, 403, null)

    def test_c_own_and_allowed_origins_are_served(self):
        for origin, suffix in ((OWN, "own"), (ALLOWED, "allowed")):
            answer = self.owner_post(new_grant(suffix), "application/json", origin=origin)
            self.assertEqual(answer.status, 201, "%s: %r" % (origin, answer))
            self.assertIn("home/alice/" + suffix, self.grant_filters())


if __name__ == "__main__":
    unittest.main()
