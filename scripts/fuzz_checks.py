"""Schemathesis checks for scripts/fuzz: error bodies are JSON, as the real service's are."""

import json

import schemathesis


@schemathesis.check
def json_error_body(ctx, response, case):
    """Every 4xx and 5xx body is JSON, except the empty 403, the 429 `Retry later`, and bodies
    of another type the operation documents for that status."""
    if response.status_code < 400:
        return None
    body = response.content or b""
    if response.status_code == 403 and body == b"":
        return None
    if response.status_code == 429 and body == b"Retry later\n":
        return None
    if documented_non_json(case, response):
        return None
    try:
        json.loads(body)
    except ValueError:
        raise AssertionError(
            f"{response.status_code} error body is not JSON: {body[:200]!r}"
        ) from None
    return None


def documented_non_json(case, response):
    """Whether the operation documents this status with the response's non-JSON media type,
    as the finance pages document the HTML they answer browsers with."""
    values = [v for k, v in response.headers.items() if k.lower() == "content-type"]
    value = values[0] if values else ""
    media_type = (value[0] if isinstance(value, list) else value).split(";")[0]
    if not media_type or "json" in media_type:
        return False
    responses = case.operation.definition.raw.get("responses", {})
    documented = responses.get(str(response.status_code), {}).get("content", {})
    return media_type.strip() in documented
