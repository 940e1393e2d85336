# ruff: noqa: E501  (one suburb a line reads best)
"""Where each shipped Cape Town metro suburb is: one point per suburb, and where that point comes from.

Loaded into ``Suburb.latitude`` / ``longitude`` / ``location_source`` by migration 0006; admins correct
and add points in the admin. No boundaries are shipped: no public source of suburb or precinct
polygons is reachable through the package registries, so the map draws a proportional symbol at each
point and says so (docs/reporting.md). Suburbs outside the metro have no point (the map is the metro's).
"""

CITY = (
    "City of Cape Town official planning-suburb point, as published in "
    "github.com/bewarren/data-visualisation, data/map_data.ts (commit 631dd07, 2023-12-11)"
)
CITY_MEAN = CITY + "; the mean of the points of the suburb's numbered parts"
BY_HAND = (
    "Approximate point placed by hand by the Casetrail developers from general knowledge of public "
    "maps, not from a cited dataset; verify"
)

# code → (latitude, longitude, source); the comment names the source's suburb.
LOCATIONS = {
    "tafelsig": (-34.0634, 18.6389, CITY),  # TAFELSIG
    "beacon-valley": (-34.0335, 18.6329, CITY),  # BEACON VALLEY
    "eastridge": (-34.0504, 18.6347, CITY),  # EASTRIDGE
    "rocklands": (-34.0620, 18.6153, CITY),  # ROCKLANDS
    "westridge": (-34.0454, 18.6046, CITY),  # WESTRIDGE - MITCHELLS PLAIN
    "portland": (-34.0587, 18.6120, CITY),  # PORTLAND
    "woodlands": (-34.0337, 18.5937, CITY),  # WOODLANDS
    "lentegeur": (-34.0338, 18.6152, CITY),  # LENTEGEUR
    "colorado-park": (-34.0250, 18.5839, CITY),  # COLORADO PARK
    "strandfontein": (-34.0695, 18.5530, CITY),  # STRANDFONTEIN
    "steenberg": (-34.0633, 18.4757, CITY),  # STEENBERG
    "lavender-hill": (-34.0682, 18.4849, CITY),  # LAVENDER HILL
    "seawinds": (-34.0782, 18.4805, CITY),  # SEAWINDS
    "retreat": (-34.0553, 18.4642, CITY),  # RETREAT
    "hanover-park": (-33.9914, 18.5309, CITY),  # HANOVER PARK
    "philippi": (-34.0027, 18.5916, CITY),  # PHILIPPI
    "nyanga": (-33.9848, 18.5763, CITY),  # NYANGA
    "crossroads": (-33.9851, 18.5884, CITY),  # CROSSROADS
    "gugulethu": (-33.9758, 18.5729, CITY),  # GUGULETU
    "manenberg": (-33.9911, 18.5550, CITY),  # MANENBERG
    "heideveld": (-33.9700, 18.5582, CITY),  # HEIDEVELD
    "langa": (-33.9428, 18.5275, CITY),  # LANGA
    "enkanini": (-34.0643, 18.7024, CITY),  # ENKANINI
    "harare": (-34.0554, 18.6777, CITY),  # HARARE
    "kuyasa": (-34.0613, 18.6909, CITY),  # KUYASA
    "monwabisi-park": (-34.0670, 18.6928, CITY),  # MONWABISI
    "ilitha-park": (-34.0522, 18.6623, CITY),  # ILITHA PARK
    "khaya": (-34.0343, 18.6546, CITY),  # KHAYA
    "kleinvlei": (-33.9877, 18.7078, CITY),  # KLEINVLEI TOWN
    "forest-village": (-34.0120, 18.6932, CITY),  # FOREST VILLAGE
    "macassar": (-34.0691, 18.7746, CITY),  # MACASSAR
    "sandvlei": (-34.0514, 18.7322, CITY),  # SANDVLEI
    "bellville-cbd": (-33.9023, 18.6274, CITY),  # BELLVILLE CBD
    "boston": (-33.8945, 18.6232, CITY),  # BOSTON
    "bellville-south": (-33.9179, 18.6469, CITY),  # BELLVILLE SOUTH
    "belhar": (-33.9461, 18.6364, CITY_MEAN),  # mean of BELHAR EXT … (23 points)
    "delft": (-33.9707, 18.6335, CITY_MEAN),  # mean of DELFT … (8 points)
    "delft-south": (-33.9957, 18.6320, CITY),  # DELFT SOUTH
    "leiden": (-33.9717, 18.6422, CITY),  # LEIDEN
    "voorbrug": (-33.9692, 18.6509, CITY),  # VOORBRUG
    "eindhoven": (-33.9825, 18.6470, CITY),  # EINDHOVEN
    "bishop-lavis": (-33.9458, 18.5923, CITY),  # BISHOP LAVIS
    "bonteheuwel": (-33.9498, 18.5478, CITY),  # BONTEHEUWEL
    "valhalla-park": (-33.9551, 18.5777, CITY),  # VALHALLA PARK
    "kalksteenfontein": (-33.9490, 18.5655, CITY),  # KALKSTEENFONTEIN
    "elsies-river": (-33.9229, 18.5663, CITY),  # ELSIES RIVER
    "matroosfontein": (-33.9390, 18.5685, CITY),  # MATROOSFONTEIN
    "adriaanse": (-33.9393, 18.5885, CITY),  # ADRIAANSE
    "leonsdale": (-33.9214, 18.5777, CITY),  # LEONSDALE
    "ravensmead": (-33.9284, 18.6025, CITY),  # RAVENSMEAD
    "uitsig": (-33.9326, 18.5999, CITY),  # UITSIG
    "kraaifontein": (-33.8189, 18.7071, CITY),  # KRAAIFONTEIN
    "wallacedene": (-33.8534, 18.7408, CITY),  # WALLACEDENE
    "bloekombos": (-33.8460, 18.7441, CITY),  # BLOEKOMBOS
    "scottsdene": (-33.8655, 18.7229, CITY),  # SCOTTSDENE
    "mfuleni": (-33.9957, 18.6729, CITY),  # MFULENI
    "blue-downs": (-33.9794, 18.6877, CITY),  # BLUE DOWNS CBD
    "eerste-river": (-34.0097, 18.7221, CITY),  # EERSTERIVIER
    "kuils-river": (-33.9531, 18.6892, CITY),  # KUILS RIVER COMMON
    "sarepta": (-33.9301, 18.6679, CITY),  # SAREPTA
    "highbury": (-33.9461, 18.6848, CITY),  # HIGHBURY
    "parow": (-33.9089, 18.5837, CITY),  # PAROW
    "parow-valley": (-33.9150, 18.5887, CITY),  # PAROW VALLEY
    "goodwood": (-33.9084, 18.5514, CITY),  # GOODWOOD ESTATE
    "vasco-estate": (-33.9052, 18.5619, CITY),  # VASCO ESTATE
    "cape-town-cbd": (-33.9233, 18.4174, CITY),  # CAPE TOWN CITY CENTRE
    "bo-kaap": (-33.9253, 18.4118, CITY),  # BO-KAAP
    "gardens": (-33.9411, 18.4009, CITY),  # GARDENS
    "district-six": (-33.9273, 18.4248, CITY),  # DISTRICT SIX
    "woodstock": (-33.9295, 18.4496, CITY),  # WOODSTOCK
    "salt-river": (-33.9334, 18.4627, CITY),  # SALT RIVER
    "athlone": (-33.9631, 18.5129, CITY),  # ATHLONE
    "bridgetown": (-33.9546, 18.5285, CITY),  # BRIDGETOWN
    "silvertown": (-33.9653, 18.5251, CITY),  # SILVERTOWN
    "kewtown": (-33.9587, 18.5149, CITY),  # KEWTOWN
    "kensington": (-33.9154, 18.5041, CITY),  # KENSINGTON
    "grassy-park": (-34.0563, 18.4950, CITY),  # GRASSY PARK
    "lotus-river": (-34.0273, 18.4975, CITY),  # LOTUS RIVER
    "parkwood": (-34.0325, 18.4977, CITY),  # PARKWOOD
    "wynberg": (-34.0108, 18.4776, CITY),  # WYNBERG
    "plumstead": (-34.0238, 18.4718, CITY),  # PLUMSTEAD
    "mowbray": (-33.9475, 18.4830, CITY),  # MOWBRAY
    "observatory": (-33.9346, 18.4717, CITY),  # OBSERVATORY
    "sea-point": (-33.9182, 18.3934, CITY),  # SEA POINT
    "green-point": (-33.9094, 18.4047, CITY),  # GREEN POINT
    "lansdowne": (-33.9922, 18.5052, CITY),  # LANSDOWNE
    "crawford": (-33.9762, 18.5029, CITY),  # CRAWFORD
    "claremont": (-33.9851, 18.4535, CITY),  # CLAREMONT
    "kenilworth": (-33.9924, 18.4737, CITY),  # KENILWORTH
    "muizenberg": (-34.1103, 18.4669, CITY),  # MUIZENBERG
    "vrygrond": (-34.0842, 18.4838, CITY),  # VRYGROND
    "ocean-view": (-34.1440, 18.3545, CITY),  # OCEAN VIEW
    # Not in that source (informal settlements, parts of larger suburbs) or a different place of the
    # same name there (Morgenster, Joe Slovo Park): placed by hand.
    "mandalay": (-34.0030, 18.6150, BY_HAND),
    "morgenster": (-34.0250, 18.6130, BY_HAND),
    "hillview": (-34.0710, 18.4900, BY_HAND),
    "sweet-home-farm": (-34.0000, 18.5450, BY_HAND),
    "samora-machel": (-34.0090, 18.5760, BY_HAND),
    "lower-crossroads": (-33.9960, 18.5970, BY_HAND),
    "marikana": (-34.0040, 18.5990, BY_HAND),
    "browns-farm": (-34.0010, 18.5850, BY_HAND),
    "ktc": (-33.9830, 18.5710, BY_HAND),
    "kanana": (-33.9720, 18.5850, BY_HAND),
    "barcelona": (-33.9650, 18.5810, BY_HAND),
    "primrose-park": (-33.9760, 18.5320, BY_HAND),
    "joe-slovo-park": (-33.9400, 18.5350, BY_HAND),
    "khayelitsha-site-b": (-34.0400, 18.6700, BY_HAND),
    "khayelitsha-site-c": (-34.0200, 18.6750, BY_HAND),
    "town-two": (-34.0450, 18.6800, BY_HAND),
    "makhaza": (-34.0640, 18.6650, BY_HAND),
    "lingelethu-west": (-34.0330, 18.6890, BY_HAND),
    "kasselsvlei": (-33.9300, 18.6390, BY_HAND),
    "blikkiesdorp": (-33.9740, 18.6580, BY_HAND),
    "netreg": (-33.9420, 18.5790, BY_HAND),
    "walmer-estate": (-33.9320, 18.4440, BY_HAND),
    "factreton": (-33.9160, 18.5140, BY_HAND),
    "pelican-park": (-34.0590, 18.5170, BY_HAND),
    "capricorn": (-34.0860, 18.4950, BY_HAND),
    "masiphumelele": (-34.1280, 18.3780, BY_HAND),
}


def load(apps) -> None:
    """Set each shipped suburb's point where it has none yet (an admin's correction stays)."""
    Suburb = apps.get_model("casework", "Suburb")
    for suburb in Suburb.objects.filter(code__in=LOCATIONS, latitude__isnull=True):
        suburb.latitude, suburb.longitude, suburb.location_source = LOCATIONS[suburb.code]
        suburb.save(update_fields=["latitude", "longitude", "location_source"])
