"""Redaction of secrets and PII before storage.

Look-alikes we decided to leave alone (pinned by NEGATIVE below):

* card: a number must pass Luhn, have 13-19 digits and start with 2-9; no network issues 0 or 1,
  and Unix timestamps (s, ms, us, ns) all start with 1. Digits glued to letters (hex ids) are not
  cards, and digit groups are never split (a UUID's last group is not a card).
* ipv4: a standalone ``1.2.3.4`` is a valid address and is redacted; ``v1.2.3.4``, a fifth part
  (``1.2.3.4.5``), three parts (``1.2.3``) and out-of-range octets are not.
* phone: national numbers need separators, so plain ids, ISO timestamps, dates (``01.02.2024``) and
  ids such as ``ORD-555-123-4567`` are left alone; ``+`` starts an international number.
* ipv6: ``::`` alone, C++ scopes (``std::vector``), clock times and MAC addresses are not addresses.
* bearer_token: prose such as "Bearer authentication" is not a token.
"""

from __future__ import annotations

import re
import string
import threading
from collections import Counter
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentledger.audit.chain import DECISION_SCHEMA
from agentledger.collector.logs import LOG_SCHEMA
from agentledger.collector.redaction import (
    BUILTIN_RULES,
    DECISION_FIELDS,
    LOG_COLUMNS,
    SECRET_RULES,
    SPAN_COLUMNS,
    RedactionConfig,
    Redactor,
)
from agentledger.collector.spans import SCHEMA as SPAN_SCHEMA
from agentledger.config import ConfigError

KEY = b"0123456789abcdef-test-key"
ATTRS = pa.map_(pa.string(), pa.string())
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"

