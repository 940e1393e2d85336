"""The codes the design fixes (DESIGN.md, Interfaces): mechanisms, places, postponement and
removal reasons. Plain TextChoices, importable from ``casework.models`` too."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Mechanism(models.TextChoices):
    """Mechanism of injury, derived from the WHO ICD-10 external cause (X85–Y09)."""

    FIREARM = "firearm", _("Firearm")
    SHARP = "sharp", _("Sharp object")
    BLUNT = "blunt", _("Blunt object")
    BODILY_FORCE = "bodily_force", _("Bodily force")
    SEXUAL = "sexual", _("Sexual assault")
    STRANGULATION = "strangulation", _("Strangulation")
    BURN = "burn", _("Burn")
    POISONING = "poisoning", _("Poisoning")
    OTHER = "other", _("Other")


class PlaceType(models.TextChoices):
    HOME = "home", _("Home")
    STREET = "street", _("Street")
    TAVERN = "tavern", _("Tavern / shebeen")
    SCHOOL = "school", _("School")
    WORKPLACE = "workplace", _("Workplace")
    PUBLIC_TRANSPORT = "public_transport", _("Public transport")
    OTHER = "other", _("Other")


class PostponementReason(models.TextChoices):
    DOCKET_NOT_AT_COURT = "docket_not_at_court", _("Docket not at court")
    FURTHER_INVESTIGATION = "further_investigation", _("Further investigation")
    FORENSIC_REPORT_OUTSTANDING = "forensic_report_outstanding", _("Forensic report outstanding")
    DEFENCE_NOT_READY = "defence_not_ready", _("Defence not ready")
    ACCUSED_ABSENT = "accused_absent", _("Accused absent")
    ACCUSED_NOT_BROUGHT = "accused_not_brought_from_custody", _("Accused not brought from custody")
    WITNESS_ABSENT = "witness_absent", _("Witness absent")
    COURT_ROLL_FULL = "court_roll_full", _("Court roll full")
    LEGAL_AID = "legal_aid", _("Legal aid")
    OTHER = "other", _("Other")


class RemovalReason(models.TextChoices):
    """Why a matter was withdrawn or struck off the roll."""

    COMPLAINANT_WITHDREW = "complainant_withdrew", _("Complainant withdrew")
    WITNESS_UNAVAILABLE = "witness_unavailable", _("Witness unavailable")
    WITNESS_INTIMIDATED = "witness_intimidated", _("Witness intimidated")
    INSUFFICIENT_EVIDENCE = "insufficient_evidence", _("Insufficient evidence")
    ACCUSED_NOT_TRACED = "accused_not_traced", _("Accused not traced")
    FURTHER_INVESTIGATION = "further_investigation", _("Further investigation")
    OTHER = "other", _("Other")
    INVESTIGATION_INCOMPLETE = "investigation_incomplete", _("Investigation incomplete")
    DOCKET_NOT_AT_COURT = "docket_not_at_court", _("Docket not at court")
    FORENSIC_REPORT_OUTSTANDING = "forensic_report_outstanding", _("Forensic report outstanding")
    WITNESS_NOT_SUBPOENAED = "witness_not_subpoenaed", _("Witness not subpoenaed")
    DETENTION_48H_EXCEEDED = "detention_48h_exceeded", _("48-hour rule exceeded")
    DEFECTIVE_SERVICE = "defective_service", _("Defective service")
    POLICE_WITNESS_ABSENT = "police_witness_absent", _("Police witness absent")


# The reasons the court-watching unit attributes to police failures and reports to SAPS quarterly.
POLICE_ATTRIBUTABLE_REASONS = frozenset(
    {
        RemovalReason.INVESTIGATION_INCOMPLETE,
        RemovalReason.DOCKET_NOT_AT_COURT,
        RemovalReason.FORENSIC_REPORT_OUTSTANDING,
        RemovalReason.WITNESS_NOT_SUBPOENAED,
        RemovalReason.DETENTION_48H_EXCEEDED,
        RemovalReason.DEFECTIVE_SERVICE,
        RemovalReason.POLICE_WITNESS_ABSENT,
    }
)
