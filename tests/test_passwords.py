"""Password rules (crm.domain.passwords): table tests, properties, and the shipped common-password list."""
from __future__ import annotations

import gzip
import string
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.domain import passwords
from crm.domain.passwords import MIN_LENGTH, Problem, password_problems


def problems(password: str, username: str = "zhouyi", display_name: str = "") -> set[Problem]:
    return set(password_problems(password, username, display_name))


# ---------------------------------------------------------------- the audit's four examples

@pytest.mark.parametrize("password, expected", [
    ("aaaaaaaaaa", {Problem.TOO_SHORT, Problem.PATTERN}),
    ("1234567890", {Problem.TOO_SHORT, Problem.PATTERN}),
    ("manager1", {Problem.TOO_SHORT, Problem.LIKE_NAME}),
    (" " * 10, {Problem.SPACE, Problem.TOO_SHORT}),
])
def test_the_audits_weak_examples_are_refused_for_what_they_are(password, expected):
    assert expected <= set(password_problems(password, "manager1", "王经理"))


# ---------------------------------------------------------------- length and spaces

def test_twelve_characters_is_the_minimum():
    assert Problem.TOO_SHORT in problems("Kx7#mQ2!vR9")
    assert problems("Kx7#mQ2!vR9p") == set()


@pytest.mark.parametrize("password", [" " * 12, "\t" * 14, "\u3000" * 12, " Kx7#mQ2!vR9p", "Kx7#mQ2!vR9p ",
                                      "Kx7#mQ2!vR9p\n"])
def test_spaces_at_either_end_or_only_spaces_are_refused(password):
    assert Problem.SPACE in problems(password)


def test_spaces_inside_a_passphrase_are_fine():
    assert problems("tea kettle on the balcony") == set()


# ---------------------------------------------------------------- like the username or name

@pytest.mark.parametrize("password", [
    "manager1manager1", "Manager1Manager1", "MANAGER1-2024-05", "manager1!!!!!!", "2024manager1!!",
    "1reganam20240501", "m@n@g3r1-19880501", "manager-19880501", "wangjingli2024!",
    "WangJingLi@1988", "ilgnijgnaw2024",
])
def test_the_username_or_the_names_pinyin_or_a_close_variant_is_refused(password):
    assert Problem.LIKE_NAME in problems(password, "manager1", "王经理")


def test_a_password_that_only_shares_a_few_letters_with_the_username_is_fine():
    assert Problem.LIKE_NAME not in problems("lead the orchestra 7", "lead", "李团队长")
    assert Problem.LIKE_NAME not in problems("Kx7#mQ2!vR9p", "manager1", "王经理")


# ---------------------------------------------------------------- repeats and sequences

@pytest.mark.parametrize("password", [
    "aaaaaaaaaaaa", "AAAAAAAAAAAAAA", "abababababab", "abcabcabcabc", "qwe123qwe123", "aaaaaaaaaaab",
    "123456789012", "098765432109", "abcdefghijkl", "zyxwvutsrqpo", "qwertyuiop[]", "1qaz2wsx3edc",
    "lkjhgfdsa;lk", "zxcvbnm,./zxc", "qwertyuiopasdfgh", "1q2w3e4r5t6y", "abcd1234qwer", "aaaa1234bbbb",
    "１２３４５６７８９０１２", "!@#$%^&*()_+",
])
def test_repeated_characters_and_simple_sequences_are_refused(password):
    assert Problem.PATTERN in problems(password)


@pytest.mark.parametrize("password", ["demo-pass-123", "test-pass-12345", "Kx7#mQ2!vR9p", "long-enough-pw",
                                      "桂花糕配龙井茶在西湖边", "river stone 1984"])
def test_ordinary_good_passwords_are_not_patterns(password):
    assert Problem.PATTERN not in problems(password)


# ---------------------------------------------------------------- common passwords

