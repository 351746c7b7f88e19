"""The second scrubbing pass: what sentry-sdk's own scrubber leaves behind."""

from __future__ import annotations

import json

from django_observe.conf import DEFAULT_REDACT_KEYS
from django_observe.errors.scrub import FILTERED, scrub_event, scrub_string

WORDS = tuple(DEFAULT_REDACT_KEYS)


def test_query_string_secrets_are_filtered_and_other_params_kept() -> None:
    event = {"request": {"query_string": "token=abc&page=2&api_key=K1", "url": "http://x/a?password=p&q=1"}}
    scrub_event(event, WORDS)
    assert event["request"]["query_string"] == f"token={FILTERED}&page=2&api_key={FILTERED}"
    assert event["request"]["url"] == f"http://x/a?password={FILTERED}&q=1"


def test_json_and_form_bodies_left_as_strings_are_parsed_and_filtered() -> None:
    json_event = {"request": {"data": json.dumps({"user": "bob", "credentials": {"password": "p", "api_key": "k"}})}}
    form_event = {"request": {"data": "user=bob&password=hunter2"}}
    scrub_event(json_event, WORDS)
    scrub_event(form_event, WORDS)
    # "credentials" is a secret word itself (sentry-sdk's denylist): the whole object goes.
    assert json.loads(json_event["request"]["data"]) == {"user": "bob", "credentials": FILTERED}
    assert form_event["request"]["data"] == "user=bob&password=[Filtered]"


def test_headers_with_dashes_cookies_and_custom_keys_are_filtered() -> None:
    event = {
        "request": {
            "headers": {"X-Api-Key": "k", "Authorization": "Bearer t", "Accept": "text/html"},
            "cookies": {"theme": "dark", "sessionid": "s"},
        },
        "extra": {"stripe_secret": "sk_live", "count": 3},
    }
    scrub_event(event, (*WORDS, "stripe"))
    assert event["request"]["headers"] == {"X-Api-Key": FILTERED, "Authorization": FILTERED, "Accept": "text/html"}
    assert event["request"]["cookies"] == {"theme": FILTERED, "sessionid": FILTERED}
    assert event["extra"] == {"stripe_secret": FILTERED, "count": 3}


def test_frame_variables_and_source_lines_are_filtered() -> None:
    frame = {"vars": {"password": "hunter2", "order": 4}, "pre_context": ['    password = "hunter2"'], "context_line": "raise X"}
    event = {"exception": {"values": [{"stacktrace": {"frames": [frame]}}]}}
    scrub_event(event, WORDS)
    assert frame["vars"] == {"password": FILTERED, "order": 4}
    assert frame["pre_context"] == [f'    password = "{FILTERED}"']


def test_structure_keys_survive_and_plain_text_is_untouched() -> None:
    assert scrub_string("no secrets, a=1", WORDS) == "no secrets, a=1"
    event = {"contexts": {"session": {"id": 1}}, "breadcrumbs": {"values": []}}
    assert scrub_event(event, WORDS)["breadcrumbs"] == {"values": []}


def test_the_trace_contexts_public_key_is_not_a_secret() -> None:
    """QA finding F14: Sentry's dynamic sampling needs the DSN's public key; "key" must not swallow it."""
    event = {
        "contexts": {"trace": {"dynamic_sampling_context": {"public_key": "abcdef0123456789", "trace_id": "t1"}}},
        "extra": {"api_key": "k"},
    }
    scrub_event(event, WORDS)
    assert event["contexts"]["trace"]["dynamic_sampling_context"]["public_key"] == "abcdef0123456789"
    assert event["extra"]["api_key"] == FILTERED
