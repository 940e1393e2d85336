"""Reference data shipped with Casetrail: the Western Cape, Cape Town metro first.

Plain lists of dicts, loaded (update_or_create by ``code``) by migration 0003; admins add more.
Facility codes are the HL7 MSH-4 sender codes. Names are real; the mapping of suburbs to SAPS
precincts and of stations to clusters follows the published precincts as far as we know them and
is meant to be corrected by the people who use it (see docs/demo.md).
"""

from django.utils.translation import gettext_noop

METRO = "city-of-cape-town"
WINELANDS = "cape-winelands"
OVERBERG = "overberg"
WEST_COAST = "west-coast"
GARDEN_ROUTE = "garden-route"
CENTRAL_KAROO = "central-karoo"

DISTRICTS = [
    {"code": METRO, "name": "City of Cape Town"},
    {"code": WINELANDS, "name": "Cape Winelands"},
    {"code": OVERBERG, "name": "Overberg"},
    {"code": WEST_COAST, "name": "West Coast"},
    {"code": GARDEN_ROUTE, "name": "Garden Route"},
    {"code": CENTRAL_KAROO, "name": "Central Karoo"},
]

# (code = HL7 MSH-4 sender code, name, kind, district, sub-district)
_FACILITIES = [
    ("groote-schuur", "Groote Schuur Hospital", "central", METRO, "Western"),
    ("tygerberg", "Tygerberg Hospital", "central", METRO, "Tygerberg"),
    ("red-cross", "Red Cross War Memorial Children's Hospital", "central", METRO, "Southern"),
    ("new-somerset", "New Somerset Hospital", "regional", METRO, "Western"),
    ("victoria-wynberg", "Victoria Hospital (Wynberg)", "district", METRO, "Southern"),
    ("mitchells-plain-dh", "Mitchells Plain District Hospital", "district", METRO, "Mitchells Plain"),
    ("khayelitsha-dh", "Khayelitsha District Hospital", "district", METRO, "Khayelitsha"),
    ("karl-bremer", "Karl Bremer Hospital", "district", METRO, "Tygerberg"),
    ("eerste-river", "Eerste River Hospital", "district", METRO, "Eastern"),
    ("helderberg", "Helderberg Hospital", "district", METRO, "Eastern"),
    ("wesfleur", "Wesfleur Hospital (Atlantis)", "district", METRO, "Western"),
    ("false-bay", "False Bay Hospital", "district", METRO, "Southern"),
    ("heideveld-ec", "Heideveld Emergency Centre", "chc", METRO, "Klipfontein"),
    ("hanover-park-chc", "Hanover Park Community Health Centre", "chc", METRO, "Klipfontein"),
    ("gugulethu-chc", "Gugulethu Community Health Centre", "chc", METRO, "Klipfontein"),
    ("vanguard-chc", "Vanguard Community Health Centre", "chc", METRO, "Klipfontein"),
    ("delft-chc", "Delft Community Health Centre", "chc", METRO, "Tygerberg"),
    ("elsies-river-chc", "Elsies River Community Health Centre", "chc", METRO, "Tygerberg"),
    ("mitchells-plain-chc", "Mitchells Plain Community Health Centre", "chc", METRO, "Mitchells Plain"),
    ("kraaifontein-chc", "Kraaifontein Community Health Centre", "chc", METRO, "Northern"),
    (
        "michael-mapongwana-chc",
        "Michael Mapongwana Community Health Centre",
        "chc",
        METRO,
        "Khayelitsha",
    ),
    ("khayelitsha-site-b-chc", "Khayelitsha (Site B) Community Health Centre", "chc", METRO, "Khayelitsha"),
    ("retreat-chc", "Retreat Community Health Centre", "chc", METRO, "Southern"),
    ("paarl", "Paarl Hospital", "regional", WINELANDS, "Drakenstein"),
    ("worcester", "Worcester Hospital", "regional", WINELANDS, "Breede Valley"),
    ("stellenbosch", "Stellenbosch Hospital", "district", WINELANDS, "Stellenbosch"),
    ("george", "George Hospital", "regional", GARDEN_ROUTE, "George"),
    ("knysna", "Knysna Hospital", "district", GARDEN_ROUTE, "Knysna"),
    ("swellendam", "Swellendam Hospital", "district", OVERBERG, "Swellendam"),
    ("caledon", "Caledon Hospital", "district", OVERBERG, "Theewaterskloof"),
    ("vredenburg", "Vredenburg Hospital", "district", WEST_COAST, "Saldanha Bay"),
    ("beaufort-west", "Beaufort West Hospital", "district", CENTRAL_KAROO, "Beaufort West"),
]
FACILITIES = [
    {"code": c, "name": n, "kind": k, "district": d, "sub_district": s} for c, n, k, d, s in _FACILITIES
]