# (rule, text, the part that must disappear)
POSITIVE = [
    ("email", "reach me at jane.doe+ai@example.co.uk today", "jane.doe+ai@example.co.uk"),
    ("email", "From: Bob <bob@mail.example.org>.", "bob@mail.example.org"),
    ("phone", "call +1 (555) 123-4567 now", "+1 (555) 123-4567"),
    ("phone", "E.164 +4915112345678", "+4915112345678"),
    ("phone", "office 555-123-4567.", "555-123-4567"),
    ("phone", "office (555) 123-4567", "(555) 123-4567"),
    ("phone", "London 020 7946 0958", "020 7946 0958"),
    ("phone", "Paris 01 23 45 67 89", "01 23 45 67 89"),
    ("phone", "Berlin (030) 1234567", "(030) 1234567"),
    ("card", "paid with 4111 1111 1111 1111 yesterday", "4111 1111 1111 1111"),
    ("card", "amex 3782-822463-10005", "3782-822463-10005"),
    ("card", "card=5555555555554444", "5555555555554444"),
    ("card", "qty 12 4111111111111111 2024", "4111111111111111"),
    ("iban", "IBAN DE89 3704 0044 0532 0130 00 EUR", "DE89 3704 0044 0532 0130 00"),
    ("iban", "to GB82WEST12345698765432.", "GB82WEST12345698765432"),
    ("ipv4", "client 192.168.1.10 connected", "192.168.1.10"),
    ("ipv4", "ip=10.0.0.1.", "10.0.0.1"),
    ("ipv6", "from 2001:db8:85a3::8a2e:370:7334.", "2001:db8:85a3::8a2e:370:7334"),
    ("ipv6", "mapped ::ffff:192.168.1.1", "::ffff:192.168.1.1"),
    ("ipv6", "link fe80::1ff:fe23:4567:890a%eth0", "fe80::1ff:fe23:4567:890a"),
    ("ipv6", "full 2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:0db8:0000:0000:0000:ff00"),
    ("bearer_token", "Authorization: Bearer abc123def456ghi789", "abc123def456ghi789"),
    ("bearer_token", "authorization: bearer 9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c==", "9f8e7d6c5b"),
    ("api_key", "OPENAI_API_KEY sk-proj-abcDEF1234567890ghijKLMN", "sk-proj-abcDEF1234567890"),
    ("api_key", "key sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123", "sk-ant-api03-abcdefghij"),
    ("api_key", "aws AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ("api_key", "token ghp_" + "aB3" * 12, "ghp_" + "aB3" * 12),
    ("api_key", "slack xoxb-1234567890-0987654321-abcdefghij", "xoxb-1234567890"),
    ("api_key", "GET /v1?api_key=abcd1234efgh5678&x=1", "abcd1234efgh5678"),
    ("api_key", '{"x-api-key": "0123456789abcdef"}', "0123456789abcdef"),
    ("jwt", f"token {JWT}", JWT),
    ("jwt", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "eyJhbGciOiJub25lIn0"),
    (
        "private_key",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY----- done",
        "MIIEowIBAAKCAQEA",
    ),
    ("private_key", '{"k": "-----BEGIN PRIVATE KEY-----\\nb3BlbnNzaC1rZXk', "b3BlbnNzaC1rZXk"),
]

# (rule the text looks like, text); no rule may touch them.
NEGATIVE = [
    ("card", "not luhn 4111111111111112"),
    ("card", "order id 7234567890123456"),
    ("card", "ns timestamp 1700000000000000004"),  # Luhn-valid, but starts with 1
    ("card", "span a4111111111111111f"),
    ("card", "uuid 123e4567-e89b-12d3-a456-426614174000"),
    ("card", "short 4111 1111 1111"),
    ("phone", "order 5551234567"),
    ("phone", "at 2024-01-15T10:30:00Z"),
    ("phone", "on 01.02.2024 or 05/06/2024"),
    ("phone", "ref ORD-555-123-4567"),
    ("phone", "5 + 3 = 8 and +5 points"),
    ("ipv4", "version v1.2.3.4"),
    ("ipv4", "oid 1.2.3.4.5"),
    ("ipv4", "semver 1.2.3"),
    ("ipv4", "bad 999.1.1.1"),
    ("ipv6", "std::vector<int> and Foo::Bar"),
    ("ipv6", "at 10:30:00"),
    ("ipv6", "mac aa:bb:cc:dd:ee:ff"),
    ("ipv6", "::"),
    ("iban", "DE00 3704 0044 0532 0130 00"),
    ("email", "user@localhost or @mention or a@b"),
    ("bearer_token", "uses Bearer authentication"),
    ("bearer_token", "a Bearer token"),
    ("api_key", "task-abcdefghijklmnopqrstuvwxyz"),
    ("api_key", "api_key=short"),
    ("api_key", "AKIA1234"),
    ("jwt", "eyJ not a token, eyJhbGciOiJIUzI1NiJ9 alone"),
    ("private_key", "-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----"),
]


def redactor(*rules: str, **options: Any) -> Redactor:
    return Redactor(RedactionConfig(rules=rules or BUILTIN_RULES, **options))


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


@pytest.mark.parametrize(("rule", "text", "secret"), POSITIVE)
def test_positive_examples_are_masked(rule: str, text: str, secret: str) -> None:
    out, counts = redactor(rule).redact_text(text)
    assert secret not in out and f"[REDACTED:{rule}]" in out
    assert counts == Counter({rule: 1})


@pytest.mark.parametrize(("rule", "text", "secret"), POSITIVE)
def test_positive_examples_are_hashed(rule: str, text: str, secret: str) -> None:
    out, counts = redactor(rule, mode="hash", hash_key=KEY).redact_text(text)
    assert secret not in out and re.search(rf"\[{rule}:hmac:[0-9a-f]{{16}}\]", out)
    assert counts == Counter({rule: 1})


@pytest.mark.parametrize(("rule", "text", "secret"), POSITIVE)
def test_positive_examples_with_every_rule_on(rule: str, text: str, secret: str) -> None:
    out, _ = redactor().redact_text(text)
    assert secret not in out


@pytest.mark.parametrize(("rule", "text"), NEGATIVE)
def test_look_alikes_are_left_alone(rule: str, text: str) -> None:
    assert redactor().redact_text(text) == (text, Counter())


def test_surrounding_text_is_kept_and_rules_do_not_overlap() -> None:
    text = f"mail a@b.io, Bearer {JWT}, card 4111-1111-1111-1111."
    out, counts = redactor().redact_text(text)
    assert out == "mail [REDACTED:email], Bearer [REDACTED:jwt], card [REDACTED:card]."
    assert counts == Counter({"email": 1, "jwt": 1, "card": 1})


def test_default_config_redacts_secrets_only() -> None:
    assert RedactionConfig().rules == SECRET_RULES
    text = "jane@example.com Bearer abc123def456ghi789"
    assert Redactor().redact_text(text)[0] == "jane@example.com Bearer [REDACTED:bearer_token]"


def test_hmac_is_deterministic_keyed_and_idempotent() -> None:
    one = redactor("email", mode="hash", hash_key=KEY)
    again = redactor("email", mode="hash", hash_key=KEY.decode())
    other = redactor("email", mode="hash", hash_key=b"another-key-of-16+bytes")
    a1, a2 = one.redact_text("a@x.com")[0], again.redact_text("to a@x.com")[0]
    assert a1 in a2 and re.fullmatch(r"\[email:hmac:[0-9a-f]{16}\]", a1)
    assert one.redact_text("b@x.com")[0] != a1
    assert other.redact_text("a@x.com")[0] != a1
    # A digest that happens to be a Luhn-valid number is not redacted again as a card.
    token = "[card:hmac:4111111111111111]"
    assert redactor(mode="hash", hash_key=KEY).redact_text(token) == (token, Counter())


def test_hash_mode_survives_lone_surrogates() -> None:
    out, counts = redactor("email", mode="hash", hash_key=KEY).redact_text("\ud800a@b.co")
    assert out.startswith("\ud800[email:hmac:") and counts["email"] == 1


def test_custom_rules_and_secret_group() -> None:
    custom = {"ticket": r"TICKET-[0-9]{4}", "pin": r"pin=(?P<secret>[0-9]{4,6})"}
    r = Redactor(RedactionConfig(rules=(), custom=custom))
    assert r.redact_text("see TICKET-1234, pin=98765") == (
        "see [REDACTED:ticket], pin=[REDACTED:pin]",
        Counter({"ticket": 1, "pin": 1}),
    )


def span_table(rows: int = 2) -> pa.Table:
    columns: dict[str, list[Any]] = {
        name: [None] * rows for name in SPAN_SCHEMA.names if not name.startswith(("Ev", "Li"))
    }
    for name in ("Events.Timestamp", "Events.Name", "Links.TraceId", "Links.SpanId"):
        columns[name] = [[]] * rows
    columns["Links.TraceState"] = [[]] * rows
    columns["Links.Attributes"] = [[]] * rows
    columns["Timestamp"] = [1] * rows
    columns["Duration"] = [5] * rows
    columns["SpanName"] = ["call a@b.com"] * rows  # not a redacted column
    columns["StatusMessage"] = ["failed for a@b.com"] + [None] * (rows - 1)
    columns["ResourceAttributes"] = [[("host.ip", "10.1.2.3")]] * rows
    columns["SpanAttributes"] = [
        [("user.email", "a@b.com"), ("Password", "hunter2"), ("gen_ai.usage.input_tokens", "7")],
        None,
    ][:rows] + [[]] * (rows - 2)
    columns["Events.Attributes"] = [
        [[("exception.message", "no user a@b.com")], None, []],
        None,
    ][:rows] + [[]] * (rows - 2)
    return pa.table(columns, schema=SPAN_SCHEMA)


def test_span_table_schema_nulls_and_untouched_columns() -> None:
    table = span_table()
    r = redactor("email", "ipv4", deny_keys=("password", "*token*"), allow_keys=("gen_ai.usage.*",))
    out = r.redact_table(table, SPAN_COLUMNS)
    assert out.schema == table.schema
    assert out.column("SpanName").to_pylist() == ["call a@b.com"] * 2
    assert out.column("StatusMessage").to_pylist() == ["failed for [REDACTED:email]", None]
    assert out.column("ResourceAttributes").to_pylist() == [[("host.ip", "[REDACTED:ipv4]")]] * 2
    assert out.column("SpanAttributes").to_pylist() == [
        [
            ("user.email", "[REDACTED:email]"),
            ("Password", "[REDACTED:deny_key]"),  # keys match case-insensitively
            ("gen_ai.usage.input_tokens", "7"),  # allow wins over deny
        ],
        None,
    ]
    assert out.column("Events.Attributes").to_pylist() == [
        [[("exception.message", "no user [REDACTED:email]")], None, []],
        None,
    ]
    assert r.counts == Counter({"email": 3, "ipv4": 2, "deny_key": 1})


def test_allowed_keys_are_never_redacted_and_null_values_stay_null() -> None:
    table = pa.table(
        {"a": pa.array([[("note", "a@b.com"), ("secret", None), ("secret", "x")]], ATTRS)}
    )
    r = redactor("email", deny_keys=("secret",), allow_keys=("note",))
    out = r.redact_table(table, ["a"])
    assert out.column("a").to_pylist() == [
        [("note", "a@b.com"), ("secret", None), ("secret", "[REDACTED:deny_key]")]
    ]


def test_deny_keys_hash_the_whole_value() -> None:
    table = pa.table(
        {"a": pa.array([[("http.request.header.authorization", "Basic dXNlcg==")]], ATTRS)}
    )
    r = redactor(mode="hash", hash_key=KEY, deny_keys=("*authorization*",))
    [[(_, value)]] = r.redact_table(table, ["a"]).column("a").to_pylist()
    assert re.fullmatch(r"\[deny_key:hmac:[0-9a-f]{16}\]", value)


def test_list_of_strings_and_large_types_sliced_and_chunked() -> None:
    options = pa.array(
        [["ok", "mail x@y.org"], None, ["+1 555 123 4567"], []], pa.list_(pa.string())
    )
    large = pa.array(["x@y.org", None, "no", "z@y.org"], pa.large_string())
    table = pa.table({"Options": options, "Body": large}).slice(1)
    table = pa.concat_tables([table, table])
    out = redactor("email", "phone").redact_table(table, ["Options", "Body"])
    assert out.schema == table.schema
    assert out.column("Options").to_pylist() == [None, ["[REDACTED:phone]"], []] * 2
    assert out.column("Body").to_pylist() == [None, "no", "[REDACTED:email]"] * 2


def test_clean_tables_are_returned_untouched() -> None:
    table = span_table()
    assert Redactor().redact_table(table, SPAN_COLUMNS) is table
    assert redactor().redact_table(LOG_SCHEMA.empty_table(), LOG_COLUMNS).num_rows == 0
    assert Redactor(RedactionConfig(rules=())).redact_table(table, SPAN_COLUMNS) is table


def test_bad_columns() -> None:
    table = pa.table({"n": [1], "s": ["x"]})
    with pytest.raises(TypeError, match="'n'"):
        Redactor().redact_table(table, ["n"])
    with pytest.raises(KeyError, match="nope"):
        Redactor().redact_table(table, ["nope"])


def test_redact_record_and_running_counts() -> None:
    assert set(DECISION_FIELDS) <= set(DECISION_SCHEMA.names)
    r = redactor("email", deny_keys=("customer.*",))
    record = {
        "DecisionId": "d1",
        "Rationale": "refund for a@b.com",
        "Chosen": "refund",
        "Options": ["refund", "mail c@d.com"],
        "Inputs": ["ticket from e@f.com"],
        "PolicyChecks": '[{"name":"pii","who":"g@h.com"}]',
        "ApprovedBy": "boss@corp.com",
        "Confidence": 0.9,
        "Attributes": {"customer.name": "Ann", "channel": "mail i@j.com"},
    }
    out = r.redact_record(record)
    assert out == {
        **record,
        "Rationale": "refund for [REDACTED:email]",
        "Options": ["refund", "mail [REDACTED:email]"],
        "Inputs": ["ticket from [REDACTED:email]"],
        "PolicyChecks": '[{"name":"pii","who":"[REDACTED:email]"}]',
        "ApprovedBy": "[REDACTED:email]",
        "Attributes": {"customer.name": "[REDACTED:deny_key]", "channel": "mail [REDACTED:email]"},
    }
    assert record["Rationale"] == "refund for a@b.com"  # the input is not modified
    assert r.counts == Counter({"email": 6, "deny_key": 1})


def test_counts_are_thread_safe() -> None:
    r = redactor("email")
    table = pa.table({"Body": ["a@b.com c@d.com"] * 100})
    threads = [
        threading.Thread(target=lambda: [r.redact_table(table, ["Body"]) for _ in range(20)])
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert r.counts == Counter({"email": 8 * 20 * 200})


def test_from_env() -> None:
    assert RedactionConfig.from_env({}) == RedactionConfig()
    assert RedactionConfig.from_env({"AGENTLEDGER_REDACT_RULES": "ALL"}).rules == BUILTIN_RULES
    assert RedactionConfig.from_env({"AGENTLEDGER_REDACT_RULES": "none"}).rules == ()
    config = RedactionConfig.from_env(
        {
            "AGENTLEDGER_REDACT_RULES": "email, card,email",
            "AGENTLEDGER_REDACT_MODE": "hash",
            "AGENTLEDGER_REDACT_HASH_KEY": "k" * 16,
            "AGENTLEDGER_REDACT_CUSTOM": "ticket=TICKET-[0-9]+; emp = E=[0-9]{3};",
            "AGENTLEDGER_REDACT_DENY_KEYS": "password, *authorization*",
            "AGENTLEDGER_REDACT_ALLOW_KEYS": "gen_ai.*",
        }
    )
    assert config == RedactionConfig(
        rules=("email", "card"),
        mode="hash",
        hash_key="k" * 16,
        custom={"ticket": "TICKET-[0-9]+", "emp": "E=[0-9]{3}"},
        deny_keys=("password", "*authorization*"),
        allow_keys=("gen_ai.*",),
    )
    assert "k" * 16 not in repr(config)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"AGENTLEDGER_REDACT_RULES": "email,ssn"}, "AGENTLEDGER_REDACT_RULES"),
        ({"AGENTLEDGER_REDACT_MODE": "encrypt"}, "AGENTLEDGER_REDACT_MODE"),
        ({"AGENTLEDGER_REDACT_MODE": "hash"}, "AGENTLEDGER_REDACT_HASH_KEY"),
        (
            {"AGENTLEDGER_REDACT_MODE": "hash", "AGENTLEDGER_REDACT_HASH_KEY": "short"},
            "AGENTLEDGER_REDACT_HASH_KEY",
        ),
        ({"AGENTLEDGER_REDACT_CUSTOM": "bad=[unclosed"}, "AGENTLEDGER_REDACT_CUSTOM"),
        ({"AGENTLEDGER_REDACT_CUSTOM": r"re2=(?<!x)y"}, "AGENTLEDGER_REDACT_CUSTOM"),
        ({"AGENTLEDGER_REDACT_CUSTOM": "noequals"}, "AGENTLEDGER_REDACT_CUSTOM"),
        ({"AGENTLEDGER_REDACT_CUSTOM": "email=x"}, "AGENTLEDGER_REDACT_CUSTOM"),
        ({"AGENTLEDGER_REDACT_CUSTOM": "Bad Name=x"}, "AGENTLEDGER_REDACT_CUSTOM"),
        ({"AGENTLEDGER_REDACT_CUSTOM": "a=x;a=y"}, "AGENTLEDGER_REDACT_CUSTOM"),
        ({"AGENTLEDGER_REDACT_CUSTOM": "empty=x*"}, "AGENTLEDGER_REDACT_CUSTOM"),
    ],
)
def test_config_errors_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        RedactionConfig.from_env(env)


