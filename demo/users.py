"""The demo's people: one or more users for every role, with their object grants (docs/demo.md)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from casework import permissions
from casework.models import Court, Facility, Station
from casework.reference_data import COURTS, STATIONS

# Passes every password validator for every demo user (settings.AUTH_PASSWORD_VALIDATORS).
DEFAULT_PASSWORD = "Table-Mountain-2025"  # noqa: S105  (printed by seed_demo; demo databases only)

METRO_STATIONS = {
    cluster: [s["code"] for s in STATIONS if s["cluster"] == cluster]
    for cluster in ("Mitchells Plain", "Nyanga", "Khayelitsha", "Bellville", "Cape Town")
}
COUNTRY_STATIONS = [s["code"] for s in STATIONS if s["district"] != "city-of-cape-town"]
COUNTRY_COURTS = [c["code"] for c in COURTS if c["district"] != "city-of-cape-town"]

# Order matters where grants overlap: the first user holding a station's (court's) grant is the one
# the demo data uses to act there, so station-level liaisons come before cluster-level ones.
DEMO_USERS = [
    {"username": "admin", "name": ("Ayesha", "Daniels"), "role": permissions.ADMIN, "superuser": True},
    {
        "username": "ec.clerk",
        "name": ("Nomvula", "Mahlangu"),
        "role": permissions.HEALTH_CAPTURE,
        "facilities": ["mitchells-plain-dh", "khayelitsha-dh", "tygerberg"],
    },
    {"username": "vpu.analyst", "name": ("Riaan", "Jacobs"), "role": permissions.VPU_ANALYST},
    {
        "username": "saps.mitchellsplain",
        "name": ("Shaun", "Petersen"),
        "role": permissions.SAPS_LIAISON,
        "stations": ["mitchells-plain", "lentegeur", "strandfontein"],
    },
    {
        "username": "saps.nyanga",
        "name": ("Lwazi", "Mbeki"),
        "role": permissions.SAPS_LIAISON,
        "stations": ["nyanga", "gugulethu", "philippi-east", "manenberg"],
    },
    {
        "username": "saps.cluster.mitchellsplain",
        "name": ("Fatima", "Isaacs"),
        "role": permissions.SAPS_LIAISON,
        "stations": METRO_STATIONS["Mitchells Plain"],
    },
    {
        "username": "saps.cluster.nyanga",
        "name": ("Sipho", "Ndlovu"),
        "role": permissions.SAPS_LIAISON,
        "stations": METRO_STATIONS["Nyanga"],
    },
    {
        "username": "saps.cluster.khayelitsha",
        "name": ("Zukiswa", "Tshabalala"),
        "role": permissions.SAPS_LIAISON,
        "stations": METRO_STATIONS["Khayelitsha"],
    },
    {
        "username": "saps.cluster.bellville",
        "name": ("Johan", "van Wyk"),
        "role": permissions.SAPS_LIAISON,
        "stations": METRO_STATIONS["Bellville"],
    },
    {
        "username": "saps.cluster.capetown",
        "name": ("Grant", "Adams"),
        "role": permissions.SAPS_LIAISON,
        "stations": METRO_STATIONS["Cape Town"],
    },
    {
        "username": "saps.country",
        "name": ("Elmarie", "Botha"),
        "role": permissions.SAPS_LIAISON,
        "stations": COUNTRY_STATIONS,
    },
    {
        "username": "npa.mitchellsplain",
        "name": ("Nadia", "Hendricks"),
        "role": permissions.NPA_LIAISON,
        "courts": ["mitchells-plain-district", "mitchells-plain-regional"],
    },
    {
        "username": "npa.wynberg",
        "name": ("Thabo", "Mokoena"),
        "role": permissions.NPA_LIAISON,
        "courts": ["wynberg-district", "wynberg-regional", "athlone-district"],
    },
    {
        "username": "npa.khayelitsha",
        "name": ("Ntombi", "Qwabe"),
        "role": permissions.NPA_LIAISON,
        "courts": ["khayelitsha-district", "khayelitsha-regional", "blue-downs-district"],
    },
    {
        "username": "npa.bellville",
        "name": ("Marius", "Steyn"),
        "role": permissions.NPA_LIAISON,
        "courts": ["bellville-district", "bellville-regional", "goodwood-district", "kuils-river-district"],
    },
    {
        "username": "npa.capetown",
        "name": ("Leila", "Abrahams"),
        "role": permissions.NPA_LIAISON,
        "courts": ["cape-town-district", "cape-town-regional", "wc-high-court"],
    },
    {
        "username": "npa.country",
        "name": ("Pieter", "Louw"),
        "role": permissions.NPA_LIAISON,
        "courts": COUNTRY_COURTS,
    },
    {"username": "watcher.thandi", "name": ("Thandi", "Nkosi"), "role": permissions.COURT_WATCHER},
    {"username": "watcher.pieter", "name": ("Pieter", "Fortuin"), "role": permissions.COURT_WATCHER},
    {"username": "cw.supervisor", "name": ("Zainab", "Salie"), "role": permissions.COURT_WATCH_SUPERVISOR},
    {"username": "committee.chair", "name": ("Mandla", "Dlamini"), "role": permissions.COMMITTEE_MEMBER},
    {"username": "committee.member", "name": ("Charlene", "February"), "role": permissions.COMMITTEE_MEMBER},
    {"username": "manager", "name": ("Hennie", "Olivier"), "role": permissions.MANAGER},
]


@transaction.atomic
def ensure_users(password: str) -> dict:
    """Create or refresh every demo user (password, role, grants); returns them by username.
    Raises ValidationError when the password breaks a password rule for any of them."""
    User = get_user_model()
    for spec in DEMO_USERS:  # the rules, before anything is written (similarity is per user)
        first, last = spec["name"]
        validate_password(
            password, User(username=spec["username"], first_name=first, last_name=last, email=_email(spec))
        )
    hashed = make_password(password)  # hashed once: one slow hash instead of one per user
    groups = {g.name: g for g in Group.objects.filter(name__in=permissions.ROLES)}
    facilities = {f.code: f for f in Facility.objects.all()}
    stations = {s.code: s for s in Station.objects.all()}
    courts = {c.code: c for c in Court.objects.all()}
    users = {}
    for spec in DEMO_USERS:
        first, last = spec["name"]
        superuser = spec.get("superuser", False)
        user, _ = User.objects.update_or_create(
            username=spec["username"],
            defaults={
                "first_name": first,
                "last_name": last,
                "email": _email(spec),
                "is_active": True,
                "is_staff": superuser,
                "is_superuser": superuser,
            },
        )
        user.password = hashed
        user.save(update_fields=["password"])
        user.groups.add(groups[spec["role"]])
        for code in spec.get("facilities", []):
            permissions.grant(user, facilities[code])
        for code in spec.get("stations", []):
            permissions.grant(user, stations[code])
        for code in spec.get("courts", []):
            permissions.grant(user, courts[code])
        users[user.username] = user
    return users


def _email(spec: dict) -> str:
    return f"{spec['username']}@demo.casetrail.invalid"


def first_holder(kind: str) -> dict[str, str]:
    """``{station or court code: username}`` of the first demo user granted it (kind "stations"/"courts")."""
    holders: dict[str, str] = {}
    for spec in DEMO_USERS:
        for code in spec.get(kind, []):
            holders.setdefault(code, spec["username"])
    return holders
