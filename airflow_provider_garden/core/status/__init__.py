"""The typed model of a Shoot's status (Gardener's ``ShootStatus`` shape).

Everything that reads or writes ``status`` converts through these records, so the
wire names (``lastOperation``, ``lastTransitionTime``, ...) live here and nowhere
else. Pure: no I/O, no clock; times are passed in.
"""

from __future__ import annotations

from .conditions import Condition, Constraint, merge_conditions, update_condition
from .enums import (
    ConditionStatus,
    ConditionType,
    ConstraintType,
    DrillState,
    ErrorCode,
    OperationState,
    OperationType,
)
from .patch import StatusPatch
from .records import (
    DESCRIPTION_LIMIT,
    LastBackup,
    LastError,
    LastMaintenance,
    LastOperation,
    LastRestoreDrill,
)
from .shoot import ShootStatus
from .wire import StatusError, format_time
from .workers import (
    RefilledMachine,
    ReplacedMachine,
    RolloutStatus,
    VersionCount,
    WorkerPoolStatus,
)

__all__ = [
    "DESCRIPTION_LIMIT",
    "Condition",
    "ConditionStatus",
    "ConditionType",
    "Constraint",
    "ConstraintType",
    "DrillState",
    "ErrorCode",
    "LastBackup",
    "LastError",
    "LastMaintenance",
    "LastOperation",
    "LastRestoreDrill",
    "OperationState",
    "OperationType",
    "RefilledMachine",
    "ReplacedMachine",
    "RolloutStatus",
    "ShootStatus",
    "StatusError",
    "StatusPatch",
    "VersionCount",
    "WorkerPoolStatus",
    "format_time",
    "merge_conditions",
    "update_condition",
]
