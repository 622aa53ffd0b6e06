"""Validation of the trigger body (``TriggerRunRequestRequest``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dbt_kickoff_emulator.queries import ValidationFailed

STRING_FIELDS = (
    "git_sha",
    "git_branch",
    "schema_override",
    "dbt_version_override",
    "target_name_override",
)
INTEGER_FIELDS = (
    "azure_pull_request_id",
    "github_pull_request_id",
    "gitlab_merge_request_id",
    "non_native_pull_request_id",
    "threads_override",
    "timeout_seconds_override",
)
BOOLEAN_FIELDS = ("generate_docs_override",)
KNOWN_FIELDS = ("cause", *STRING_FIELDS, *INTEGER_FIELDS, *BOOLEAN_FIELDS, "steps_override")


def validate_trigger(body: Any, *, max_cause_length: int | None) -> dict[str, Any]:
    """The known fields of a valid trigger body (nulls kept); raise ValidationFailed with a field map."""
    if not isinstance(body, Mapping):
        raise ValidationFailed(
            {
                "non_field_errors": "Invalid data. Expected a dictionary, but got list."
                if isinstance(body, list)
                else "Invalid data. Expected a dictionary."
            }
        )
    errors: dict[str, str] = {}
    cause = body.get("cause")
    if "cause" not in body:
        errors["cause"] = "This field is required."
    elif cause is None:
        errors["cause"] = "This field may not be null."
    elif not isinstance(cause, str):
        errors["cause"] = "Not a valid string."
    elif not cause.strip():
        errors["cause"] = "This field may not be blank."
    elif max_cause_length is not None and len(cause) > max_cause_length:
        errors["cause"] = f"Ensure this field has no more than {max_cause_length} characters."
    for name in STRING_FIELDS:
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            errors[name] = "Not a valid string."
        elif not value:
            errors[name] = "This field may not be blank."
    for name in INTEGER_FIELDS:
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            errors[name] = "A valid integer is required."
    for name in BOOLEAN_FIELDS:
        value = body.get(name)
        if value is not None and not isinstance(value, bool):
            errors[name] = "Must be a valid boolean."
    steps = body.get("steps_override")
    if steps is not None:
        if not isinstance(steps, list):
            errors["steps_override"] = f'Expected a list of items but got type "{type(steps).__name__}".'
        else:
            for position, step in enumerate(steps):
                if not isinstance(step, str):
                    errors["steps_override"] = f"Item {position}: Not a valid string."
                    break
                if not step.strip():
                    errors["steps_override"] = f"Item {position}: This field may not be blank."
                    break
    if errors:
        raise ValidationFailed(errors)
    return {name: body.get(name) for name in KNOWN_FIELDS}
