"""The organisation profile: who keeps this record.

One profile per database — name, kommunenummer, organisasjonsnummer, own domains, default
hjemmel, time zone — stored in the ``settings`` table under the keys ``organisation.<field>``.
A field not stored has its default, Ringebu kommune's values (:data:`DEFAULTS`), so a database
made before the profile existed reads exactly what the program used to have written into it.

Invariants:

* Read through :func:`read` (a connection) or :func:`profile` (an :class:`~ringebu_journal.app.App`)
  and nowhere else: the Noark 5 arkivskaper and the arkiv's name, the administrativ enhet and
  internal sender where an account has no unit, the archive copies' heading, the hjemmel of a
  screening that names none, the days numbers and exports are dated in, the judge's own domain
  and the compliance report's website all come from here.
* Every value is checked before it is stored (:func:`check`): kommunenummer four digits,
  organisasjonsnummer nine digits with a valid mod-11 check digit, own domains domain names,
  time zone one zoneinfo knows; a bad value is one line naming the key and what to give.
* Every change is audited as ``setting.change`` with the key and the old and new value.
* The entry points check their operation: :func:`show` ``settings.read``, :func:`set_value`
  ``settings.manage`` (admins). :func:`profile` is the other operations' own reading of the
  profile (an export, a report, a judge run) and checks nothing itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from .clock import now
from .db.tables import Setting
from .errors import UsageError

SETTINGS = Setting.__table__
PREFIX = "organisation."

#: the wording of the ground most screenings rest on (offentleglova § 13 with forvaltningsloven
#: § 13 første ledd nr. 1): the default hjemmel of a screening that names none
HJEMMEL_13 = "Offl. § 13 jf. fvl. § 13 første ledd nr. 1"


@dataclass(frozen=True)
class Organisation:
    name: str = "Ringebu kommune"
    kommunenummer: str = "3439"                 # Ringebu, Innlandet (from 2024)
    organisasjonsnummer: str = ""               # not set until an admin gives Enhetsregisteret's number
    own_domains: tuple[str, ...] = ("ringebu.kommune.no",)
    default_hjemmel: str = HJEMMEL_13
    time_zone: str = "Europe/Oslo"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def domain(self) -> str:
        """The main own domain (the website the municipality's posts link to)."""
        return self.own_domains[0]

    def as_dict(self) -> dict[str, str]:
        """The profile as stored and shown: every value a string (domains comma-separated)."""
        return {f.name: _text(getattr(self, f.name)) for f in fields(self)}


DEFAULTS = Organisation()
KEYS: tuple[str, ...] = tuple(f.name for f in fields(Organisation))

#: what each key holds, for `organisation show` and its help
DESCRIPTIONS = {
    "name": "the organisation's name (arkivskaper, archive copies, reports)",
    "kommunenummer": "four digits, e.g. 3439 (the arkivskaper's id in a Noark 5 package)",
    "organisasjonsnummer": "nine digits from Enhetsregisteret, with its check digit",
    "own_domains": "the organisation's own web domains, comma-separated; the first is its website",
    "default_hjemmel": "the hjemmel of a screening that names none",
    "time_zone": "the zone whose days journaldato, saksdato and --from/--to are in, e.g. Europe/Oslo",
}

_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ORGNR_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


def _text(value: Any) -> str:
    return ",".join(value) if isinstance(value, tuple) else str(value)


def orgnr_valid(number: str) -> bool:
    """Nine digits whose last is the mod-11 check digit of the first eight (Enhetsregisteret)."""
    if not re.fullmatch(r"\d{9}", number):
        return False
    rest = sum(int(d) * w for d, w in zip(number, _ORGNR_WEIGHTS)) % 11
    check = 0 if rest == 0 else 11 - rest
    return check != 10 and check == int(number[8])


def check(key: str, value: str) -> Any:
    """The value of ``key`` as the profile holds it, or UsageError (one line) when it is not valid."""
    if key not in KEYS:
        raise UsageError(f"unknown organisation key {key!r} — choose one of: {', '.join(KEYS)}")
    v = value.strip()
    if key == "name":
        if not v or len(v) > 200:
            raise UsageError("organisation name must be 1 to 200 characters — e.g. \"Ringebu kommune\"")
        return v
    if key == "kommunenummer":
        if not re.fullmatch(r"\d{4}", v):
            raise UsageError(f"kommunenummer {value!r} is not four digits — give e.g. 3439")
        return v
    if key == "organisasjonsnummer":
        digits = v.replace(" ", "")
        if not re.fullmatch(r"\d{9}", digits):
            raise UsageError(f"organisasjonsnummer {value!r} is not nine digits — give the number from "
                             "Enhetsregisteret (e.g. 974 760 673)")
        if not orgnr_valid(digits):
            raise UsageError(f"organisasjonsnummer {value!r} has a wrong check digit (mod 11) — check the "
                             "number in Enhetsregisteret")
        return digits
    if key == "own_domains":
        domains = tuple(d.strip().lower().strip(".") for d in v.split(",") if d.strip())
        bad = [d for d in domains if not _DOMAIN.match(d)]
        if not domains or bad:
            raise UsageError(f"own_domains {value!r}: {', '.join(bad) or 'nothing'} is not a domain name — give "
                             "e.g. ringebu.kommune.no (several comma-separated)")
        return tuple(dict.fromkeys(domains))
    if key == "default_hjemmel":
        if not v or len(v) > 200:
            raise UsageError("default_hjemmel must be 1 to 200 characters — e.g. \"" + HJEMMEL_13 + "\"")
        return v
    # time_zone
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError):
        raise UsageError(f"time_zone {value!r} is not a time zone this system knows — give an IANA name, "
                         "e.g. Europe/Oslo") from None
    return v


def read(conn: Connection) -> Organisation:
    """The profile stored in the database, each missing (or unreadable) field at its default."""
    rows = conn.execute(select(SETTINGS.c.key, SETTINGS.c.value).where(SETTINGS.c.key.like(PREFIX + "%"))).all()
    stored: dict[str, Any] = {}
    for key, value in rows:
        name = key[len(PREFIX):]
        if name in KEYS:
            try:
                stored[name] = check(name, value)
            except UsageError:
                continue            # written around the program: the default keeps the exports valid
    return replace(DEFAULTS, **stored)


def profile(app: Any) -> Organisation:
    """The profile of the app's database (the defaults when the database has no schema yet)."""
    try:
        with app.db.read() as conn:
            return read(conn)
    except SQLAlchemyError:     # no settings table yet (before `init`): the defaults
        return DEFAULTS


def show(app: Any) -> Organisation:
    """The profile as `organisation show` lists it, for whoever may read the settings."""
    app.require("settings.read")
    return profile(app)


@dataclass(frozen=True)
class Change:
    key: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def set_value(app: Any, key: str, value: str) -> Change:
    """Store one field of the profile; audited as ``setting.change`` (nothing is written when the
    value is the one in force)."""
    app.require("settings.manage")
    new = check(key, value)
    with app.db.write() as conn:
        current = read(conn)
        before, after = _text(getattr(current, key)), _text(new)
        if before == after:
            return Change(key, before, after)
        k = PREFIX + key
        exists = conn.execute(select(SETTINGS.c.key).where(SETTINGS.c.key == k)).first() is not None
        values = {"value": after, "updated_at": now(), "updated_by": app.actor}
        if exists:
            conn.execute(SETTINGS.update().where(SETTINGS.c.key == k).values(**values))
        else:
            conn.execute(SETTINGS.insert().values(key=k, **values))
        app.audit(conn, "setting.change", "setting", k, before={"value": before}, after={"value": after})
    return Change(key, before, after)
