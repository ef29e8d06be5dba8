import pytest

from airflow_provider_garden.core.error_codes import Cause, codes_for
from airflow_provider_garden.core.status import ErrorCode
from airflow_provider_garden.core.store_space import (
    GIB,
    MIB,
    StoreSpace,
    default_store_bytes,
    etcd_quota,
    format_size,
    min_store_bytes,
    needed_bytes,
    parse_size,
    room_problem,
)


@pytest.mark.parametrize(
    ("text", "size"), [("1Gi", GIB), ("768Mi", 768 * MIB), ("512Mi", 512 * MIB), ("2Gi", 2 * GIB)]
)
def test_sizes_parse_in_binary_units(text: str, size: int) -> None:
    assert parse_size(text) == size
    assert format_size(size) == text


@pytest.mark.parametrize("text", ["1G", "0Mi", "1.5Gi", "", "Gi", "1Ti", "-1Gi", "01Gi"])
def test_other_sizes_are_refused_naming_the_rule(text: str) -> None:
    with pytest.raises(ValueError, match="whole number of Mi or Gi"):
        parse_size(text)


def test_etcd_quota_is_a_quarter_of_its_volume_and_the_store_three_quotas() -> None:
    assert etcd_quota(GIB) == 256 * MIB
    assert default_store_bytes(GIB) == 768 * MIB
    assert min_store_bytes(GIB) == 512 * MIB
    # the quota and the store grow together with the etcd volume
    assert etcd_quota(4 * GIB) == GIB
    assert default_store_bytes(4 * GIB) == 3 * GIB


def test_a_snapshot_needs_its_database_size_plus_headroom() -> None:
    assert needed_bytes(0) == 16 * MIB
    assert needed_bytes(100 * MIB) == 100 * MIB + 10 * MIB + 16 * MIB
    with pytest.raises(ValueError, match="negative"):
        needed_bytes(-1)


def test_free_is_the_lesser_of_the_claims_budget_and_the_disk() -> None:
    assert StoreSpace(capacity=768 * MIB, used=700 * MIB, disk_free=GIB).free == 68 * MIB
    assert StoreSpace(capacity=768 * MIB, used=0, disk_free=10 * MIB).free == 10 * MIB
    # files beyond the budget (local-path does not enforce it) leave nothing, not less
    assert StoreSpace(capacity=768 * MIB, used=800 * MIB, disk_free=GIB).free == 0


def test_a_store_with_room_backs_up() -> None:
    space = StoreSpace(capacity=768 * MIB, used=700 * MIB, disk_free=GIB)
    assert room_problem("/backups/p", space, db_size=20 * MIB) is None  # needs 38 MiB of 68


def test_a_full_store_fails_naming_the_store_and_the_sizes() -> None:
    space = StoreSpace(capacity=768 * MIB, used=760 * MIB, disk_free=GIB)
    problem = room_problem("local /backups/shoot--p--a", space, db_size=20 * MIB)
    assert problem is not None
    assert problem.cause is Cause.SNAPSTORE_FULL
    assert codes_for(problem) == (ErrorCode.INFRA_QUOTA_EXCEEDED,)
    message = str(problem)
    assert "local /backups/shoot--p--a" in message
    assert "needs 38Mi (etcd database 20Mi + headroom)" in message
    assert "free 8Mi (760Mi of 768Mi used)" in message
    assert "spec.backup.store.volumeSize" in message


def test_a_full_disk_under_the_store_is_named() -> None:
    space = StoreSpace(capacity=768 * MIB, used=0, disk_free=MIB)
    problem = room_problem("local /backups", space, db_size=0)
    assert problem is not None
    assert "free 1Mi (0Mi of 768Mi used, the disk under it 1Mi)" in str(problem)


@pytest.mark.parametrize(
    ("text", "size"),
    [("5Gi", 5 * GIB), ("768Mi", 768 * MIB), ("1G", 10**9), ("500M", 5 * 10**8), ("1024", 1024)],
)
def test_claim_quantities_parse(text: str, size: int) -> None:
    from airflow_provider_garden.core.store_space import parse_quantity

    assert parse_quantity(text) == size


def test_a_fractional_claim_quantity_is_refused() -> None:
    from airflow_provider_garden.core.store_space import parse_quantity

    with pytest.raises(ValueError, match="whole-number storage quantity"):
        parse_quantity("1.5Gi")