# SAPS stations by cluster: (code, name)
_CLUSTERS = {
    ("Mitchells Plain", METRO): [
        ("mitchells-plain", "Mitchells Plain"),
        ("lentegeur", "Lentegeur"),
        ("strandfontein", "Strandfontein"),
        ("steenberg", "Steenberg"),
    ],
    ("Nyanga", METRO): [
        ("nyanga", "Nyanga"),
        ("gugulethu", "Gugulethu"),
        ("philippi", "Philippi"),
        ("philippi-east", "Philippi East"),
        ("manenberg", "Manenberg"),
        ("langa", "Langa"),
    ],
    ("Khayelitsha", METRO): [
        ("khayelitsha", "Khayelitsha"),
        ("harare", "Harare"),
        ("lingelethu-west", "Lingelethu West"),
        ("kleinvlei", "Kleinvlei"),
        ("macassar", "Macassar"),
    ],
    ("Bellville", METRO): [
        ("bellville", "Bellville"),
        ("bellville-south", "Bellville South"),
        ("belhar", "Belhar"),
        ("delft", "Delft"),
        ("bishop-lavis", "Bishop Lavis"),
        ("elsies-river", "Elsies River"),
        ("ravensmead", "Ravensmead"),
        ("kraaifontein", "Kraaifontein"),
        ("mfuleni", "Mfuleni"),
        ("kuils-river", "Kuils River"),
        ("parow", "Parow"),
        ("goodwood", "Goodwood"),
    ],
    ("Cape Town", METRO): [
        ("cape-town-central", "Cape Town Central"),
        ("woodstock", "Woodstock"),
        ("athlone", "Athlone"),
        ("kensington", "Kensington"),
        ("grassy-park", "Grassy Park"),
        ("wynberg", "Wynberg"),
        ("mowbray", "Mowbray"),
        ("sea-point", "Sea Point"),
        ("lansdowne", "Lansdowne"),
        ("claremont", "Claremont"),
        ("muizenberg", "Muizenberg"),
        ("ocean-view", "Ocean View"),
    ],
    ("Paarl", WINELANDS): [
        ("paarl", "Paarl"),
        ("paarl-east", "Paarl East"),
        ("mbekweni", "Mbekweni"),
        ("wellington", "Wellington"),
    ],
    ("Worcester", WINELANDS): [("worcester", "Worcester"), ("zwelethemba", "Zwelethemba")],
    ("Stellenbosch", WINELANDS): [("stellenbosch", "Stellenbosch")],
    ("George", GARDEN_ROUTE): [
        ("george", "George"),
        ("thembalethu", "Thembalethu"),
        ("conville", "Conville"),
    ],
    ("Beaufort West", CENTRAL_KAROO): [("beaufort-west", "Beaufort West")],
    ("Vredenburg", WEST_COAST): [("vredenburg", "Vredenburg")],
}
STATIONS = [
    {"code": code, "name": name, "cluster": cluster, "district": district}
    for (cluster, district), stations in _CLUSTERS.items()
    for code, name in stations
]

