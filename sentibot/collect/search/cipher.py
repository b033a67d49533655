"""Baidu Index's Cipher-Text header, computed per request over the User-Agent sent, the first keyword and the time."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# Constants of the site's own script, as current clients use them (SOURCES.md §5: longxiaofei/spider-BaiduIndex
# qdata/baidu_index/common.py get_cipher_text at feda290; Auroral0810/BaiduIndexHunter crypto/cipher_generator.py).
KEY = b"goqwgaiiacaykuwo"
IV = b"1234567887654321"
START_TS = 1763957172935  # the script's load time constant, the first part of the header
PLATFORM = "MacIntel"
VERSION = "1.0.0.5"


def trend_url(keyword: str, base: str = "https://index.baidu.com") -> str:
    """The page URL the site's script signs: the trend page of the (percent-encoded) first keyword."""
    kw = quote(keyword, safe="")
    return f"{base}/v2/main/index.html#/trend/{kw}?words={kw}"


def cipher_text(user_agent: str, keyword: str, now_ms: int) -> str:
    """`{START_TS}_{now_ms}_{base64(AES-CBC(PKCS7(compact JSON)))}` for one request."""
    plain = json.dumps({"ua": user_agent, "url": trend_url(keyword), "platform": PLATFORM, "clientTs": now_ms,
                        "version": VERSION}, separators=(",", ":"), ensure_ascii=False).encode()
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(KEY), modes.CBC(IV)).encryptor()
    sealed = encryptor.update(padded) + encryptor.finalize()
    return f"{START_TS}_{now_ms}_{base64.b64encode(sealed).decode()}"


def read_cipher_text(header: str) -> dict:
    """The JSON a Cipher-Text header carries (what a server, or a test's, checks); ValueError when it is not one."""
    start, stamp, body = header.split("_", 2)
    decryptor = Cipher(algorithms.AES(KEY), modes.CBC(IV)).decryptor()
    padded = decryptor.update(base64.b64decode(body, validate=True)) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    payload = json.loads(unpadder.update(padded) + unpadder.finalize())
    if int(start) != START_TS or int(stamp) != payload.get("clientTs"):
        raise ValueError("Cipher-Text stamps do not match its payload")
    return payload
