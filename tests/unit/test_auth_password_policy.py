"""The password policy: length, the shipped common-password list, repetition and personal words."""

import pytest

from web.services.password_policy import (
    TOO_COMMON,
    TOO_LONG,
    TOO_PERSONAL,
    TOO_REPETITIVE,
    TOO_SHORT,
    common_passwords,
    password_problems,
)


def test_the_shipped_list_is_large_and_lower_case():
    listed = common_passwords()
    assert len(listed) > 25_000
    assert {"password", "123456", "qwerty", "iloveyou"} <= listed
    assert all(word == word.lower() for word in list(listed)[:1000])


@pytest.mark.parametrize(
    "password",
    [
        "violet-anchor-meadow-42",
        "correct horse battery staple",
        "Zq8#vL2!pW9@",
        "mañana-sin-prisa-7",
        "密码很长很长的句子也可以",
    ],
)
def test_good_passwords_pass(password):
    assert password_problems(password, email="jane.doe@example.com", names=("Jane", "Doe")) == []


def test_length_limits_are_12_and_128_characters():
    assert password_problems("a1b2c3d4e5f") == [TOO_SHORT]
    assert password_problems("x9" * 64 + "q") == [TOO_LONG]
    assert password_problems("kq3-vz8-mw2-") == []


@pytest.mark.parametrize(
    "password", ["password1234", "PASSWORD12345", "qwertyuiop123", "!!sunshine2024!!", "1234567890123"]
)
def test_common_passwords_and_their_padded_forms_are_refused(password):
    assert password_problems(password) in ([TOO_COMMON], [TOO_REPETITIVE])


def test_a_listed_word_with_digits_around_it_is_common():
    assert password_problems("dragon123456") == [TOO_COMMON]


@pytest.mark.parametrize("password", ["aaaaaaaaaaaaaaa", "abababababababab", "abcdefghijklmnop", "asdfghjklzxcvbnm"])
def test_repetitive_or_keyboard_sequences_are_refused(password):
    assert password_problems(password) == [TOO_REPETITIVE]


@pytest.mark.parametrize("password", ["JaneDoe2024!!", "jane.doe@example.com", "tradingplatform99", "Doe-Jane-1990-12"])
def test_passwords_made_of_personal_or_site_words_are_refused(password):
    assert password_problems(password, email="jane.doe@example.com", names=("Jane", "Doe")) == [TOO_PERSONAL]


def test_extra_context_words_count_too():
    assert password_problems("acmebrokers2024", extra_words=("AcmeBrokers",)) == [TOO_PERSONAL]
    assert password_problems("acmebrokers2024") == []
