"""`harvest facebook`: read a page's feed, inbox and Instagram from the Graph API into a dump.

Every response is appended to the dump (JSON Lines) and flushed to disk before it is looked
at; the dump is the original form, `import facebook-dump` turns it into messages. The token
comes from ``RINGEBU_JOURNAL_FB_TOKEN`` and travels only in the ``Authorization`` header, to
the Graph API host only: it is removed from every URL that is recorded or followed, and
replaced by ``REDACTED`` wherever a response echoes it, so it never reaches the dump, the
database, the audit trail or a message.

Throttling (HTTP 400 with error code 4, 17, 32, 613 or 80001; HTTP 429; HTTP 5xx; network
errors) is retried with exponential back-off and jitter; the usage headers
(``X-App-Usage``, ``X-Business-Use-Case-Usage``, ``X-Page-Usage``) slow the harvest down
before a limit is reached. An expired token (code 190) stops the harvest, keeping what was
fetched. Code 100 with subcode 33 is recorded in the dump and imported as *not retrievable*.
Cursors are never kept between runs.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from ..app import App
from ..errors import HarvestError, UsageError
from .blobs import TooLarge, store_blob
from .graph_dump import THROTTLE_CODES, node_media_urls, strip_token
from .sources import MAX_ATTACHMENT_BYTES

TOKEN_ENV = "RINGEBU_JOURNAL_FB_TOKEN"

FEED_FIELDS = ("id,message,story,created_time,updated_time,from,permalink_url,is_hidden,"
               "attachments{media_type,media,url,subattachments},"
               "comments.filter(stream).limit(100){id,message,created_time,from,parent{id},is_hidden,"
               "attachment,permalink_url}")
CONVERSATION_FIELDS = "id,updated_time,participants,messages.limit(100){id,created_time,from,to,message,attachments}"
MEDIA_FIELDS = ("id,caption,media_type,media_url,permalink,timestamp,username,owner,children{media_url,media_type},"
                "comments.limit(50){id,text,timestamp,username,from,hidden,parent_id,"
                "replies{id,text,timestamp,username,from,hidden,parent_id}}")


@dataclass
class HarvestConfig:
    base_url: str = "https://graph.facebook.com"
    api_version: str = "v25.0"
    timeout: float = 30.0                 # seconds, connect and read, every request
    max_retries: int = 8
    backoff_base: float = 2.0             # seconds; doubled on each retry, with jitter
    backoff_max: float = 300.0
    usage_slowdown_at: int = 80           # % of a usage header: pause usage_pause between calls
    usage_pause: float = 5.0
    page_limit: int = 25
    fetch_attachments: bool = True
    max_attachment_bytes: int = MAX_ATTACHMENT_BYTES
    sleep: Callable[[float], None] = time.sleep


@dataclass
class HarvestResult:
    out: Path
    responses: int = 0
    retried: int = 0
    attachments: int = 0
    not_retrievable: int = 0
    errors: list[str] = field(default_factory=list)
    stopped: str | None = None

    def raise_stop(self) -> None:
        if self.stopped:
            raise HarvestError(self.stopped)


class _Stop(Exception):
    pass


class Harvester:
    def __init__(self, token: str, config: HarvestConfig, out: TextIO, data_dir: Path, result: HarvestResult,
                 echo: Callable[[str], None] | None = None, session: requests.Session | None = None):
        if not token:
            raise UsageError(f"no access token — set {TOKEN_ENV}")
        self._token = token
        self.cfg = config
        self.out = out
        self.data_dir = data_dir
        self.result = result
        self.echo = echo or (lambda s: None)
        self.session = session or requests.Session()
        base = urlsplit(config.base_url.rstrip("/"))
        self.base_origin = (base.scheme, base.netloc)
        self.base_path = base.path
        self.fetched_media: set[str] = set()

    # -- URLs --------------------------------------------------------------------------------

    def url(self, path: str, params: dict[str, Any]) -> str:
        q = urlencode([(k, v) for k, v in params.items() if v is not None])
        return f"{self.cfg.base_url.rstrip('/')}/{self.cfg.api_version}/{path.lstrip('/')}" + (f"?{q}" if q else "")

    def _follow(self, url: str) -> str | None:
        """A paging URL to request: same host as the base URL, access_token removed."""
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != self.base_origin:
            self.result.errors.append(f"paging link to another host not followed: {parts.scheme}://{parts.netloc}")
            return None
        q = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "access_token"]
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(q), ""))

    # -- one request ---------------------------------------------------------------------------

    def get(self, url: str, context: dict[str, Any]) -> dict[str, Any] | None:
        """GET with retries; the body on success, None when the object cannot be read."""
        attempt = 0
        while True:
            retrieved = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            try:
                resp = self.session.get(url, headers={"Authorization": f"Bearer {self._token}"},
                                        timeout=(self.cfg.timeout, self.cfg.timeout))
            except requests.RequestException as exc:
                reason = f"network error: {type(exc).__name__}"
                if attempt >= self.cfg.max_retries:
                    raise _Stop(f"{strip_token(url)}: {reason}; gave up after {attempt + 1} attempts — "
                                "what was fetched is in the dump; run the harvest again later") from None
                self._backoff(attempt, None, reason)
                attempt += 1
                continue
            body = self._body(resp)
            err = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), dict) else None
            code = err.get("code") if err else None
            transient = resp.status_code == 429 or resp.status_code >= 500 or (
                resp.status_code in (400, 403) and code in THROTTLE_CODES) or bool(err and err.get("is_transient"))
            will_retry = transient and attempt < self.cfg.max_retries
            self._write({"request": {"method": "GET", "url": strip_token(url), "retrieved_at": retrieved},
                         "status": resp.status_code, "body": body, "context": context,
                         **({"retried": True} if will_retry else {})})
            self._watch_usage(resp)
            if resp.status_code == 200 and err is None:
                return body if isinstance(body, dict) else {"data": body} if isinstance(body, list) else {}
            if transient:
                if not will_retry:
                    raise _Stop(f"{strip_token(url)}: still throttled or failing (HTTP {resp.status_code}"
                                f"{f', code {code}' if code else ''}) after {attempt + 1} attempts — "
                                "what was fetched is in the dump; run the harvest again later")
                self.result.retried += 1
                self._backoff(attempt, resp, f"HTTP {resp.status_code}" + (f" code {code}" if code else ""))
                attempt += 1
                continue
            if code == 190:
                raise _Stop("the access token has expired or was revoked (Graph API code 190) — harvest stopped; "
                            f"what was fetched is in the dump; set {TOKEN_ENV} to a new page token and run it again")
            if code == 100 and err.get("error_subcode") == 33:
                self.result.not_retrievable += 1
                return None
            msg = str(err.get("message"))[:200] if err else f"HTTP {resp.status_code}"
            self.result.errors.append(f"{strip_token(url)}: {msg}")
            return None

    def _body(self, resp: requests.Response) -> Any:
        text = resp.text
        if self._token in text:
            text = text.replace(self._token, "REDACTED")
        try:
            return json.loads(text)
        except ValueError:
            return {"non_json_response": text[:10000]}

    def _write(self, obj: dict[str, Any]) -> None:
        try:
            line = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
            line.encode("utf-8")
        except UnicodeEncodeError:
            line = json.dumps(obj, ensure_ascii=True, separators=(",", ":"))
        line = strip_token(line)
        if self._token in line:
            line = line.replace(self._token, "REDACTED")
        self.out.write(line + "\n")
        self.out.flush()
        os.fsync(self.out.fileno())
        if "request" in obj:
            self.result.responses += 1

    def _backoff(self, attempt: int, resp: requests.Response | None, why: str) -> None:
        delay = min(self.cfg.backoff_max, self.cfg.backoff_base * (2 ** attempt))
        delay = delay * random.uniform(0.5, 1.0)
        if resp is not None:
            ra = resp.headers.get("Retry-After")
            if ra and ra.strip().isdigit():
                delay = max(delay, min(float(ra), self.cfg.backoff_max))
            regain = _regain_seconds(resp)
            if regain:
                delay = max(delay, min(regain, self.cfg.backoff_max))
        self.echo(f"harvest: {why}; waiting {delay:.1f} s before retrying")
        self.cfg.sleep(delay)

    def _watch_usage(self, resp: requests.Response) -> None:
        pct = _usage_percent(resp)
        if pct >= 100:
            wait = min(self.cfg.backoff_max, max(_regain_seconds(resp) or 0, self.cfg.usage_pause * 4))
            self.echo(f"harvest: API usage at {pct}% — pausing {wait:.1f} s")
            self.cfg.sleep(wait)
        elif pct >= self.cfg.usage_slowdown_at:
            self.cfg.sleep(self.cfg.usage_pause * (pct - self.cfg.usage_slowdown_at + 1) / (101 - self.cfg.usage_slowdown_at))

    # -- media -----------------------------------------------------------------------------------

    def fetch_media(self, body: Any) -> None:
        if not self.cfg.fetch_attachments:
            return
        for url, kind in node_media_urls(body):
            clean = strip_token(url)
            if clean in self.fetched_media:
                continue
            self.fetched_media.add(clean)
            retrieved = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            rec: dict[str, Any] = {"url": clean, "kind": kind, "retrieved_at": retrieved}
            parts = urlsplit(url)
            # The token goes to the Graph API host only; CDN links are signed on their own.
            headers = {"Authorization": f"Bearer {self._token}"} if (parts.scheme, parts.netloc) == self.base_origin else {}
            try:
                with self.session.get(url, headers=headers, timeout=(self.cfg.timeout, self.cfg.timeout),
                                      stream=True) as r:
                    rec["status"] = r.status_code
                    if r.status_code != 200:
                        rec["error"] = f"HTTP {r.status_code}"
                    else:
                        sha, size = store_blob(self.data_dir, _RawStream(r), max_bytes=self.cfg.max_attachment_bytes)
                        rec.update(sha256=sha, size=size,
                                   media_type=(r.headers.get("Content-Type") or "").split(";")[0].strip() or None)
                        self.result.attachments += 1
            except TooLarge as exc:
                rec["error"] = f"too large: {exc}"
            except requests.RequestException as exc:
                rec["error"] = f"network error: {type(exc).__name__}"
            self._write({"attachment": rec})

    # -- walking the endpoints ---------------------------------------------------------------------

    def walk(self, url: str, context: dict[str, Any], nested: tuple[str, ...] = ()) -> None:
        """Read a list endpoint to its end, following paging.next, and nested edges' next links."""
        next_url: str | None = url
        while next_url:
            body = self.get(next_url, context)
            if body is None:
                return
            self.fetch_media(body)
            for node in body.get("data") or []:
                if not isinstance(node, dict):
                    continue
                for edge in nested:
                    sub = node.get(edge)
                    if isinstance(sub, dict):
                        nxt = (sub.get("paging") or {}).get("next")
                        if isinstance(nxt, str):
                            follow = self._follow(nxt)
                            if follow:
                                sub_nested = ("replies",) if edge == "comments" and context.get("platform") == "instagram" else ()
                                self.walk(follow, context, sub_nested)
            paging = body.get("paging") if isinstance(body.get("paging"), dict) else {}
            nxt = paging.get("next")
            next_url = self._follow(nxt) if isinstance(nxt, str) else None


