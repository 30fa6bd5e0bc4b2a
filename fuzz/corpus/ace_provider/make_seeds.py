#!/usr/bin/env python3
"""Builds the seed corpus of the ace_provider fuzz target with keys fixed in ace_provider.cpp.

Independent of the C++ code: PyJWT and cryptography sign the tokens. Run from this folder:
    /usr/bin/python3 make_seeds.py
"""
import base64
import json
import struct

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

NOW = 1_700_000_000


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


as_key = Ed25519PrivateKey.from_private_bytes(bytes([0x11] * 32))
pop_key = Ed25519PrivateKey.from_private_bytes(bytes([0x22] * 32))
pop_public = pop_key.public_key().public_bytes(
    serialization.Encoding.Raw, serialization.PublicFormat.Raw)
scope = json.dumps([["a/+", ["pub", "sub"]], ["authz-info", ["pub"]]], separators=(",", ":"))
claims = {
    "iss": "https://as.example", "aud": "broker", "sub": "fuzz", "iat": NOW, "exp": NOW + 3600,
    "scope": b64url(scope.encode()), "ace_profile": "mqtt_tls",
    "cnf": {"jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64url(pop_public)}},
}
token = jwt.encode(claims, as_key, algorithm="EdDSA", headers={"kid": "as-1"}).encode()
exporter = bytes([0x5A] * 32)
pop_exporter = pop_key.sign(exporter)
client_nonce = bytes(range(1, 9))

seeds = {
    "connect_exporter": b"\x00" + struct.pack(">H", len(token)) + token + pop_exporter,
    "connect_challenge": b"\x00" + struct.pack(">H", len(token)) + token,
    "connect_empty": b"\x00",
    # mode 1: token || (client_nonce || a signature over a nonce the harness cannot know)
    "challenge_answer": b"\x01" + struct.pack(">H", len(token)) + token + client_nonce
    + pop_key.sign(bytes(8) + client_nonce)[:56],
    "reauth": b"\x02" + struct.pack(">H", len(token)) + token,
    "v311_username": b"\x03" + b64url(token).encode(),
    "authz_info_token": b"\x04" + token,
    "authz_info_garbage": b"\x04not a token",
    "trl_page": b"\x05" + json.dumps({"cursor": 3, "more": False, "revoked": [
        {"token_hash": "abc", "exp": NOW + 10, "revoked_at": NOW}]}).encode(),
    "psk_token": b"\x06" + token,
    "psk_kid": b"\x06" + json.dumps({"cnf": {"kid": "k1"}}).encode(),
}
for name, data in seeds.items():
    with open(name, "wb") as out:
        out.write(data)
