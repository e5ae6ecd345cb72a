"""``ensure_system_log_partitions``: a row in the DEFAULT partition does not block its month."""

from __future__ import annotations

from sqlalchemy import text

from datalayer.db import Database

_INSERT = (
    "INSERT INTO system_logs (created_at, service, level, message) "
    "VALUES (date_trunc('month', now()) + make_interval(months => :months) + interval '3 days', "
    "'api', 'INFO', 'early')"
)


async def test_a_row_in_the_default_partition_moves_into_its_new_month(db: Database) -> None:
    async with db.write_engine.begin() as connection:
        await connection.execute(text(_INSERT), {"months": 3})
        created = await connection.scalar(text("SELECT ensure_system_log_partitions(4)"))
        placed = (
            await connection.execute(
                text("SELECT tableoid::regclass::text, message FROM system_logs")
            )
        ).one()
        in_default = await connection.scalar(text("SELECT count(*) FROM system_logs_default"))

    month = await _month_name(db, 3)
    assert created >= 2  # months 3 and 4 at least (the migration made the first ones)
    assert tuple(placed) == (f"system_logs_{month}", "early")
    assert in_default == 0


async def test_creating_partitions_twice_creates_nothing_the_second_time(db: Database) -> None:
    async with db.write_engine.begin() as connection:
        await connection.scalar(text("SELECT ensure_system_log_partitions(2)"))
        again = await connection.scalar(text("SELECT ensure_system_log_partitions(2)"))
    assert again == 0


async def _month_name(db: Database, months: int) -> str:
    async with db.write_engine.connect() as connection:
        return str(
            await connection.scalar(
                text(
                    "SELECT to_char(date_trunc('month', now()) + make_interval(months => :m), "
                    "'YYYYMM')"
                ),
                {"m": months},
            )
        )
