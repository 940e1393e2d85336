"""The hospital intake, room by room (docs/intake.md):

- ``receive``: channels (HL7 v2 single and batch, refusals, FHIR, CSV, the form) to a stored inbox
  row and the sender's answer; with ``store``, the MLLP listener's interface.
- ``store``: the inbox row, the one INSERT (also on the listener's connections), COPY, facilities.
- ``process``: claim stored messages and write what they say, in one transaction per batch.
- ``admissions``: admissions and identities from Records, one by one or in bulk.
- ``incidents``: the joining rule (2 hours, same suburb and mechanism), its locks and index.
- ``csv``: CSV files staged at upload and processed set-based.
"""
