"""Casetrail under load (docs/reliability.md, "Load"): run by ``make load`` (scripts/load.sh).

People, 50 by default, each thinking 1–3 s between actions: court watchers recording hearings on their
briefs, EC clerks capturing admissions (one-row CSV uploads) and reading their list, SAPS liaisons working
the referral queue, managers reading reports and the dashboard (API and pages). Beside them, not counted
among the people: an HL7 feed posting 50 ADT messages a second over the HTTP intake for one facility, and
a poller reading that facility's figure on the dashboard API every 0.5 s, to time how long an
acknowledged admission takes to appear there. The users come from LOAD_USERS (bench/load/prepare.py).
"""

import datetime
import json
import os
import random
import time
import uuid
from pathlib import Path

from locust import HttpUser, between, constant_pacing, events, task

USERS = json.loads(Path(os.environ.get("LOAD_USERS", "/tmp/casetrail-load/users.json")).read_text())
FEED_RATE = float(os.environ.get("LOAD_FEED_RATE", "50"))
FEED_USERS = int(os.environ.get("LOAD_FEED_USERS", "10"))
REPORT = os.environ.get("LOAD_REPORT", "")
SAST = datetime.timezone(datetime.timedelta(hours=2))

# Freshness: when each feed message was acknowledged, and what the dashboard said when.
acked: list[float] = []
seen: list[tuple[float, int]] = []


def today() -> datetime.date:
    return datetime.datetime.now(SAST).date()


def pick(role: str, index: int) -> dict:
    people = USERS[role]
    return people[index % len(people)]


class Person(HttpUser):
    abstract = True
    wait_time = between(1, 3)
    role = ""
    _count = 0

    def on_start(self):
        type(self)._count += 1
        self.me = pick(self.role, type(self)._count)
        self.api = {"Authorization": f"Token {self.me['token']}"}
        # Our own cookie header: the session cookie is Secure outside DEBUG, and this is plain HTTP.
        self.page = {"Cookie": f"sessionid={self.me.get('session', '')}"}

    def get_api(self, url, name):
        return self.client.get(url, headers=self.api, name=name)

    def get_page(self, url, name):
        return self.client.get(url, headers=self.page, name=name, allow_redirects=False)


class CourtWatcher(Person):
    weight = 10
    role = "watchers"

    @task(3)
    def record_a_hearing(self):
        prosecution = random.choice(self.me["prosecutions"])
        r = self.get_api(f"/api/v1/prosecutions/{prosecution}/", "API prosecution detail")
        if r.status_code != 200:
            return
        held = today()
        body = {
            "prosecution": prosecution,
            "date": held.isoformat(),
            "type": "remand",
            "outcome": "postponed",
            "reason": "further_investigation",
            "next_date": (held + datetime.timedelta(days=random.randint(7, 60))).isoformat(),
            "version": r.json()["version"],
        }
        self.client.post("/api/v1/hearings/", json=body, headers=self.api, name="API hearing record")

    @task(2)
    def read_briefs(self):
        self.get_api("/api/v1/briefs/", "API briefs list")

    @task(1)
    def my_briefs_page(self):
        self.get_page("/courtwatch/briefs/", "page my briefs")


class Clerk(Person):
    weight = 10
    role = "clerks"

    @task(3)
    def capture_an_admission(self):
        now = datetime.datetime.now(SAST)
        row = [
            self.me["facility"],
            f"LC{uuid.uuid4().hex[:16]}",
            now.strftime("%Y-%m-%d %H:%M"),
            "S31.1 X99.0",
            f"{random.randint(10**9, 10**10 - 1)}",
            "MR",
            "F",
        ]
        text = "facility,visit_number,arrival_at,icd10_codes,patient_id,patient_id_type,sex\n" + ",".join(row)
        headers = {**self.api, "Content-Type": "text/csv"}
        self.client.post(
            "/api/v1/intake/csv/", data=text.encode(), headers=headers, name="API capture (CSV row)"
        )

    @task(2)
    def read_admissions(self):
        self.get_api(f"/api/v1/admissions/?facility={self.me['facility']}", "API admissions list")


