"""The shared input checks say what to change in words that fit the field: an empty field is shown an
example of its own kind, limits are written as a person reads them, and every field's length limit
speaks with one message."""

from __future__ import annotations

import pytest

from explainers import attention, compare, denoising, next_token, t2i_spec, text_diffusion
from explainers.text_input import check_number, clean_text, shown
from models.errors import InputError


@pytest.mark.parametrize("call,example", [
    (lambda: attention.contextual_similarity("I sat on the bank.", "The bank was shut.", " "), "'bank'"),
    (lambda: compare.check_race("ROMEO:", "  ", 10, 20, 0), "'a handwritten 5'"),
    (lambda: compare.check_race("\n", "a 5", 10, 20, 0), "'ROMEO:'"),
    (lambda: next_token.predict("\x00\x01"), "'To be, or not to'"),
    (lambda: text_diffusion.generate(" ", 8, 4, 0), "'ROMEO:'"),
    (lambda: attention.attend("", "minilm"), "'I sat on the bank of the river.'"),
])
def test_an_empty_field_is_shown_an_example_of_its_own_kind(call, example):
    with pytest.raises(InputError) as err:
        call()
    assert "is empty: type something like " + example in str(err.value)


def test_limits_are_written_as_a_person_reads_them():
    assert shown(2**31 - 1) == "2,147,483,647" and shown(0.01) == "0.01" and shown(5.0) == "5"
    with pytest.raises(InputError, match=r"between 0 and 2,147,483,647; got 1099511627776\."):
        check_number(2**40, "seed", 0, 2**31 - 1, integer=True)
    with pytest.raises(InputError, match=r"whole number between 1 and 100; got 2\.5\."):
        check_number(2.5, "steps", 1, 100, integer=True)


def test_too_long_text_gets_one_message_whichever_tab_checks_it():
    long = "a" * 20_000
    messages = []
    for call in (lambda: clean_text(long, "prompt", max_chars=500), lambda: t2i_spec.check_prompt(long)):
        with pytest.raises(InputError) as err:
            call()
        messages.append(str(err.value))
    assert messages[0] == messages[1] == "The prompt is 20,000 characters long; the limit is 500. Shorten it."


def test_the_denoising_pre_check_is_the_runs_own_validation():
    """The page's pre-check (ui) refuses what a run refuses, with the run's own message."""
    assert denoising.settings(" a 7 ", 50, 3.0, 0, "ddim", "tiny-ddpm", 1) == ("a 7", 50, 3.0, 0, "ddim", "tiny-ddpm", 1)
    with pytest.raises(InputError, match="denoising needs a diffusion model"):
        denoising.settings("a 7", 50, 3.0, 0, "ddim", "tiny-gpt", 1)