class _RawStream:
    """File-like view of a streamed response body."""

    def __init__(self, resp: requests.Response):
        self._it = resp.iter_content(1024 * 1024)

    def read(self, n: int = -1) -> bytes:
        for chunk in self._it:
            return chunk
        return b""


def _usage_percent(resp: requests.Response) -> int:
    best = 0
    for h in ("X-App-Usage", "X-Page-Usage", "X-Ad-Account-Usage", "X-Business-Use-Case-Usage"):
        raw = resp.headers.get(h)
        if not raw:
            continue
        try:
            val = json.loads(raw)
        except ValueError:
            try:
                val = json.loads(raw.replace("'", '"'))
            except ValueError:
                continue
        for d in _usage_dicts(val):
            for k in ("call_count", "total_cputime", "total_time"):
                v = d.get(k)
                if isinstance(v, (int, float)):
                    best = max(best, int(v))
    return best


def _usage_dicts(val: Any) -> list[dict[str, Any]]:
    if isinstance(val, dict):
        if any(k in val for k in ("call_count", "total_cputime", "total_time")):
            return [val]
        out = []
        for v in val.values():
            out += _usage_dicts(v)
        return out
    if isinstance(val, list):
        out = []
        for v in val:
            out += _usage_dicts(v)
        return out
    return []


