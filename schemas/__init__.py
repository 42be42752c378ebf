"""Data schemas shipped with ringebu-journal.

``noark5/``     the official Noark 5 v5.0 XSDs (Arkivverket), copied byte for byte; every
                arkivuttrekk carries them.
``fiks-arkiv/`` the KS Fiks Arkiv V2 schemas for arkivmelding.
``generic-import.schema.json``  the JSON Schema of the project's own JSON Lines import format.
"""

from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent
NOARK5_DIR = SCHEMA_DIR / "noark5"
FIKS_ARKIV_DIR = SCHEMA_DIR / "fiks-arkiv"
GENERIC_IMPORT_SCHEMA = SCHEMA_DIR / "generic-import.schema.json"