class SapsLiaison(Person):
    weight = 15
    role = "liaisons"

    @task(3)
    def work_the_queue(self):
        r = self.get_api("/api/v1/referrals/?state=sent", "API referral queue")
        if r.status_code != 200 or not r.json().get("results"):
            return
        referral = random.choice(r.json()["results"][:10])
        self.client.post(
            f"/api/v1/referrals/{referral['id']}/transitions/acknowledge/",
            json={"version": referral["version"]},
            headers=self.api,
            name="API referral acknowledge",
        )

    @task(1)
    def queue_page(self):
        self.get_page("/intake/referrals/", "page referral queue")


class Manager(Person):
    weight = 15
    role = "managers"

    def period(self, days=365):
        return f"from={today() - datetime.timedelta(days=days - 1)}&to={today()}"

    @task(3)
    def dashboard(self):
        group = random.choice(["month", "day", "facility", "age_band", "hour_weekday", "suburb"])
        self.get_api(f"/api/v1/dashboard/incidents/?group_by={group}&{self.period()}", "API dashboard")

    @task(1)
    def hotspots(self):
        self.get_api("/api/v1/dashboard/hotspots/", "API hotspots")

    @task(2)
    def conviction_rate(self):
        group = random.choice(["court", "month", "gang_related"])
        self.get_api(
            f"/api/v1/reports/conviction-rate/?group_by={group}&{self.period()}", "API conviction rate"
        )

    @task(1)
    def removals(self):
        self.get_api(f"/api/v1/reports/removals/?{self.period()}", "API removals")

    @task(1)
    def attrition(self):
        self.get_api(f"/api/v1/reports/attrition/?{self.period(90)}", "API attrition (90 d)")

    @task(1)
    def unknown_to_police(self):
        self.get_api(f"/api/v1/reports/unknown-to-police/?{self.period(90)}", "API unknown to police (90 d)")

    @task(2)
    def dashboard_page(self):
        self.get_page(f"/reports/dashboard/?{self.period()}", "page dashboard")

    @task(1)
    def conviction_page(self):
        self.get_page(f"/reports/conviction-rate/?{self.period()}", "page conviction rate")


def adt(control: str, visit: str) -> str:
    now = datetime.datetime.now(SAST)
    stamp = now.strftime("%Y%m%d%H%M%S")
    arrival = (now - datetime.timedelta(minutes=30)).strftime("%Y%m%d%H%M%S")
    facility = USERS["feed"]["facility"]
    pv1 = ["PV1", "1", "E", f"EC^^^{facility}"] + [""] * 15 + [visit] + [""] * 24 + [arrival]
    segments = [
        f"MSH|^~\\&|LOADFEED|{facility}|CASETRAIL|WCG|{stamp}||ADT^A04^ADT_A01|{control}|P|2.5",
        f"EVN|A04|{stamp}",
        f"PID|1||{random.randint(10**5, 10**6)}^^^{facility}^MR||Load^Patient||19900101|F",
        "|".join(pv1),
        f"DG1|1||S31.1^^I10||{arrival[:8]}|F",
        f"DG1|2||X99.0^^I10||{arrival[:8]}|F",
        "OBX|1|CE|TRIAGE^TRIAGE^CASETRAIL||YELLOW||||||F",
    ]
    return "\r".join(segments) + "\r"


class Hl7Feed(HttpUser):
    """The feed: FEED_USERS senders sharing FEED_RATE messages a second, each message acknowledged."""

    fixed_count = FEED_USERS
    wait_time = constant_pacing(FEED_USERS / FEED_RATE)

    def on_start(self):
        self.headers = {
            "Authorization": f"Token {USERS['feed']['token']}",
            "Content-Type": "application/hl7-v2",
        }

    @task
    def send(self):
        control = uuid.uuid4().hex[:20]
        with self.client.post(
            "/api/v1/intake/hl7/",
            data=adt(control, f"LF{control}").encode(),
            headers=self.headers,
            name="API HL7 intake (feed)",
            catch_response=True,
        ) as r:
            if r.status_code == 200 and "MSA|AA|" in r.text:
                acked.append(time.time())
                r.success()
            else:
                r.failure(f"no AA: {r.status_code} {r.text[-120:]!r}")


