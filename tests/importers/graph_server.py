"""A local Graph API stand-in: serves the recorded pages in tests/fixtures/graph on 127.0.0.1.

Routes are (path, selected query parameter) → a list of responses served in order (the
last one repeats), so a test can script "throttled once, then the page".
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "graph"
PAGE = "104123456789012"
IG = "17841406338772941"
POST1 = f"{PAGE}_871234567890123"
MEDIA = {"/media/vann.jpg": b"\xff\xd8JPEG-vann", "/media/kran.jpg": b"\xff\xd8JPEG-kran",
         "/media/klage.jpg": b"\xff\xd8JPEG-klage", "/media/losna.jpg": b"\xff\xd8JPEG-losna"}


class GraphServer:
    def __init__(self, token: str, *, expired_token_on_inbox: bool = False):
        self.token = token
        self.requests: list[dict] = []
        self.routes: dict[tuple[str, str | None], list[tuple[int, str, dict]]] = {}
        self._hits: dict[tuple[str, str | None], int] = {}
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        v = "/v25.0"
        usage_high = {"X-App-Usage": json.dumps({"call_count": 85, "total_cputime": 10, "total_time": 12})}
        self.route(f"{v}/{PAGE}/feed", None, [(400, "error_4.json", {}), (200, "feed_p1.json", usage_high)])
        self.route(f"{v}/{PAGE}/feed", "QVFIUkw", [(429, None, {"Retry-After": "0"}), (200, "feed_p2.json", {})])
        self.route(f"{v}/{POST1}/comments", "QVFIUkZA", [(500, None, {}), (200, "post1_comments_p2.json", {})])
        if expired_token_on_inbox:
            self.route(f"{v}/{PAGE}/conversations", "messenger", [(400, "error_190.json", {})])
        else:
            self.route(f"{v}/{PAGE}/conversations", "messenger", [(200, "conversations_p1.json", {})])
        self.route(f"{v}/t_587956915396498/messages", "MAZDZD", [(200, "conv_messages_p2.json", {})])
        self.route(f"{v}/t_999/messages", "GONE", [(400, "error_100_33.json", {})])
        self.route(f"{v}/{IG}/media", None, [(200, "ig_media_p1.json", {})])
        self.route(f"{v}/{PAGE}/conversations", "instagram", [(200, "ig_conversations_p1.json", {})])

    def route(self, path: str, key: str | None, responses: list[tuple[int, str | None, dict]]) -> None:
        self.routes[(path, key)] = responses

    def body(self, name: str | None) -> str:
        if name is None:
            return json.dumps({"error": {"message": "An unexpected error has occurred. Please retry your request later.",
                                         "type": "OAuthException", "is_transient": True, "code": 2}})
        text = (FIXTURES / name).read_text(encoding="utf-8")
        return text.replace("{BASE}", self.base).replace("{TOKEN}", self.token)

    def _handler(self):
        server = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):  # silence
                pass

            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                q = parse_qs(parts.query)
                server.requests.append({"path": parts.path, "query": parts.query,
                                        "auth": self.headers.get("Authorization")})
                if parts.path in MEDIA:
                    data = MEDIA[parts.path]
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if self.headers.get("Authorization") != f"Bearer {server.token}" or "access_token" in q:
                    return self._send(400, server.body("error_190.json"), {})
                key = (q.get("after") or q.get("platform") or [None])[0]
                responses = server.routes.get((parts.path, key)) or server.routes.get((parts.path, None))
                if not responses:
                    return self._send(404, json.dumps({"error": {"message": f"no route {parts.path}", "code": 803}}), {})
                n = server._hits.get((parts.path, key), 0)
                server._hits[(parts.path, key)] = n + 1
                status, name, headers = responses[min(n, len(responses) - 1)]
                self._send(status, server.body(name) if name or status >= 500 else "{}", headers)

            def _send(self, status, text, headers):
                data = text.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        return H

    def __enter__(self) -> "GraphServer":
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
