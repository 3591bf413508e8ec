"""The desk's risk and compliance layer over the bounded advisor: position limit and execution
risk budget (`apply_controls`, the live session's hook), the `EXECUTION_ADVISOR_ENABLED` kill
switch, the advisor's verification plan on historical snapshots, and best-execution reports."""

from wmjax.desk._pipeline import KILL_SWITCH_REASON, choose, desk_advice
from wmjax.desk._replay import (
    ARMS,
    DEFAULT_POLICY,
    PROVENANCE_FIELDS,
    ArmResult,
    advice_stream,
    crn_uniforms,
    run_arm,
)
from wmjax.desk._risk import (
    SESSION_OPTIONAL,
    SESSION_REQUIRED,
    RiskLimits,
    advisor_enabled,
    apply_controls,
)
from wmjax.desk._snapshots import SnapshotConfig, Snapshots, daily_value_usd, lobster_snapshots
from wmjax.desk._verify import VerifyConfig, provenance_complete, verify_advisor

__all__ = [
    "ARMS",
    "DEFAULT_POLICY",
    "KILL_SWITCH_REASON",
    "PROVENANCE_FIELDS",
    "SESSION_OPTIONAL",
    "SESSION_REQUIRED",
    "ArmResult",
    "RiskLimits",
    "SnapshotConfig",
    "Snapshots",
    "VerifyConfig",
    "advice_stream",
    "advisor_enabled",
    "apply_controls",
    "choose",
    "crn_uniforms",
    "daily_value_usd",
    "desk_advice",
    "lobster_snapshots",
    "provenance_complete",
    "run_arm",
    "verify_advisor",
]
