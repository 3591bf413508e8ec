"""The desk's risk and compliance layer over the bounded advisor: position limit and execution
risk budget (`apply_controls`, the live session's hook), the `EXECUTION_ADVISOR_ENABLED` kill
switch, the advisor's verification plan on historical snapshots, and best-execution reports."""

from wmjax.desk._best_execution import (
    PERIODS,
    SIZE_BUCKETS,
    best_execution_report,
    period_key,
    size_bucket,
)
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
from wmjax.desk._report_html import report_html
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
    "PERIODS",
    "PROVENANCE_FIELDS",
    "SESSION_OPTIONAL",
    "SESSION_REQUIRED",
    "SIZE_BUCKETS",
    "ArmResult",
    "RiskLimits",
    "SnapshotConfig",
    "Snapshots",
    "VerifyConfig",
    "advice_stream",
    "advisor_enabled",
    "apply_controls",
    "best_execution_report",
    "choose",
    "crn_uniforms",
    "daily_value_usd",
    "desk_advice",
    "lobster_snapshots",
    "period_key",
    "provenance_complete",
    "report_html",
    "run_arm",
    "size_bucket",
    "verify_advisor",
]