class FreshnessPoller(HttpUser):
    """Reads the feed facility's count for today on the dashboard API every 0.5 s."""

    fixed_count = 1
    wait_time = constant_pacing(0.5)

    def on_start(self):
        self.headers = {"Authorization": f"Token {USERS['analyst']['token']}"}

    @task
    def poll(self):
        d = today()
        url = (
            f"/api/v1/dashboard/incidents/?group_by=day&facility={USERS['feed']['facility']}"
            f"&from={d}&to={d}&unsuppressed=1"
        )
        r = self.client.get(url, headers=self.headers, name="API dashboard (freshness poll)")
        if r.status_code == 200:
            seen.append((time.time(), r.json()["total"] or 0))


def freshness(grace: float = 10.0) -> dict:
    """For the k-th acknowledged message: the first poll showing k more than the first poll did, minus
    its acknowledgement time. Messages acknowledged in the last ``grace`` seconds are left out."""
    if not seen or not acked:
        return {"measured": 0}
    start_time, baseline = seen[0]
    end = seen[-1][0] - grace
    lags, missing = [], 0
    acks = sorted(t for t in acked if start_time <= t <= end)
    first_counted = sum(1 for t in acked if t < start_time)
    j = 0
    for k, t in enumerate(acks, start=1 + first_counted):
        while j < len(seen) and (seen[j][1] - baseline < k or seen[j][0] < t):
            j += 1
        if j == len(seen):
            missing = len(acks) - (k - 1 - first_counted)
            break
        lags.append(seen[j][0] - t)
    lags.sort()

    def q(p):
        return round(lags[min(len(lags) - 1, int(p * len(lags)))], 2) if lags else None

    return {"measured": len(lags), "not_seen": missing, "p50_s": q(0.5), "p95_s": q(0.95), "max_s": q(1.0)}


@events.quitting.add_listener
def summary(environment, **kwargs):
    stats = environment.stats
    lines = [f"{'endpoint':44} {'reqs':>7} {'fails':>6} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6}  goal"]
    missed = []
    for entry in sorted(stats.entries.values(), key=lambda e: e.name):
        p50, p95, p99 = (entry.get_response_time_percentile(p) for p in (0.5, 0.95, 0.99))
        ok = p95 < 500 and p99 < 1000 and entry.num_failures == 0
        if not ok:
            missed.append(entry.name)
        lines.append(
            f"{entry.name:44} {entry.num_requests:7} {entry.num_failures:6} {entry.total_rps:7.1f} "
            f"{p50:6.0f} {p95:6.0f} {p99:6.0f}  {'met' if ok else 'MISSED'}"
        )
    total = stats.total
    lines.append(
        f"{'all':44} {total.num_requests:7} {total.num_failures:6} {total.total_rps:7.1f} "
        f"{total.get_response_time_percentile(0.5):6.0f} {total.get_response_time_percentile(0.95):6.0f} "
        f"{total.get_response_time_percentile(0.99):6.0f}"
    )
    for error in stats.errors.values():
        lines.append(f"error x{error.occurrences}: {error.method} {error.name}: {str(error.error)[:200]}")
    fresh = freshness()
    lines.append(
        f"dashboard freshness: {fresh} (goal p95 <= 5 s); feed acknowledged {len(acked)} messages "
        f"({len(acked) / max(1e-9, total.last_request_timestamp - total.start_time):.1f}/s)"
        if total.last_request_timestamp
        else f"dashboard freshness: {fresh}"
    )
    fresh_ok = fresh.get("p95_s") is not None and fresh["p95_s"] <= 5
    lines.append(
        "GOAL MET" if not missed and fresh_ok else f"GOAL MISSED: {', '.join(missed) or 'freshness'}"
    )
    text = "\n".join(lines)
    print("\n" + text, flush=True)
    if REPORT:
        with open(REPORT, "w") as f:
            f.write(text + "\n")
