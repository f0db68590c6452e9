"""Schemathesis checks for scripts/fuzz: error bodies are JSON, as the real service's are."""

import json

import schemathesis


@schemathesis.check
def json_error_body(ctx, response, case):
    """Every 4xx and 5xx body is JSON, except the empty 403 and the 429 `Retry later`."""
    if response.status_code < 400:
        return None
    body = response.content or b""
    if response.status_code == 403 and body == b"":
        return None
    if response.status_code == 429 and body == b"Retry later\n":
        return None
    try:
        json.loads(body)
    except ValueError:
        raise AssertionError(
            f"{response.status_code} error body is not JSON: {body[:200]!r}"
        ) from None
    return None