def test_config_errors_without_env() -> None:
    with pytest.raises(ValueError, match="key"):
        RedactionConfig(mode="hash")
    with pytest.raises(ValueError, match="unknown rule"):
        RedactionConfig(rules=("ssn",))
    with pytest.raises(ValueError, match="empty"):
        RedactionConfig(deny_keys=("",))


# Property tests: text built from PII-shaped fragments, separators and arbitrary characters.
FRAGMENTS = [text for _, text, _ in POSITIVE] + [text for _, text in NEGATIVE]
FRAGMENTS += [" ", "-", "+", "@", ".", ":", "::", "/", "=", "\n", "0", "4", "Bearer ", "sk-"]
texts = st.lists(st.one_of(st.text(max_size=12), st.sampled_from(FRAGMENTS)), max_size=6).map(
    "".join
)
EVERYTHING = redactor(custom={"ticket": r"TICKET-[0-9]{4}"})


@st.composite
def cards(draw: st.DrawFn) -> str:
    """Luhn-valid 16-digit numbers starting with 2-9 (see the module docstring)."""
    partial = draw(st.sampled_from("23456789")) + draw(
        st.text("0123456789", min_size=14, max_size=14)
    )
    return next(partial + d for d in "0123456789" if luhn_ok(partial + d))


ALNUM = set(string.ascii_letters + string.digits)


