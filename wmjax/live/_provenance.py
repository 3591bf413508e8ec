"""Provenance helpers of live advice: the kill switch, canonical hashes, the override reason
(the `reason` label of `execution_policy_override_total`) and the default controls hook."""

from __future__ import annotations

import hashlib
import json
import os

DISABLED_REASON = "disabled: EXECUTION_ADVISOR_ENABLED=false"


def advisor_enabled(environ=None) -> bool:
    """False when EXECUTION_ADVISOR_ENABLED is false/0/no/off (the kill switch)."""
    value = (os.environ if environ is None else environ).get("EXECUTION_ADVISOR_ENABLED", "true")
    return value.strip().lower() not in ("false", "0", "no", "off")


def digest(obj) -> str:
    """sha256 of `obj` as canonical JSON (sorted keys), hex."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def override_reason(advice: dict) -> str | None:
    """The metric label of what overrode the advisor's free choice (None: nothing)."""
    prov = advice["provenance"]
    if prov["fallback"]:
        reason = prov["fallback_reason"] or ""
        kind = reason.split(":")[0]
        return "advisor_disabled" if reason == DISABLED_REASON else f"fallback_{kind}"
    if prov.get("controls_reasons"):
        return "controls"
    return "limits_clip" if prov["override"] else None


def identity_controls(advice: dict, view: dict) -> tuple[dict, list]:
    """The default controls hook: no risk layer, nothing tightened."""
    return advice, []