@pytest.mark.parametrize("password", [
    "iloveyouiloveyou", "iloveyou1234", "Password2024!", "p@ssw0rd12345", "woaini1314520", "woaini13145201314",
    "a123456789012", "qq1234567890", "zhang19900101", "1314woaini!!", "52013145201314",
])
def test_common_passwords_and_a_common_word_with_digits_around_it_are_refused(password):
    assert Problem.COMMON in problems(password)


def test_the_demo_and_test_passwords_meet_every_rule():
    from crm.seed.book import DEMO_PASSWORD, DEMO_USERS
    from tests.factories import PASSWORD

    for username, display_name, *_rest in DEMO_USERS:
        assert password_problems(DEMO_PASSWORD, username, display_name) == [], username
    for username in ("admin", "lead", "manager1", "manager2", "otherlead", "othermanager"):
        assert password_problems(PASSWORD, username, "王经理") == [], username


def test_the_shipped_list_is_djangos_and_holds_the_chinese_extras():
    common = passwords.common_passwords()
    with gzip.open(passwords.COMMON_LISTS[0], "rt", encoding="utf-8") as lines:
        django = {line.strip() for line in lines if line.strip()}
    assert len(django) > 19_000 and django <= common
    assert {"woaini1314", "a123456789", "qq123456", "5201314", "zhang"} <= common
    assert all(word == word.lower() and word == word.strip() for word in common)


def test_the_list_is_not_read_when_the_app_is_imported():
    code = ("import crm, crm.forms.auth, crm.services.users; from crm import create_app; create_app(); "
            "from crm.domain import passwords; print(passwords.common_passwords.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"CRM_SECRET_KEY": "x", "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip().splitlines()[-1] == "0"


# ---------------------------------------------------------------- properties

ASCII = string.ascii_letters + string.digits + string.punctuation


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=MIN_LENGTH - 1))
def test_anything_shorter_than_twelve_is_refused(password):
    assert Problem.TOO_SHORT in password_problems(password, "manager1")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" \t\n\u3000\u00a0", min_size=1, max_size=40))
def test_whitespace_only_is_always_refused(password):
    assert Problem.SPACE in password_problems(password, "manager1")


@settings(max_examples=300, deadline=None)
@given(st.characters(codec="utf-8", exclude_categories=["Cs"]), st.integers(MIN_LENGTH, 60))
def test_one_character_repeated_is_always_refused(char, times):
    assert password_problems(char * times, "manager1") != []


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["manager1", "lead", "zhouyi", "wang.fang"]),
       st.text(alphabet=string.digits + string.punctuation, max_size=8),
       st.text(alphabet=string.digits + string.punctuation, max_size=8),
       st.booleans())
def test_the_username_with_digits_or_punctuation_around_it_is_always_refused(username, before, after, upper):
    password = before + (username.upper() if upper else username) + after
    assert Problem.LIKE_NAME in password_problems(password, username)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ASCII, min_size=MIN_LENGTH, max_size=40))
def test_a_refusal_is_always_one_of_the_known_problems_and_the_check_is_stable(password):
    found = password_problems(password, "manager1", "王经理")
    assert set(found) <= set(Problem)
    assert found == password_problems(password, "manager1", "王经理")
    assert (Problem.TOO_SHORT in found) is False


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["桂花", "龙井", "西湖", "river", "stone", "Kettle", "balcony", "7", "#", "Q"]),
                min_size=4, max_size=8, unique=True))
def test_a_few_different_words_together_are_accepted(words):
    password = "".join(words)
    if len(password) >= MIN_LENGTH:
        assert password_problems(password, "manager1", "王经理") == []


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=200))
def test_any_text_is_checked_without_an_error(password):
    password_problems(password, "manager1", "王经理")


def test_a_character_that_folding_spreads_into_many_is_still_one_character_repeated():
    assert Problem.PATTERN in problems("\ufdfa" * 12)
