from hypothesis import given
from hypothesis import strategies as st

from common.audit_chain import GENESIS, chain_hash, first_broken


def _chain(records: list[dict]) -> list[tuple[int, dict, str]]:
    out, previous = [], GENESIS
    for seq, fields in enumerate(records):
        previous = chain_hash(previous, fields)
        out.append((seq, fields, previous))
    return out


RECORDS = [
    {"step": s, "actor": "ops", "tool": "snmpset", "n": i}
    for i, s in enumerate(["requested", "approved", "executed", "requested", "denied"])
]


def test_an_intact_chain_verifies():
    assert first_broken(_chain(RECORDS)) is None
    assert first_broken([]) is None


def test_an_edited_record_is_named():
    chain = _chain(RECORDS)
    seq, fields, stored = chain[2]
    chain[2] = (seq, dict(fields, actor="someone-else"), stored)
    broken = first_broken(chain)
    assert (broken.position, broken.seq) == (2, 2) and "hash" in broken.reason


def test_a_removed_record_is_named():
    chain = _chain(RECORDS)
    del chain[1]
    broken = first_broken(chain)
    assert (broken.position, broken.seq) == (1, 2) and "missing" in broken.reason


def test_rehashing_an_edit_still_breaks_the_next_record():
    chain = _chain(RECORDS)
    seq, fields, _ = chain[1]
    edited = dict(fields, step="executed")
    chain[1] = (seq, edited, chain_hash(chain[0][2], edited))
    assert first_broken(chain).seq == 2


def test_field_order_does_not_matter():
    assert chain_hash(GENESIS, {"a": 1, "b": 2}) == chain_hash(GENESIS, {"b": 2, "a": 1})


@given(
    st.lists(
        st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=8), max_size=4), min_size=1, max_size=20
    ),
    st.data(),
)
def test_any_single_edit_is_found_at_its_place(records, data):
    chain = _chain(records)
    where = data.draw(st.integers(0, len(chain) - 1))
    seq, fields, stored = chain[where]
    chain[where] = (seq, dict(fields, **{"\x00tamper": True}), stored)
    assert first_broken(chain).position == where