# (code, name, level, district)
_COURTS = [
    ("mitchells-plain-district", "Mitchells Plain Magistrate's Court", "district", METRO),
    ("mitchells-plain-regional", "Mitchells Plain Regional Court", "regional", METRO),
    ("wynberg-district", "Wynberg Magistrate's Court", "district", METRO),
    ("wynberg-regional", "Wynberg Regional Court", "regional", METRO),
    ("athlone-district", "Athlone Magistrate's Court", "district", METRO),
    ("bellville-district", "Bellville Magistrate's Court", "district", METRO),
    ("bellville-regional", "Bellville Regional Court", "regional", METRO),
    ("blue-downs-district", "Blue Downs Magistrate's Court", "district", METRO),
    ("khayelitsha-district", "Khayelitsha Magistrate's Court", "district", METRO),
    ("khayelitsha-regional", "Khayelitsha Regional Court", "regional", METRO),
    ("goodwood-district", "Goodwood Magistrate's Court", "district", METRO),
    ("kuils-river-district", "Kuils River Magistrate's Court", "district", METRO),
    ("cape-town-district", "Cape Town Magistrate's Court", "district", METRO),
    ("cape-town-regional", "Cape Town Regional Court", "regional", METRO),
    ("wc-high-court", "Western Cape High Court (Cape Town)", "high", METRO),
    ("paarl-district", "Paarl Magistrate's Court", "district", WINELANDS),
    ("paarl-regional", "Paarl Regional Court", "regional", WINELANDS),
    ("stellenbosch-district", "Stellenbosch Magistrate's Court", "district", WINELANDS),
    ("worcester-district", "Worcester Magistrate's Court", "district", WINELANDS),
    ("worcester-regional", "Worcester Regional Court", "regional", WINELANDS),
    ("george-district", "George Magistrate's Court", "district", GARDEN_ROUTE),
    ("george-regional", "George Regional Court", "regional", GARDEN_ROUTE),
    ("vredenburg-district", "Vredenburg Magistrate's Court", "district", WEST_COAST),
    ("beaufort-west-district", "Beaufort West Magistrate's Court", "district", CENTRAL_KAROO),
]
COURTS = [{"code": c, "name": n, "level": lvl, "district": d} for c, n, lvl, d in _COURTS]

HIGH_COURT = "wc-high-court"

# Where a station's matters go first (district court) and where serious ones are tried (regional
# court); murders of several accused may go on to the High Court.
STATION_COURTS = {
    "mitchells-plain": ("mitchells-plain-district", "mitchells-plain-regional"),
    "lentegeur": ("mitchells-plain-district", "mitchells-plain-regional"),
    "strandfontein": ("mitchells-plain-district", "mitchells-plain-regional"),
    "steenberg": ("wynberg-district", "wynberg-regional"),
    "nyanga": ("athlone-district", "wynberg-regional"),
    "gugulethu": ("athlone-district", "wynberg-regional"),
    "philippi": ("athlone-district", "wynberg-regional"),
    "philippi-east": ("mitchells-plain-district", "mitchells-plain-regional"),
    "manenberg": ("athlone-district", "wynberg-regional"),
    "langa": ("athlone-district", "cape-town-regional"),
    "khayelitsha": ("khayelitsha-district", "khayelitsha-regional"),
    "harare": ("khayelitsha-district", "khayelitsha-regional"),
    "lingelethu-west": ("khayelitsha-district", "khayelitsha-regional"),
    "kleinvlei": ("blue-downs-district", "khayelitsha-regional"),
    "macassar": ("khayelitsha-district", "khayelitsha-regional"),
    "bellville": ("bellville-district", "bellville-regional"),
    "bellville-south": ("bellville-district", "bellville-regional"),
    "belhar": ("bellville-district", "bellville-regional"),
    "delft": ("blue-downs-district", "bellville-regional"),
    "bishop-lavis": ("goodwood-district", "bellville-regional"),
    "elsies-river": ("goodwood-district", "bellville-regional"),
    "ravensmead": ("goodwood-district", "bellville-regional"),
    "kraaifontein": ("bellville-district", "bellville-regional"),
    "mfuleni": ("blue-downs-district", "khayelitsha-regional"),
    "kuils-river": ("kuils-river-district", "bellville-regional"),
    "parow": ("bellville-district", "bellville-regional"),
    "goodwood": ("goodwood-district", "bellville-regional"),
    "cape-town-central": ("cape-town-district", "cape-town-regional"),
    "woodstock": ("cape-town-district", "cape-town-regional"),
    "athlone": ("athlone-district", "wynberg-regional"),
    "kensington": ("goodwood-district", "cape-town-regional"),
    "grassy-park": ("wynberg-district", "wynberg-regional"),
    "wynberg": ("wynberg-district", "wynberg-regional"),
    "mowbray": ("cape-town-district", "cape-town-regional"),
    "sea-point": ("cape-town-district", "cape-town-regional"),
    "lansdowne": ("athlone-district", "wynberg-regional"),
    "claremont": ("wynberg-district", "wynberg-regional"),
    "muizenberg": ("wynberg-district", "wynberg-regional"),
    "ocean-view": ("wynberg-district", "wynberg-regional"),
    "paarl": ("paarl-district", "paarl-regional"),
    "paarl-east": ("paarl-district", "paarl-regional"),
    "mbekweni": ("paarl-district", "paarl-regional"),
    "wellington": ("paarl-district", "paarl-regional"),
    "worcester": ("worcester-district", "worcester-regional"),
    "zwelethemba": ("worcester-district", "worcester-regional"),
    "stellenbosch": ("stellenbosch-district", "paarl-regional"),
    "george": ("george-district", "george-regional"),
    "thembalethu": ("george-district", "george-regional"),
    "conville": ("george-district", "george-regional"),
    "beaufort-west": ("beaufort-west-district", "george-regional"),
    "vredenburg": ("vredenburg-district", "paarl-regional"),
}

