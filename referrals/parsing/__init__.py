"""From what a hospital sends to one ``Record``: ``common`` (the record, errors, ICD-10 and value
rules), ``hl7`` (HL7 v2 ADT and the ACK), ``fhir`` (FHIR R4 bundles), ``csv`` (uploads).

Pure functions, no database: each raises ``IntakeError`` naming the field or element that is
wrong. Looking things up (facility, suburb) is the intake's job. See docs/intake.md.
"""

from .common import IntakeError, Record, has_assault_code, is_assault
from .csv import CSV_COLUMNS, CSV_HEADER

__all__ = ["CSV_COLUMNS", "CSV_HEADER", "IntakeError", "Record", "has_assault_code", "is_assault"]