@settings(max_examples=300, deadline=None)
@given(texts, cards(), texts, st.sampled_from([redactor("card"), EVERYTHING]))
def test_no_card_survives(prefix: str, card: str, suffix: str, r: Redactor) -> None:
    # Glued to letters or digits, the card would be part of a longer word or number.
    text = prefix + " " * (prefix[-1:] in ALNUM) + card + " " * (suffix[:1] in ALNUM) + suffix
    out, counts = r.redact_text(text)
    assert card not in out and sum(counts.values()) >= 1


@settings(max_examples=300, deadline=None)
@given(texts)
def test_redact_text_never_raises(text: str) -> None:
    for r in (EVERYTHING, redactor(mode="hash", hash_key=KEY)):
        out, counts = r.redact_text(text)
        assert isinstance(out, str) and all(n > 0 for n in counts.values())


def apply(r: Redactor, value: Any) -> Any:
    if isinstance(value, str):
        return r.redact_text(value)[0]
    if isinstance(value, list):
        return [apply(r, item) for item in value]
    if isinstance(value, tuple):
        return (value[0], apply(r, value[1]))
    return value


maybe = st.none() | texts
maps = st.none() | st.lists(st.tuples(st.sampled_from(["k", "user.email", "x"]), maybe), max_size=3)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            maybe,
            st.none() | st.lists(maybe, max_size=3),
            maps,
            st.none() | st.lists(maps, max_size=3),
        ),
        max_size=8,
    ),
    st.integers(0, 3),
)
def test_redact_table_equals_redact_text_per_value(rows: list[tuple[Any, ...]], skip: int) -> None:
    table = pa.table(
        {
            "s": pa.array([row[0] for row in rows], pa.string()),
            "l": pa.array([row[1] for row in rows], pa.list_(pa.string())),
            "m": pa.array([row[2] for row in rows], ATTRS),
            "lm": pa.array([row[3] for row in rows], pa.list_(ATTRS)),
        }
    ).slice(min(skip, len(rows)))
    out = EVERYTHING.redact_table(table, ["s", "l", "m", "lm"])
    assert out.schema == table.schema
    for name in table.column_names:
        assert out.column(name).to_pylist() == apply(EVERYTHING, table.column(name).to_pylist())