# Suburbs and informal settlements by the SAPS precinct that holds them.
_SUBURBS = {
    "mitchells-plain": [
        "Tafelsig",
        "Beacon Valley",
        "Eastridge",
        "Rocklands",
        "Westridge",
        "Portland",
        "Woodlands",
    ],
    "lentegeur": ["Lentegeur", "Colorado Park", "Morgenster", "Mandalay"],
    "strandfontein": ["Strandfontein"],
    "steenberg": ["Steenberg", "Lavender Hill", "Seawinds", "Retreat", "Hillview"],
    "philippi": ["Hanover Park", "Philippi", "Sweet Home Farm"],
    "philippi-east": ["Samora Machel", "Lower Crossroads", "Marikana"],
    "nyanga": ["Nyanga", "Crossroads", "Browns Farm", "KTC"],
    "gugulethu": ["Gugulethu", "Kanana", "Barcelona"],
    "manenberg": ["Manenberg", "Heideveld", "Primrose Park"],
    "langa": ["Langa", "Joe Slovo Park"],
    "khayelitsha": ["Khayelitsha Site B", "Khayelitsha Site C", "Town Two", "Enkanini"],
    "harare": ["Harare", "Makhaza", "Kuyasa", "Monwabisi Park"],
    "lingelethu-west": ["Lingelethu West", "Ilitha Park", "Khaya"],
    "kleinvlei": ["Kleinvlei", "Forest Village"],
    "macassar": ["Macassar", "Sandvlei"],
    "bellville": ["Bellville CBD", "Boston"],
    "bellville-south": ["Bellville South", "Kasselsvlei"],
    "belhar": ["Belhar"],
    "delft": ["Delft", "Delft South", "Blikkiesdorp", "Leiden", "Voorbrug", "Eindhoven"],
    "bishop-lavis": ["Bishop Lavis", "Bonteheuwel", "Valhalla Park", "Netreg", "Kalksteenfontein"],
    "elsies-river": ["Elsies River", "Matroosfontein", "Adriaanse", "Leonsdale"],
    "ravensmead": ["Ravensmead", "Uitsig"],
    "kraaifontein": ["Kraaifontein", "Wallacedene", "Bloekombos", "Scottsdene"],
    "mfuleni": ["Mfuleni", "Blue Downs", "Eerste River"],
    "kuils-river": ["Kuils River", "Sarepta", "Highbury"],
    "parow": ["Parow", "Parow Valley"],
    "goodwood": ["Goodwood", "Vasco Estate"],
    "cape-town-central": ["Cape Town CBD", "Bo-Kaap", "Gardens", "District Six"],
    "woodstock": ["Woodstock", "Salt River", "Walmer Estate"],
    "athlone": ["Athlone", "Bridgetown", "Silvertown", "Kewtown"],
    "kensington": ["Kensington", "Factreton"],
    "grassy-park": ["Grassy Park", "Lotus River", "Parkwood", "Pelican Park"],
    "wynberg": ["Wynberg", "Plumstead"],
    "mowbray": ["Mowbray", "Observatory"],
    "sea-point": ["Sea Point", "Green Point"],
    "lansdowne": ["Lansdowne", "Crawford"],
    "claremont": ["Claremont", "Kenilworth"],
    "muizenberg": ["Muizenberg", "Vrygrond", "Capricorn"],
    "ocean-view": ["Ocean View", "Masiphumelele"],
    "paarl": ["Paarl"],
    "paarl-east": ["Paarl East", "Chicago (Paarl)"],
    "mbekweni": ["Mbekweni"],
    "wellington": ["Wellington"],
    "worcester": ["Worcester", "Avian Park", "Riverview"],
    "zwelethemba": ["Zwelethemba"],
    "stellenbosch": ["Stellenbosch", "Kayamandi", "Cloetesville", "Idas Valley"],
    "george": ["George", "Pacaltsdorp"],
    "thembalethu": ["Thembalethu"],
    "conville": ["Conville", "Borcherds", "Rosedale"],
    "beaufort-west": ["Beaufort West", "Kwa-Mandlenkosi"],
    "vredenburg": ["Vredenburg", "Louwville"],
}


