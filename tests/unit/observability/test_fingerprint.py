"""Statement fingerprints carry no values and group statements that differ only in values."""

from __future__ import annotations

from datalayer.observability.fingerprint import fingerprint, normalize

SENTINEL_EMAIL = "sentinel.fp@example.org"


def test_literals_and_placeholders_become_question_marks() -> None:
    sql = (
        "SELECT a FROM t WHERE x = %(x_1)s AND z = 'o''k' AND w = E'a\\'b' AND v = $$body$$ "
        "AND n = 42.5e3 AND m = -3 AND p = $1 AND e = 'sentinel.fp@example.org' -- note"
    )
    assert normalize(sql) == (
        "SELECT a FROM t WHERE x = ? AND z = ? AND w = ? AND v = ? AND n = ? AND m = ? "
        "AND p = ? AND e = ?"
    )


def test_in_lists_of_any_length_share_one_fingerprint() -> None:
    one = fingerprint("SELECT id FROM users WHERE id IN (%(id_1_1)s)")
    three = fingerprint("SELECT id FROM users WHERE id IN (%(id_1_1)s, %(id_1_2)s, %(id_1_3)s)")
    literal = fingerprint("SELECT id FROM users WHERE id IN (1, 2, 3, 4)")
    assert one == three == literal
    assert one.sql == "SELECT id FROM users WHERE id IN (...)"
    assert len(one.id) == 16


def test_multi_row_values_and_arrays_collapse() -> None:
    two_rows = normalize("INSERT INTO t (a, b) VALUES (%(a_0)s, %(b_0)s), (%(a_1)s, %(b_1)s)")
    one_row = normalize("INSERT INTO t (a, b) VALUES (%(a_0)s, %(b_0)s)")
    assert two_rows == "INSERT INTO t (a, b) VALUES (...), ..."
    assert one_row == "INSERT INTO t (a, b) VALUES (...)"
    assert (
        normalize("SELECT 1 WHERE x = ANY(ARRAY[1, 2, 3])") == "SELECT ? WHERE x = ANY(ARRAY[...])"
    )


def test_identifiers_and_keywords_are_kept() -> None:
    sql = 'SELECT "Weird Col", t1.c2::vector(3) FROM "Users" t1 /* hint */ ORDER BY 1'
    assert normalize(sql) == 'SELECT "Weird Col", t1.c2::vector(...) FROM "Users" t1 ORDER BY ?'


def test_different_statements_differ() -> None:
    assert fingerprint("SELECT a FROM t").id != fingerprint("SELECT b FROM t").id


def test_no_value_survives() -> None:
    sql = f"ALTER ROLE app PASSWORD 'hunter2-sentinel'; SELECT '{SENTINEL_EMAIL}', 987654321"
    text = normalize(sql)
    assert "hunter2" not in text
    assert SENTINEL_EMAIL not in text
    assert "987654321" not in text
