"""One request at a time against the load database: time and query count per endpoint, to tell a slow
query or an N+1 from a busy machine. Same environment as scripts/load.sh (LOAD_USERS, DATABASE_URL, keys).

    .venv/bin/python bench/load/profile_endpoints.py
"""

import collections
import datetime
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django  # noqa: E402

django.setup()
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402


def cases(users: dict) -> list[tuple[dict, str, str]]:
    today = datetime.date.today()
    year = f"from={today - datetime.timedelta(days=364)}&to={today}"
    d90 = f"from={today - datetime.timedelta(days=89)}&to={today}"
    w, c, s, m = users["watchers"][0], users["clerks"][0], users["liaisons"][0], users["managers"][0]
    return [
        (w, "api", f"/api/v1/prosecutions/{w['prosecutions'][0]}/"),
        (w, "api", "/api/v1/briefs/"),
        (w, "page", "/courtwatch/briefs/"),
        (c, "api", f"/api/v1/admissions/?facility={c['facility']}"),
        (s, "api", "/api/v1/referrals/?state=sent"),
        (s, "page", "/intake/referrals/"),
        (m, "api", f"/api/v1/dashboard/incidents/?group_by=month&{year}"),
        (m, "api", f"/api/v1/dashboard/incidents/?group_by=suburb&{year}"),
        (m, "api", "/api/v1/dashboard/hotspots/"),
        (m, "api", f"/api/v1/reports/conviction-rate/?group_by=court&{year}"),
        (m, "api", f"/api/v1/reports/removals/?{year}"),
        (m, "api", f"/api/v1/reports/attrition/?{d90}"),
        (m, "api", f"/api/v1/reports/unknown-to-police/?{d90}"),
        (m, "page", f"/reports/dashboard/?{year}"),
        (m, "page", f"/reports/conviction-rate/?{year}"),
    ]


def main() -> int:
    users = json.loads(Path(os.environ.get("LOAD_USERS", "/tmp/casetrail-load/users.json")).read_text())
    only = sys.argv[1] if len(sys.argv) > 1 else ""
    for who, kind, url in cases(users):
        if only not in url:
            continue
        client = Client()
        headers = {"HTTP_AUTHORIZATION": f"Token {who['token']}"} if kind == "api" else {}
        if kind == "page":
            client.cookies["sessionid"] = who["session"]
        best = None
        for _ in range(3):
            with CaptureQueriesContext(connection) as q:
                t = time.perf_counter()
                r = client.get(url, **headers)
                ms = (time.perf_counter() - t) * 1000
            best = ms if best is None else min(best, ms)
        shapes = collections.Counter(re.sub(r"\d+", "N", x["sql"]) for x in q.captured_queries)
        shape, repeats = shapes.most_common(1)[0] if shapes else ("", 0)
        top = max(q.captured_queries, key=lambda x: float(x["time"]), default={"sql": "", "time": "0"})
        print(f"{r.status_code} {best:7.0f} ms {len(q.captured_queries):5} queries  {url}")
        print(f"      slowest {float(top['time']) * 1000:.0f} ms: {top['sql'][:140]}")
        if repeats > 5:
            print(f"      repeated x{repeats}: {shape[:140]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
