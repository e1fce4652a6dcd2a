"""Verifying a Dfns credential's signature (the ``SignatureVerifier`` port): the counterpart of
``signing.py``, for checking an officer's signed action from the audit log (DFNS.md §1.4, §6).

Ed25519 signs the message itself; ECDSA (P-256, secp256k1) signs its SHA-256 with a DER signature; RSA
uses PKCS#1 v1.5 with SHA-256. The public key is PEM SPKI (or its base64/base64url DER body).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa


def _load(public_key: str) -> Any:
    text = public_key.strip()
    if text.startswith("-----BEGIN"):
        return serialization.load_pem_public_key(text.encode("ascii"))
    body = text.replace("-", "+").replace("_", "/")
    return serialization.load_der_public_key(base64.b64decode(body + "=" * (-len(body) % 4)))


class CryptographySignatureVerifier:
    def verify(self, public_key: str, signature: bytes, message: bytes) -> bool:
        try:
            key = _load(public_key)
        except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm):
            return False
        try:
            if isinstance(key, ed25519.Ed25519PublicKey):
                key.verify(signature, message)
            elif isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
            elif isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
            else:
                return False
        except (InvalidSignature, ValueError):
            return False
        return True
