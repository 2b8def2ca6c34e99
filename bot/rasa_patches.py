"""Per-message costs in Rasa 3.6 internals, removed without changing behaviour; drop each on upgrading Rasa.

Installed by importing bot.channels, which the Rasa server does when it loads our channels from
credentials.yml.
"""

from __future__ import annotations

import functools
from typing import Any

from jsonschema import validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@functools.lru_cache(maxsize=1)
def _action_response_validator():
    # jsonschema.validate() re-checks the schema against its metaschema on every call: in Rasa 3.6 that
    # was a fifth of the Rasa server's CPU per message with a custom action. The schema never changes.
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result with the schema checked once; same errors, same message."""
    error = best_match(_action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    RemoteAction._validate_action_result = _validate_action_result
