"""External sign-ins: the company's Entra ID sign-in log (Microsoft Graph ``signIn`` resources).

The company's remote access is Azure VPN with Entra ID authentication, so every VPN connection
is an Entra sign-in to the *Azure VPN* application, beside the Office 365 sign-ins; the log is
exported from Microsoft Graph (``GET /auditLogs/signIns``) as one JSON page of ``value``\\ s.
Conditional access requires MFA for everyone, except an account left behind by a contractor
who never registered a second factor.

Background: each person's morning sign-ins from the office (Perth), VPN and Office sign-ins
from home on some days, a mistyped password now and then, one business trip to Sydney (fast,
but not impossibly so). The attack: the contractor's account on the VPN from the actor's VPN
exit in Singapore, single-factor, and never used inside; the phished employee's account from
Singapore 37 minutes after its owner signed in at the office (the push notification accepted).
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from seawall.demo.clock import DAYS, at
from seawall.demo.evidence import EvidenceFile, Manifest, write_text
from seawall.demo.scenario import FREMANTLE, PERTH, SYDNEY, Account, Place, Scenario
from seawall.demo.traffic import special_addresses

APPS = {
    "Azure VPN": "41b23e61-6c1e-4545-b367-cd054e0ed4b4",
    "Office 365 Exchange Online": "00000002-0000-0ff1-ce00-000000000000",
    "Microsoft Teams": "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
    "Office 365 SharePoint Online": "00000003-0000-0ff1-ce00-000000000000",
}
TENANT = "7c2b1f64-2d43-4f7e-9a11-5d0c4b8e2a90"


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _sign_in(
    rng: random.Random,
    time: datetime,
    user: Account,
    user_id: str,
    app: str,
    ip: str,
    place: Place,
    *,
    mfa: bool = True,
    error: int = 0,
    device: str = "",
    os_name: str = "Windows 10",
    client: str = "Mobile Apps and Desktop clients",
) -> dict[str, Any]:
    """One Graph ``signIn`` resource."""
    failure = {
        0: "Other.",
        50126: "Invalid username or password or Invalid on-premise username or password.",
    }
    record: dict[str, Any] = {
        "id": _uuid(rng),
        "createdDateTime": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "userDisplayName": user.display,
        "userPrincipalName": user.upn,
        "userId": user_id,
        "appId": APPS[app],
        "appDisplayName": app,
        "ipAddress": ip,
        "clientAppUsed": client,
        "correlationId": _uuid(rng),
        "conditionalAccessStatus": "success" if error == 0 else "notApplied",
        "isInteractive": True,
        "riskDetail": "none",
        "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "none",
        "riskState": "none",
        "riskEventTypes_v2": [],
        "resourceDisplayName": app,
        "resourceId": APPS[app],
        "status": {
            "errorCode": error,
            "failureReason": failure.get(error, "Other."),
            "additionalDetails": None
            if error
            else "MFA requirement satisfied by claim in the token"
            if mfa
            else None,
        },
        "deviceDetail": {
            "deviceId": "",
            "displayName": device,
            "operatingSystem": os_name,
            "browser": "" if client != "Browser" else "Edge 122.0.0",
            "isCompliant": bool(device),
            "isManaged": bool(device),
            "trustType": "Hybrid Azure AD joined" if device else "",
        },
        "location": {
            "city": place.city,
            "state": place.state,
            "countryOrRegion": place.country,
            "geoCoordinates": {
                "altitude": None,
                "latitude": place.latitude,
                "longitude": place.longitude,
            },
        },
        "appliedConditionalAccessPolicies": [
            {
                "id": "a4e5c1d2-9b3f-4e6a-8c7d-1f2e3d4c5b6a",
                "displayName": "Require MFA for all users",
                "enforcedGrantControls": ["Mfa"] if mfa else [],
                "enforcedSessionControls": [],
                "result": "success" if mfa else "notApplied",
            }
        ],
        "authenticationRequirement": "multiFactorAuthentication"
        if mfa
        else "singleFactorAuthentication",
    }
    if mfa and error == 0:
        record["mfaDetail"] = {"authMethod": "Mobile app notification", "authDetail": None}
    return record


def _homes(scenario: Scenario) -> list[str]:
    """Home broadband addresses: the low halves of two documentation ranges, minus the
    addresses that mean something else (visitors come from the high halves)."""
    special = special_addresses(scenario)
    return [
        f"{prefix}{host}"
        for prefix in ("198.51.100.", "203.0.113.")
        for host in range(2, 100)
        if f"{prefix}{host}" not in special
    ]


def _home(homes: list[str], index: int) -> tuple[str, Place]:
    """A person's home address (stable per person) and where it geolocates."""
    return homes[index % len(homes)], FREMANTLE if index % 3 == 0 else PERTH


