"""The margin-watch index against a plain model: what a price reaches, and what is left after."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.index import WatchIndex

levels = st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.5, float("inf"), float("-inf")])
ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 6), levels),
        st.tuples(st.just("remove"), st.integers(0, 6), levels),
        st.tuples(st.just("reached"), st.just(0), st.floats(0.0, 3.0)),
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(at_or_above=st.booleans(), steps=ops)
def test_the_watch_index_behaves_like_a_dict_of_levels(at_or_above: bool, steps: list) -> None:  # type: ignore[type-arg]
    index = WatchIndex(at_or_above)
    model: dict[int, float] = {}
    for op, ident, value in steps:
        if op == "add":
            index.add(value, ident)
            model[ident] = value
        elif op == "remove":
            index.remove(value, ident)
            if model.get(ident) == value:
                del model[ident]
        else:
            hit = {i for i, level in model.items() if (level >= value if at_or_above else level <= value)}
            assert sorted(index.reached(value)) == sorted(hit)
            for i in hit:
                del model[i]
        assert index.live == model
        assert len(index.heap) <= 2 * len(model) + 65


def test_moving_a_watch_leaves_only_the_new_level() -> None:
    index = WatchIndex(at_or_above=True)  # reached when the price falls to the level
    index.add(1.0, 7)
    for step in range(1, 1001):
        index.remove(1.0 + (step - 1) / 10_000, 7)
        index.add(1.0 + step / 10_000, 7)
    assert index.live == {7: 1.1}
    assert len(index.heap) <= 66  # stale levels are dropped, not kept forever
    assert index.reached(1.2) == []
    assert index.reached(1.05) == [7]
    assert index.reached(0.5) == []  # taken out: reached once, until placed again