def _regain_seconds(resp: requests.Response) -> float | None:
    raw = resp.headers.get("X-Business-Use-Case-Usage")
    if not raw:
        return None
    try:
        val = json.loads(raw)
    except ValueError:
        return None
    mins = [d.get("estimated_time_to_regain_access") for d in _usage_dicts(val)]
    mins = [m for m in mins if isinstance(m, (int, float)) and m > 0]
    return max(mins) * 60.0 if mins else None


def harvest(app: App, *, token: str, page_id: str, instagram_user_id: str | None = None, since: date | None = None,
            out: Path, config: HarvestConfig | None = None, echo: Callable[[str], None] | None = None,
            session: requests.Session | None = None) -> HarvestResult:
    """Harvest into ``out`` (appended) and audit the run. Raises nothing for a stopped harvest:
    check ``result.stopped`` (``result.raise_stop()``) after importing what was fetched."""
    app.require("import.run")
    cfg = config or HarvestConfig()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = HarvestResult(out=out)
    since_ts = int(datetime(since.year, since.month, since.day, tzinfo=timezone.utc).timestamp()) if since else None
    with open(out, "a", encoding="utf-8") as fh:
        h = Harvester(token, cfg, fh, app.data_dir, result, echo=echo, session=session)
        fb = {"platform": "facebook", "account_id": page_id}
        steps: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
            (h.url(f"{page_id}/feed", {"fields": FEED_FIELDS, "limit": cfg.page_limit, "since": since_ts}),
             fb, ("comments",)),
            (h.url(f"{page_id}/conversations", {"platform": "messenger", "fields": CONVERSATION_FIELDS,
                                                "limit": cfg.page_limit}),
             {"platform": "messenger", "account_id": page_id}, ("messages",)),
        ]
        if instagram_user_id:
            ig = {"platform": "instagram", "account_id": instagram_user_id}
            steps.append((h.url(f"{instagram_user_id}/media", {"fields": MEDIA_FIELDS, "limit": cfg.page_limit,
                                                               "since": since_ts}), ig, ("comments",)))
            steps.append((h.url(f"{page_id}/conversations", {"platform": "instagram", "fields": CONVERSATION_FIELDS,
                                                             "limit": cfg.page_limit}), ig, ("messages",)))
        try:
            for url, ctx, nested in steps:
                h.walk(url, ctx, nested)
        except _Stop as stop:
            result.stopped = str(stop)
    with app.db.write() as conn:
        app.audit(conn, "harvest.facebook", "harvest", page_id, after={
            "page_id": page_id, "instagram_user_id": instagram_user_id, "since": since.isoformat() if since else None,
            "dump": str(out.resolve()), "api_version": cfg.api_version, "base_url": cfg.base_url,
            "responses": result.responses, "retried": result.retried, "attachments": result.attachments,
            "not_retrievable": result.not_retrievable, "errors": result.errors[:100], "stopped": result.stopped})
    for e in result.errors[:20]:
        (echo or (lambda s: None))(f"harvest: {e}")
    return result
