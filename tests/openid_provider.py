"""A stand-in OpenID provider on localhost for the tests of the app's real sign-in route.

Without `signs_in` it only answers discovery and shows a page at /authorize (where "Sign in" sends the browser),
remembering what each visit asked for. With `signs_in` it completes the sign-in at once for that address: it
redirects back with a code and, at /token, signs a real ID token (RS256, its key in its JWKS), so the app's own
sign-in route (Authlib) checks it as it would a real provider's.
"""

from __future__ import annotations

import contextlib
import json
import secrets as secret_tokens
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["stand_in_provider"]


class _Provider(BaseHTTPRequestHandler):
    def _send(self, status: int, body: bytes = b"", kind: str = "application/json", location: str | None = None):
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        server = self.server
        base = server.base
        path, _, query = self.path.partition("?")
        if path == "/.well-known/openid-configuration":
            self._send(200, json.dumps({
                "issuer": base, "authorization_endpoint": f"{base}/authorize", "token_endpoint": f"{base}/token",
                "userinfo_endpoint": f"{base}/userinfo", "jwks_uri": f"{base}/jwks",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            }).encode())
        elif path == "/jwks":
            keys = [] if server.key is None else [server.key.as_dict(is_private=False, kid="test", alg="RS256",
                                                                      use="sig")]
            self._send(200, json.dumps({"keys": keys}).encode())
        elif path == "/authorize":
            asked = urllib.parse.parse_qs(query)
            server.authorize_requests.append(asked)
            if server.email is None:
                self._send(200, b"<html><body><h1>Stand-in provider</h1></body></html>", "text/html")
                return
            code = secret_tokens.token_urlsafe(16)
            server.codes[code] = asked.get("nonce", [None])[0]
            back = f"{asked['redirect_uri'][0]}?{urllib.parse.urlencode({'code': code, 'state': asked['state'][0]})}"
            self._send(302, location=back)
        else:
            self._send(404, b"{}")

    def do_POST(self) -> None:  # noqa: N802
        from authlib.jose import jwt

        server = self.server
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
        code = form.get("code", [""])[0]
        if self.path != "/token" or server.email is None or code not in server.codes:
            self._send(400, b'{"error": "invalid_grant"}')
            return
        now = int(time.time())
        claims = {"iss": server.base, "aud": server.client_id, "sub": "regional-1", "email": server.email,
                  "email_verified": True, "iat": now, "exp": now + 3600}
        nonce = server.codes.pop(code)  # the app's nonce from its authorize request, echoed in the ID token
        if nonce:
            claims["nonce"] = nonce
        id_token = jwt.encode({"alg": "RS256", "kid": "test"}, claims, server.key).decode()
        self._send(200, json.dumps({"access_token": "at", "token_type": "Bearer", "expires_in": 3600,
                                    "id_token": id_token, "scope": "openid email profile"}).encode())

    def log_message(self, *args) -> None:  # keep the test output quiet
        pass


@contextlib.contextmanager
def stand_in_provider(signs_in: str | None = None, client_id: str = "") -> Iterator[ThreadingHTTPServer]:
    """Give a stand-in OpenID provider served from a thread on a free localhost port.

    Its `base` is the URL; `authorize_requests` collects the query of every visit to /authorize. With `signs_in`
    (an address) it signs that person in for the app registered as `client_id`.
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Provider)
    server.base = f"http://127.0.0.1:{server.server_port}"
    server.authorize_requests, server.codes = [], {}
    server.email, server.client_id, server.key = signs_in, client_id, None
    if signs_in is not None:
        from authlib.jose import JsonWebKey

        server.key = JsonWebKey.generate_key("RSA", 2048, is_private=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
