"""Schedules: values worked out by hand, event steps, validation naming the field."""
import pytest

from prunekit import schedules


def test_gradual_values_by_hand():
    # s_t = 0.8 + (0.1 - 0.8) * (1 - (t - 10) / 40) ** 3, events every 10 steps from 10 to 50.
    s = schedules.Gradual(target=0.8, begin_step=10, end_step=50, frequency=10, initial=0.1)
    expected = {10: 0.1, 20: 0.5046875, 30: 0.7125, 40: 0.7890625, 50: 0.8}
    for step, value in expected.items():
        assert s.target_at(step) == pytest.approx(value, abs=1e-12)
    for step in (0, 9, 11, 25, 49, 51, 1000):
        assert s.target_at(step) is None
    assert s.event_steps() == [10, 20, 30, 40, 50]
    assert (s.final_target, s.last_step) == (0.8, 50)


def test_gradual_end_step_fires_when_not_a_multiple_of_frequency():
    s = schedules.Gradual(target=0.5, begin_step=0, end_step=25, frequency=10)
    assert s.event_steps() == [0, 10, 20, 25]
    assert s.target_at(0) == 0.0
    assert s.target_at(10) == pytest.approx(0.5 - 0.5 * 0.6 ** 3)
    assert s.target_at(20) == pytest.approx(0.5 - 0.5 * 0.2 ** 3)
    assert s.target_at(25) == 0.5
    assert s.target_at(30) is None


def test_gradual_power_one_is_linear_and_single_step_is_final():
    s = schedules.Gradual(target=0.6, begin_step=0, end_step=4, frequency=1, power=1)
    assert [s.target_at(t) for t in range(5)] == pytest.approx([0.0, 0.15, 0.3, 0.45, 0.6])
    one = schedules.Gradual(target=0.6, begin_step=7, end_step=7, frequency=3)
    assert one.event_steps() == [7] and one.target_at(7) == 0.6


def test_gradual_is_monotone():
    s = schedules.Gradual(target=0.95, begin_step=3, end_step=1000, frequency=7)
    values = [s.target_at(t) for t in s.event_steps()]
    assert values == sorted(values) and values[-1] == 0.95


def test_oneshot_fires_once():
    s = schedules.OneShot(target=0.7, at_step=5)
    fired = [t for t in range(100) if s.target_at(t) is not None]
    assert fired == [5] and s.event_steps() == [5]
    assert s.target_at(5) == 0.7 and (s.final_target, s.last_step) == (0.7, 5)


@pytest.mark.parametrize("cls, kwargs, field", [
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
def test_invalid_schedules_name_the_field(cls, kwargs, field):
    with pytest.raises((ValueError, TypeError), match=field):
        cls(**kwargs)


def test_config_round_trip():
    for s in (schedules.OneShot(0.3, 4), schedules.Gradual(0.9, 2, 20, 3, power=2, initial=0.1)):
        again = type(s).from_config(s.get_config())
        assert again == s and again.get_config() == s.get_config()
