"""The words a Shoot's status is written in, after Gardener's ``core/v1beta1`` types.

Every state, operation type, condition type and error code the provider writes or
reads is a member here; the CRD's enums list the same values.
"""

from __future__ import annotations

import enum


class OperationType(enum.StrEnum):
    """``lastOperation.type``: what the last operation on the shoot was.

    A worker-pool rollout and the maintenance run report as ``Reconcile`` (they bring
    the shoot to its spec); ``Maintain`` stays accepted because the CRD allows it.
    """

    CREATE = "Create"
    RECONCILE = "Reconcile"
    DELETE = "Delete"
    RESTORE = "Restore"
    MAINTAIN = "Maintain"


class OperationState(enum.StrEnum):
    """``lastOperation.state`` (also ``lastMaintenance.state`` and a rollout's state).

    ``Error`` is retried (by the next run); ``Failed`` is not, until a person acts.
    """

    PROCESSING = "Processing"
    SUCCEEDED = "Succeeded"
    ERROR = "Error"
    FAILED = "Failed"
    PENDING = "Pending"
    ABORTED = "Aborted"

    @property
    def ended_badly(self) -> bool:
        return self in (OperationState.ERROR, OperationState.FAILED, OperationState.ABORTED)


class DrillState(enum.StrEnum):
    """``lastRestoreDrill.state``: a drill is a verdict, never in progress or retried."""

    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class ConditionType(enum.StrEnum):
    API_SERVER_AVAILABLE = "APIServerAvailable"
    CONTROL_PLANE_HEALTHY = "ControlPlaneHealthy"
    EVERY_NODE_READY = "EveryNodeReady"
    SYSTEM_COMPONENTS_HEALTHY = "SystemComponentsHealthy"


class ConstraintType(enum.StrEnum):
    """Facts that limit what may be done to a shoot (Gardener's ``status.constraints``)."""

    HIBERNATION_POSSIBLE = "HibernationPossible"
    MAINTENANCE_PRECONDITIONS_SATISFIED = "MaintenancePreconditionsSatisfied"
    CA_CERTIFICATE_VALIDITIES_ACCEPTABLE = "CACertificateValiditiesAcceptable"


class ConditionStatus(enum.StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"
    PROGRESSING = "Progressing"


class ErrorCode(enum.StrEnum):
    """Gardener's error codes: they tell whether retrying can help and who must act."""

    INFRA_UNAUTHENTICATED = "ERR_INFRA_UNAUTHENTICATED"
    INFRA_UNAUTHORIZED = "ERR_INFRA_UNAUTHORIZED"
    INFRA_QUOTA_EXCEEDED = "ERR_INFRA_QUOTA_EXCEEDED"
    INFRA_RATE_LIMITS_EXCEEDED = "ERR_INFRA_RATE_LIMITS_EXCEEDED"
    INFRA_DEPENDENCIES = "ERR_INFRA_DEPENDENCIES"
    RETRYABLE_INFRA_DEPENDENCIES = "ERR_RETRYABLE_INFRA_DEPENDENCIES"
    INFRA_RESOURCES_DEPLETED = "ERR_INFRA_RESOURCES_DEPLETED"
    CLEANUP_CLUSTER_RESOURCES = "ERR_CLEANUP_CLUSTER_RESOURCES"
    CONFIGURATION_PROBLEM = "ERR_CONFIGURATION_PROBLEM"
    RETRYABLE_CONFIGURATION_PROBLEM = "ERR_RETRYABLE_CONFIGURATION_PROBLEM"
    PROBLEMATIC_WEBHOOK = "ERR_PROBLEMATIC_WEBHOOK"
    # Not Gardener's: etcd's data directory is missing or older than its newest good
    # backup, and etcd was kept from starting on it (a restore must bring the data back).
    ETCD_DATA_LOST = "ERR_ETCD_DATA_LOST"

    @property
    def retryable(self) -> bool:
        """False when a retry cannot help: the spec or the credentials must change first."""
        return self not in _NON_RETRYABLE

    @property
    def user_error(self) -> bool:
        """True when the shoot's owner (not the operator of the fleet) can fix it."""
        return self not in _OPERATOR_ERRORS


_NON_RETRYABLE = frozenset(
    {
        ErrorCode.INFRA_UNAUTHENTICATED,
        ErrorCode.INFRA_UNAUTHORIZED,
        ErrorCode.INFRA_QUOTA_EXCEEDED,
        ErrorCode.INFRA_DEPENDENCIES,
        ErrorCode.CONFIGURATION_PROBLEM,
        ErrorCode.ETCD_DATA_LOST,
    }
)
_OPERATOR_ERRORS = frozenset(
    {ErrorCode.INFRA_RATE_LIMITS_EXCEEDED, ErrorCode.RETRYABLE_INFRA_DEPENDENCIES}
)
