"""`python -m bot.rasa_server [rasa run options]`: Rasa's server with its HTTP API behind our token.

Every start path (`huiqi run`, the tests, the benches, the scaled topology in the README) starts Rasa
through this wrapper, so the HTTP API (`/model`, `/conversations`, `/status`, …) always needs the
token: `HUIQI_RASA_TOKEN`, else the one generated once into `var/rasa_token`. The token is handed to
Rasa inside this process, so it never appears in the process list; the channels (`/webhooks/*`,
`/socket.io`) stay public.

    .venv/bin/python -m bot.rasa_server --model models/huiqi-….tar.gz --enable-api --port 5005
        --credentials credentials.yml --endpoints endpoints.yml
"""

from __future__ import annotations

import os
import sys

from bot import rasa_patches
from bot.settings import load_settings, rasa_token


def rasa_arguments(argv: list[str], token: str) -> list[str]:
    """`rasa run` with the caller's options and the token; a token on the command line is refused."""
    if any(arg == "--auth-token" or arg.startswith("--auth-token=") for arg in argv):
        raise SystemExit("bot.rasa_server: do not pass --auth-token (it would show in the process list); "
                         "set HUIQI_RASA_TOKEN or let var/rasa_token be generated")
    # One argument "--auth-token=…": a token that begins with "-" (token_urlsafe can) is not taken for an option.
    return ["rasa", "run", *argv, f"--auth-token={token}"]


def main(argv: list[str] | None = None) -> None:
    """Install our Rasa patches, then run `rasa run` with the caller's options and the API token."""
    rasa_patches.install()  # explicitly, before Rasa loads anything (bot/rasa_patches.py)
    token = rasa_token(load_settings().var_dir)
    sys.argv = rasa_arguments(list(sys.argv[1:] if argv is None else argv), token)
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    # The socket.io channel keys widget sessions with the same token (bot/widget_sessions.py).
    os.environ["HUIQI_RASA_TOKEN"] = token
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