def slug(name: str) -> str:
    """``"Chicago (Paarl)"`` → ``"chicago-paarl"``: the code a suburb is known by."""
    cleaned = "".join(ch if ch.isalnum() else " " for ch in name.lower())
    return "-".join(cleaned.split())


SUBURBS = [
    {"code": slug(name), "name": name, "station": station}
    for station, names in _SUBURBS.items()
    for name in names
]

# Offence categories, exactly the codes of DESIGN.md; the names are translated where shown (Offence.__str__).
OFFENCES = [
    {"code": "murder", "name": gettext_noop("Murder")},
    {"code": "attempted_murder", "name": gettext_noop("Attempted murder")},
    {"code": "assault_gbh", "name": gettext_noop("Assault with intent to do grievous bodily harm")},
    {"code": "common_assault", "name": gettext_noop("Common assault")},
    {"code": "sexual_offence", "name": gettext_noop("Sexual offence")},
    {"code": "robbery_aggravated", "name": gettext_noop("Robbery with aggravating circumstances")},
    {"code": "other", "name": gettext_noop("Other")},
]

# Suburbs where gang violence drives the firearm share (used by the demo data and worth knowing).
GANG_AFFECTED_SUBURBS = frozenset(
    {
        "tafelsig",
        "beacon-valley",
        "eastridge",
        "lentegeur",
        "hanover-park",
        "manenberg",
        "heideveld",
        "bonteheuwel",
        "bishop-lavis",
        "valhalla-park",
        "elsies-river",
        "ravensmead",
        "uitsig",
        "lavender-hill",
        "steenberg",
        "seawinds",
        "delft",
        "nyanga",
        "philippi",
        "kraaifontein",
        "scottsdene",
        "athlone",
        "bridgetown",
    }
)


def load(apps) -> None:
    """Create or update every reference row by code (idempotent); used by migration 0003."""
    District = apps.get_model("casework", "District")
    Facility = apps.get_model("casework", "Facility")
    Station = apps.get_model("casework", "Station")
    Court = apps.get_model("casework", "Court")
    Suburb = apps.get_model("casework", "Suburb")
    Offence = apps.get_model("casework", "Offence")

    districts = {}
    for row in DISTRICTS:
        districts[row["code"]], _ = District.objects.update_or_create(
            code=row["code"], defaults={"name": row["name"]}
        )
    for row in FACILITIES:
        Facility.objects.update_or_create(
            code=row["code"], defaults={**row, "district": districts[row["district"]]}
        )
    stations = {}
    for row in STATIONS:
        stations[row["code"]], _ = Station.objects.update_or_create(
            code=row["code"], defaults={**row, "district": districts[row["district"]]}
        )
    for row in COURTS:
        Court.objects.update_or_create(
            code=row["code"], defaults={**row, "district": districts[row["district"]]}
        )
    for row in SUBURBS:
        Suburb.objects.update_or_create(
            code=row["code"], defaults={**row, "station": stations[row["station"]]}
        )
    for row in OFFENCES:
        Offence.objects.update_or_create(code=row["code"], defaults={"name": row["name"]})
    if any(f.name == "stations" for f in Court._meta.get_fields()):  # from migration 0005 on
        load_court_stations(apps)


def load_court_stations(apps) -> None:
    """Which stations each shipped court serves, from STATION_COURTS (adds, never removes: an
    admin's own additions stay). Used by migration 0005 and by ``load``."""
    Station = apps.get_model("casework", "Station")
    Court = apps.get_model("casework", "Court")
    stations = {s.code: s for s in Station.objects.filter(code__in=STATION_COURTS)}
    courts = {
        c.code: c
        for c in Court.objects.filter(code__in={c for pair in STATION_COURTS.values() for c in pair})
    }
    for station_code, court_codes in STATION_COURTS.items():
        station = stations.get(station_code)
        if station is None:
            continue
        for code in court_codes:
            if code in courts:
                courts[code].stations.add(station)
