"""Timing units, timed schedules and their validation errors (issue 4)."""
import pytest

from prunekit import timing
from prunekit.timing import units
from prunekit.timing.iterative import Iterative

L = units.Length(steps_per_epoch=10, epochs=5)  # 50 steps


@pytest.mark.parametrize("value, step", [
    (0, 0), (7, 7), ("7", 7), ("7st", 7), ("7 steps", 7), (timing.Steps(7), 7),
    ("2ep", 20), ("1.5ep", 15), (timing.Epochs(3), 30),
    (0.0, 0), (0.5, 25), ("0.5", 25), ("50%", 25), (1.0, 50), (timing.Fraction(0.3), 15),
    (0.25, 13),  # 12.5 rounds half up
])
def test_resolve(value, step):
    assert units.resolve(value, L, "at") == step


def test_int_is_steps_and_float_is_fraction():
    assert units.parse(1, "at") == timing.Steps(1)
    assert units.parse(1.0, "at") == timing.Fraction(1.0)


@pytest.mark.parametrize("make, field", [
    (lambda: timing.OneShot(0.5, at=1.5), "at"),
    (lambda: timing.OneShot(0.5, at=-3), "at"),
    (lambda: timing.OneShot(0.5, at="soon"), "at"),
    (lambda: timing.OneShot(1.0, at=0.5), "target"),
    (lambda: timing.OneShot(-0.1, at=0.5), "target"),
    (lambda: timing.OneShot(0.5, at=0.5, steps=0), "steps"),
    (lambda: timing.Gradual(0.9, begin=0.6, end=0.2), "end"),
    (lambda: timing.Gradual(0.9, begin="3ep", end="1ep"), "end"),
    (lambda: timing.Gradual(0.9, begin=0.1, end="40", frequency=1).resolve(
        units.Length(10, 1)), "end"),  # 40 steps beyond the 10-step run
    (lambda: timing.Gradual(1.2, begin=0.1, end=0.5), "target"),
    (lambda: timing.Gradual(0.5, begin=30, end=10), "end"),
    (lambda: timing.OneShot(0.5, at="6ep").resolve(L), "at"),
    (lambda: timing.Gradual(0.5, begin=8, end=0.5).resolve(units.Length(10, 1)), "end"),
    (lambda: Iterative(0), "rounds"),
    (lambda: Iterative(2, rate=1.0), "rate"),
    (lambda: Iterative(2, rewind_to="-1"), "rewind_to"),
])
def test_invalid_timings_name_the_field(make, field):
    with pytest.raises((ValueError, TypeError)) as info:
        make()
    assert str(info.value).startswith(field), str(info.value)
    assert "\n" not in str(info.value)


def test_gradual_cubic_values_in_any_unit():
    # 4 epochs of 25 steps: begin at epoch 1 (step 25), end at 0.75 (step 75), every 10 steps.
    length = units.Length(25, 4)
    plan = timing.Gradual(0.8, begin="1ep", end=0.75, frequency=10, initial=0.1).resolve(length)
    t0, t1, si, sf = 25, 75, 0.1, 0.8
    assert plan.steps() == [25, 35, 45, 55, 65, 75]
    for t, target in zip(plan.steps()[:-1], plan.targets()):
        expected = sf + (si - sf) * (1 - (t - t0) / (t1 - t0)) ** 3
        assert target == pytest.approx(expected, abs=1e-12)
    assert plan.targets()[-1] == 0.8 and plan.rewind_step is None


def test_oneshot_resolves_to_one_event_with_its_local_steps():
    plan = timing.OneShot(0.6, at="2ep", steps=4, split="linear").resolve(L)
    assert plan.events == (timing.Event(20, 0.6, local_steps=4, split="linear"),)


def test_iterative_divides_the_fit_among_rounds():
    # 50 steps, 3 rounds: 4 segments of 12 steps (+2 in the last); rewind "1ep" = step 10.
    plan = Iterative(rounds=3, rate=0.4, rewind_to="1ep").resolve(L)
    assert plan.steps() == [12, 24, 36] and plan.rewind_step == 10
    assert plan.targets() == pytest.approx([0.4, 1 - 0.6 ** 2, 1 - 0.6 ** 3])
    assert all(e.rewind for e in plan.events)
    assert Iterative(rounds=3, rewind_to=0.5).resolve(L).rewind_step == 6  # half a segment
    with pytest.raises(ValueError, match="rewind_to"):
        Iterative(rounds=3, rewind_to="2ep").resolve(L)  # beyond one round's 12 steps
    with pytest.raises(ValueError, match="training length"):
        Iterative(rounds=3).resolve(None)


def test_hold_has_no_events():
    assert timing.Hold().resolve(None) == timing.Plan() and timing.Hold().resolve(L).events == ()


def test_iterative_targets():
    assert Iterative(4).targets() == pytest.approx([1 - 0.8 ** r for r in range(1, 5)])


@pytest.mark.parametrize("make", [
    lambda: timing.OneShot(0.9, at="3ep", steps=14, split="linear"),
    lambda: timing.OneShot(0.5, at=1.0, finetune_epochs=30, finetune_lr=1e-3),
    lambda: timing.OneShot(0.5, at=0.0),
    lambda: timing.OneShot(0.5, at=200),
    lambda: timing.Gradual(0.9, begin=0.1, end="2.5ep", frequency="100", initial=0.2),
    lambda: timing.Gradual(0.9, begin=1 / 3, end=2 / 3, frequency="0.5ep"),
])
def test_config_round_trip(make):
    s = make()
    again = type(s).from_config(s.get_config())
    assert again == s and again.resolve(units.Length(30, 10)) == s.resolve(units.Length(30, 10))
    assert all(isinstance(v, (str, int, float, type(None))) for v in s.get_config().values())


@pytest.mark.parametrize("t", [timing.Steps(7), timing.Epochs(2.5), timing.Epochs(3),
                               timing.Fraction(0.0), timing.Fraction(1.0), timing.Fraction(1 / 3)])
def test_timing_str_parses_back(t):
    assert units.parse(str(t), "at") == units.parse(t, "at")