def _message(key: str, value: str) -> bytes:
    """A serialized OTLP trace request carrying one attribute, as the receiver spools it."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    request = ExportTraceServiceRequest()
    span = (
        request.resource_spans.add()
        .scope_spans.add()
        .spans.add(trace_id=bytes(range(1, 17)), span_id=bytes(range(1, 9)), name="s")
    )
    span.attributes.append(KeyValue(key=key, value=AnyValue(string_value=value)))
    data: bytes = request.SerializeToString()
    return data


DENYING = redactor(custom={"ticket": r"TICKET-[0-9]{4}"}, deny_keys=("*pass[wo]*", "db.?ser"))
SECRETS_AND_EMAIL = redactor(*SECRET_RULES, "email")


@settings(max_examples=300, deadline=None)
@given(texts, st.sampled_from(["note", "user.password", "db.user", "db.üser", "x", "pässwort"]))
def test_may_redact_holds_wherever_a_value_would_be_redacted(text: str, key: str) -> None:
    for r in (EVERYTHING, DENYING, redactor(), Redactor(), SECRETS_AND_EMAIL):
        table = pa.table({"a": pa.array([[(key, text)]], pa.map_(pa.string(), pa.string()))})
        if not r.redact_table(table, ["a"]).equals(table):
            assert r.may_redact(_message(key, text)), (key, text)


def test_may_redact_is_false_for_clean_messages_and_unsure_of_edges() -> None:
    clean = _message("gen_ai.request.model", "The refund for order 4411 can be expedited.")
    assert not redactor().may_redact(clean)
    assert not Redactor(RedactionConfig(rules=())).may_redact(clean)
    assert redactor().may_redact(_message("h", f"Bearer {JWT}"))
    assert DENYING.may_redact(_message("user.passwd", "hunter2"))
    assert redactor(custom={"whole": r"^secret$"}).may_redact(clean)


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        (r"x.y", "xéy"),
        (r"a\Sb", "aéb"),
        (r"a[^b]c", "aéc"),
        (r"n\Wm", "n€m"),
        (r"(?:q.){2}", "qéqé"),
    ],
)
def test_may_redact_is_unsure_of_patterns_that_take_a_character_as_one_byte(
    pattern: str, value: str
) -> None:
    """In a message's bytes a character beyond ASCII is two to four: a scan for x.y would miss
    "xéy", which the Python rule redacts."""
    r = redactor(custom={"code": pattern})
    assert r.redact_text(value)[1] == {"code": 1}
    assert r.may_redact(_message("k", value))
    assert r.may_redact(_message("k", "plain"))


@pytest.mark.parametrize("pattern", [r"x\.y", r"a.*b", r"c.+d", r"TICKET-[0-9]{4}"])
def test_may_redact_still_scans_for_patterns_whose_dots_span_any_bytes(pattern: str) -> None:
    r = redactor(custom={"code": pattern})
    assert not r.may_redact(_message("k", "plain"))


def test_a_key_glob_character_matches_a_character_of_any_width() -> None:
    r = redactor(deny_keys=("p?ss", "k[éx]y"))
    for key in ("päss", "kéy", "p€ss"):
        table = pa.table({"a": pa.array([[(key, "v")]], pa.map_(pa.string(), pa.string()))})
        assert r.redact_table(table, ["a"]).column("a").to_pylist() == [
            [(key, "[REDACTED:deny_key]")]
        ]
        assert r.may_redact(_message(key, "v")), key
    assert not r.may_redact(_message("pose", "v"))
