"""Rasa's API token: generated once into var/, never on a command line; training output without warnings."""

from __future__ import annotations

import os
import stat

import pytest

from bot.rasa_server import rasa_arguments
from bot.settings import rasa_token, token_hint
from bot.training import without_warnings


def test_without_huiqi_rasa_token_one_is_generated_once_readable_by_this_user_only(tmp_path):
    first = rasa_token(tmp_path, {})
    assert len(first) >= 40 and rasa_token(tmp_path, {}) == first
    mode = stat.S_IMODE(os.stat(tmp_path / "rasa_token").st_mode)
    assert mode == 0o600


def test_huiqi_rasa_token_wins_over_the_file(tmp_path):
    rasa_token(tmp_path, {})
    assert rasa_token(tmp_path, {"HUIQI_RASA_TOKEN": " given-token "}) == "given-token"


def test_a_token_is_only_ever_shown_as_a_hint():
    token = "abcdEFGH" * 5
    assert token_hint(token) == "abcd…（40 个字符）" and token not in token_hint(token)


def test_the_wrapper_hands_the_token_to_rasa_and_refuses_one_on_the_command_line():
    assert rasa_arguments(["--enable-api", "--port", "5005"], "tok") == \
        ["rasa", "run", "--enable-api", "--port", "5005", "--auth-token=tok"]
    for argv in (["--auth-token", "x"], ["--auth-token=x"]):
        with pytest.raises(SystemExit, match="process list"):
            rasa_arguments(argv, "tok")


def test_rasas_warnings_are_kept_out_of_the_console_and_its_progress_is_not():
    output = [
        "/venv/lib/python3.10/site-packages/pkg_resources/__init__.py:3117: DeprecationWarning: Deprecated call\n",
        "Implementing implicit namespace packages (as specified in PEP 420) is preferred\n",
        "  declare_namespace(pkg)\n",
        "2026-12-03 06:43:25 INFO     rasa.cli.train  - Started validating domain and training data...\n",
        "\x1b[93m/venv/rasa/shared/utils/io.py:100: UserWarning: The utterance 'utter_x' is not used in any story.\n",
        "\x1b[0m2026-12-03 06:43:30 INFO     rasa.validator  - Story structure validation...\n",
        "Traceback (most recent call last):\n",
        "\x1b[92mYour Rasa model is trained and saved at 'models/huiqi-1.tar.gz'.\x1b[0m\n",
    ]
    assert list(without_warnings(output)) == [output[3], output[5], output[6], output[7]]


def test_a_token_that_begins_with_a_dash_reaches_rasa_whole():
    # secrets.token_urlsafe can start with "-": Rasa's own parser must still read it as the token.
    from rasa.__main__ import create_argument_parser

    parsed = create_argument_parser().parse_args(rasa_arguments(["--enable-api"], "-Xy_12")[1:])
    assert parsed.auth_token == "-Xy_12"
