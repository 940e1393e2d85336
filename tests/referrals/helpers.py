"""Builders for what hospitals send: HL7 v2 ADT messages, FHIR bundles, CSV files."""

import json
from datetime import datetime, timedelta

from django.utils import timezone


def ts(dt: datetime) -> str:
    return timezone.localtime(dt).strftime("%Y%m%d%H%M%S")


def adt(
    *,
    facility="tygerberg",
    control="MSG0001",
    event="A04",
    visit="V0001",
    arrival=None,
    patient_id="0105125800083",
    folder="77120",
    name="Doe^Jo",
    dob="20010512",
    sex="F",
    codes=("S31.1", "X99.0"),
    obx=None,
    acc=None,
    patient_class="E",
    extra_segments=(),
) -> str:
    """A realistic ADT message per DESIGN.md's profile; segments end with CR."""
    arrival = arrival or (timezone.now() - timedelta(hours=1))
    obx = {"TRIAGE": "YELLOW", "PLACE_TYPE": "street", "SUBURB": "", "ROLE": "victim"} if obx is None else obx
    pid3 = "~".join(
        p
        for p in [
            f"{folder}^^^{facility}^MR" if folder else "",
            f"{patient_id}^^^ZAF^NI" if patient_id else "",
        ]
        if p
    )
    pv1 = ["PV1", "1", patient_class, f"EC^^^{facility}"] + [""] * 15 + [visit] + [""] * 24 + [ts(arrival)]
    segs = [
        f"MSH|^~\\&|HECTIS|{facility}|CASETRAIL|WCG|{ts(timezone.now())}||ADT^{event}^ADT_A01|{control}|P|2.5",
        f"EVN|{event}|{ts(timezone.now())}",
        f"PID|1||{pid3}||{name}||{dob}|{sex}",
        "|".join(pv1),
    ]
    for i, code in enumerate(codes, start=1):
        segs.append(f"DG1|{i}||{code}^^I10||{ts(arrival)[:8]}|F")
    if acc:
        segs.append(acc)
    for i, (key, value) in enumerate(obx.items(), start=1):
        if value != "":
            segs.append(f"OBX|{i}|CE|{key}^{key}^CASETRAIL||{value}||||||F")
    segs.extend(extra_segments)
    return "\r".join(segs) + "\r"


def msa(ack: str) -> list[str]:
    """The MSA segment's fields: ['MSA', code, control id, text]."""
    seg = next(s for s in ack.split("\r") if s.startswith("MSA|"))
    return seg.split("|")


def err(ack: str) -> str:
    return next((s for s in ack.split("\r") if s.startswith("ERR|")), "")


def bundle(
    *,
    facility="tygerberg",
    visit="F0001",
    arrival=None,
    codes=("S21.1", "X99.1"),
    patient_id="0105125800083",
    name=("Jo", "Doe"),
    observations=None,
    bundle_id="B0001",
    encounter_class="EMER",
) -> dict:
    arrival = arrival or (timezone.now() - timedelta(hours=1))
    observations = (
        {"TRIAGE": "orange", "SUBURB": "", "ROLE": "victim"} if observations is None else observations
    )
    entries = [
        {
            "fullUrl": "urn:uuid:org",
            "resource": {"resourceType": "Organization", "identifier": [{"value": facility}]},
        },
        {
            "fullUrl": "urn:uuid:pat",
            "resource": {
                "resourceType": "Patient",
                "identifier": [
                    {"system": "urn:za:id", "value": patient_id, "type": {"coding": [{"code": "NI"}]}}
                ],
                "name": [{"given": [name[0]], "family": name[1]}],
                "gender": "female",
                "birthDate": "2001-05-12",
            },
        },
        {
            "fullUrl": "urn:uuid:enc",
            "resource": {
                "resourceType": "Encounter",
                "status": "in-progress",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": encounter_class,
                },
                "identifier": [{"value": visit}],
                "subject": {"reference": "urn:uuid:pat"},
                "serviceProvider": {"reference": "urn:uuid:org"},
                "period": {"start": timezone.localtime(arrival).isoformat()},
            },
        },
    ]
    for i, code in enumerate(codes):
        entries.append(
            {
                "fullUrl": f"urn:uuid:cond{i}",
                "resource": {
                    "resourceType": "Condition",
                    "subject": {"reference": "urn:uuid:pat"},
                    "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": code}]},
                },
            }
        )
    for key, value in observations.items():
        if value == "":
            continue
        entries.append(
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "urn:casetrail", "code": key}]},
                    "valueString": value,
                }
            }
        )
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "identifier": {"system": "urn:hectis", "value": bundle_id},
        "entry": entries,
    }


def as_json(b: dict) -> str:
    return json.dumps(b)