def write_auth(scenario: Scenario, evidence: Path, manifest: Manifest) -> None:
    """Write ``evidence/auth/entra-signins.json`` (a Graph page)."""
    rng = scenario.rng("auth")
    infra = scenario.infra
    office = infra.office_egress
    # Object ids per account, drawn from the account's name (not from the shared stream, so
    # that the scale, which adds people, leaves everyone's id as it was).
    people = [*scenario.users, scenario.accounts["p.morgan"]]
    ids = {p.name: _uuid(random.Random(f"{scenario.seed}:user-id:{p.name}")) for p in people}
    records: list[tuple[datetime, dict[str, Any], str | None]] = []
    traveller = scenario.users[5]
    homes = _homes(scenario)
    for index, user in enumerate(scenario.users):
        station = scenario.workstation_of(user)[0]
        device = f"{station}.tidewater.example"
        home_ip, home = _home(homes, index)
        for day in range(DAYS):
            if day % 7 >= 5:
                continue
            start = at(day, 0, rng.randint(0, 80), rng.randint(0, 59))
            if user is traveller and day == 3:
                records.append(
                    (
                        start,
                        _sign_in(
                            rng,
                            start,
                            user,
                            ids[user.name],
                            "Microsoft Teams",
                            office,
                            PERTH,
                            device=device,
                        ),
                        None,
                    )
                )
                later = start + timedelta(hours=6, minutes=rng.randint(10, 40))
                records.append(
                    (
                        later,
                        _sign_in(
                            rng,
                            later,
                            user,
                            ids[user.name],
                            "Office 365 Exchange Online",
                            "203.0.113.244",
                            SYDNEY,
                            client="Browser",
                            os_name="iOS 17",
                        ),
                        None,
                    )
                )
                continue
            remote = rng.random() < 0.1
            ip, place = (home_ip, home) if remote else (office, PERTH)
            if remote:
                records.append(
                    (
                        start - timedelta(minutes=2),
                        _sign_in(
                            rng,
                            start - timedelta(minutes=2),
                            user,
                            ids[user.name],
                            "Azure VPN",
                            ip,
                            place,
                            device=device,
                        ),
                        None,
                    )
                )
            if rng.random() < 0.05:
                slip = start - timedelta(seconds=rng.randint(20, 90))
                records.append(
                    (
                        slip,
                        _sign_in(
                            rng,
                            slip,
                            user,
                            ids[user.name],
                            "Microsoft Teams",
                            ip,
                            place,
                            mfa=False,
                            error=50126,
                            device=device,
                        ),
                        None,
                    )
                )
            for app in rng.sample(list(APPS)[1:], rng.randint(1, 2)):
                when = start + timedelta(minutes=rng.randint(0, 300))
                records.append(
                    (
                        when,
                        _sign_in(rng, when, user, ids[user.name], app, ip, place, device=device),
                        None,
                    )
                )
    _attack(scenario, rng, ids, records)
    records.sort(key=lambda entry: (entry[0], entry[1]["id"]))
    page = {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns",
        "value": [record for _time, record, _item in records],
    }
    path = evidence / "auth" / "entra-signins.json"
    write_text(path, json.dumps(page, ensure_ascii=False, indent=2) + "\n", at(DAYS))
    for number, (_time, record, item) in enumerate(records):
        if item is not None:
            manifest.note(item, path, record=number, id=record["id"])
    relative = manifest.relative(path)
    manifest.add(
        EvidenceFile(
            relative,
            "auth",
            "entra",
            ["collect", "logs", relative],
            "log format entra",
            None,
            len(records),
            "Entra ID sign-ins (Microsoft Graph auditLogs/signIns), Azure VPN included",
        )
    )


def _attack(
    scenario: Scenario,
    rng: random.Random,
    ids: dict[str, str],
    records: list[tuple[datetime, dict[str, Any], str | None]],
) -> None:
    infra = scenario.infra
    times = scenario.times
    actor_ip, actor_place = infra.actor_vpn_exit, infra.actor_place
    contractor = scenario.accounts["p.morgan"]
    victim = scenario.accounts["d.tan"]
    station = scenario.workstation_of(victim)[0]
    item = "vpn-credential-mismatch"
    first = times["contractor_signin"]
    for when, error in (
        (first - timedelta(seconds=48), 50126),
        (first, 0),
        (times["exfil_start"] - timedelta(minutes=12), 0),
    ):
        records.append(
            (
                when,
                _sign_in(
                    rng,
                    when,
                    contractor,
                    ids[contractor.name],
                    "Azure VPN",
                    actor_ip,
                    actor_place,
                    mfa=False,
                    error=error,
                    device="",
                ),
                item if error == 0 else None,
            )
        )
    legit = times["legit_signin"]
    records.append(
        (
            legit,
            _sign_in(
                rng,
                legit,
                victim,
                ids[victim.name],
                "Microsoft Teams",
                infra.office_egress,
                PERTH,
                device=f"{station}.tidewater.example",
            ),
            "impossible-travel",
        )
    )
    actor = times["actor_signin"]
    records.append(
        (
            actor,
            _sign_in(
                rng, actor, victim, ids[victim.name], "Azure VPN", actor_ip, actor_place, device=""
            ),
            "impossible-travel",
        )
    )
