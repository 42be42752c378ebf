"""Synthetic Graph API dumps for the kill -9 test and the benchmark (not real data).

Shapes follow the feed responses in FORMATS.md: one dump line per feed page holding one
post with its comments nested (``filter=stream``, replies flat with ``parent``).
"""

from __future__ import annotations

import json
from pathlib import Path

PAGE = "104123456789012"
WORDS = ("vann", "brøyting", "skole", "barnehage", "veg", "søppel", "byggesak", "kommunestyre", "Frya",
         "Losna", "eiendomsskatt", "parkering", "bibliotek", "helsestasjon")


def generate_dump(path: Path, comments: int, per_line: int = 100) -> Path:
    """Write a dump with ``comments`` comments (and one post per line) and return its path."""
    n = 0
    line_no = 0
    with open(path, "w", encoding="utf-8") as fh:
        while n < comments:
            line_no += 1
            post = f"{PAGE}_{9000000000 + line_no}"
            post_part = post.split("_", 1)[1]
            data = []
            k = min(per_line, comments - n)
            for j in range(k):
                cid = f"{post_part}_{n + 1:012d}"
                c = {"id": cid, "message": f"Spørsmål {n} om {WORDS[n % len(WORDS)]} og {WORDS[(n * 7) % len(WORDS)]} – "
                                           f"når blir det ordnet i {WORDS[(n * 3) % len(WORDS)]}gata?",
                     "created_time": f"2024-05-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:{(n * 7) % 60:02d}+0000",
                     "from": {"name": f"Innbygger {n % 5000}", "id": str(6100000000000000 + n % 5000)},
                     "is_hidden": False,
                     "permalink_url": f"https://www.facebook.com/{PAGE}/posts/{post_part}?comment_id={n + 1}"}
                if j % 4 == 3:
                    c["parent"] = {"id": f"{post_part}_{n:012d}"}
                data.append(c)
                n += 1
            body = {"data": [{"id": post, "message": f"Informasjon nr. {line_no} fra Ringebu kommune.",
                              "created_time": "2024-05-01T08:00:00+0000",
                              "from": {"name": "Ringebu kommune", "id": PAGE},
                              "permalink_url": f"https://www.facebook.com/{PAGE}/posts/{post_part}",
                              "comments": {"data": data}}],
                    "paging": {"cursors": {"before": "QVFIUnp", "after": "QVFIUkw"}}}
            fh.write(json.dumps({"request": {"method": "GET",
                                             "url": f"https://graph.facebook.com/v25.0/{PAGE}/feed?limit=1&after={line_no}",
                                             "retrieved_at": "2024-06-01T12:00:00Z"},
                                 "status": 200, "body": body}, ensure_ascii=False) + "\n")
    return path
