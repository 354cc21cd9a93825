"""prunekit.schedules: step-count aliases of prunekit.timing; values worked out by hand."""
import pytest

from prunekit import schedules, timing


def _events(s):
    plan = s.resolve(None)  # step times need no training length
    return dict(zip(plan.steps(), plan.targets()))


def test_gradual_values_by_hand():
    # s_t = 0.8 + (0.1 - 0.8) * (1 - (t - 10) / 40) ** 3, events every 10 steps from 10 to 50.
    s = schedules.Gradual(target=0.8, begin_step=10, end_step=50, frequency=10, initial=0.1)
    expected = {10: 0.1, 20: 0.5046875, 30: 0.7125, 40: 0.7890625, 50: 0.8}
    got = _events(s)
    assert list(got) == list(expected)
    for step, value in expected.items():
        assert got[step] == pytest.approx(value, abs=1e-12)
    assert isinstance(s, timing.Gradual) and s.resolve(None).final_target == 0.8


def test_gradual_end_step_fires_when_not_a_multiple_of_frequency():
    got = _events(schedules.Gradual(target=0.5, begin_step=0, end_step=25, frequency=10))
    assert list(got) == [0, 10, 20, 25]
    assert got[0] == 0.0 and got[25] == 0.5
    assert got[10] == pytest.approx(0.5 - 0.5 * 0.6 ** 3)
    assert got[20] == pytest.approx(0.5 - 0.5 * 0.2 ** 3)


def test_gradual_power_one_is_linear_and_single_step_is_final():
    got = _events(schedules.Gradual(target=0.6, begin_step=0, end_step=4, frequency=1, power=1))
    assert list(got.values()) == pytest.approx([0.0, 0.15, 0.3, 0.45, 0.6])
    assert _events(schedules.Gradual(target=0.6, begin_step=7, end_step=7, frequency=3)) == {7: 0.6}


def test_gradual_is_monotone():
    values = list(_events(schedules.Gradual(target=0.95, begin_step=3, end_step=1000, frequency=7)).values())
    assert values == sorted(values) and values[-1] == 0.95


def test_oneshot_fires_once_and_is_the_timing_oneshot():
    s = schedules.OneShot(target=0.7, at_step=5)
    assert _events(s) == {5: 0.7} and s == timing.OneShot(0.7, at=5)


@pytest.mark.parametrize("make, kwargs, field", [
    (schedules.OneShot, dict(target=1.0, at_step=0), "target"),
    (schedules.OneShot, dict(target=-0.1, at_step=0), "target"),
    (schedules.OneShot, dict(target="0.5", at_step=0), "target"),
    (schedules.OneShot, dict(target=0.5, at_step=-1), "at_step"),
    (schedules.OneShot, dict(target=0.5, at_step=1.5), "at_step"),
    (schedules.Gradual, dict(target=1.2, begin_step=0, end_step=10, frequency=1), "target"),
    (schedules.Gradual, dict(target=0.5, begin_step=-1, end_step=10, frequency=1), "begin_step"),
    (schedules.Gradual, dict(target=0.5, begin_step=0, end_step=-3, frequency=1), "end_step"),
    (schedules.Gradual, dict(target=0.5, begin_step=10, end_step=5, frequency=1), "end_step"),
    (schedules.Gradual, dict(target=0.5, begin_step=0, end_step=10, frequency=0), "frequency"),
    (schedules.Gradual, dict(target=0.5, begin_step=0, end_step=10, frequency=1, power=0), "power"),
    (schedules.Gradual, dict(target=0.5, begin_step=0, end_step=10, frequency=1, initial=1.0), "initial"),
    (schedules.Gradual, dict(target=0.5, begin_step=0, end_step=10, frequency=1, initial=0.6), "initial"),
])
def test_invalid_values_name_the_field(make, kwargs, field):
    with pytest.raises((ValueError, TypeError), match=field):
        make(**kwargs)


def test_config_round_trip():
    for s in (schedules.OneShot(0.3, 4), schedules.Gradual(0.9, 2, 20, 3, power=2, initial=0.1)):
        again = type(s).from_config(s.get_config())
        assert again == s and again.resolve(None) == s.resolve(None)
