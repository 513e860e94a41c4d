"""Redaction of secrets and PII in decoded OTLP columns, before anything is stored.

Agents record what they see: prompts with e-mail addresses, tool calls with API keys, HTTP headers
with bearer tokens. Once such a value reaches ClickHouse it is in every replica, backup and query
result, and deleting it later is a mutation per table. So the collector removes it on ingest, on
the Arrow columns the decoders produce, and the store only ever sees the redacted text.

Two modes: ``mask`` writes ``[REDACTED:<rule>]``; ``hash`` writes ``[<rule>:hmac:<16 hex>]``, a
keyed HMAC-SHA256 of the matched text, so equal values still group and join (one customer's e-mail
across traces) while nobody without the key can recover or confirm a value by hashing guesses.

Every rule is a Python regular expression (exact: look-arounds for boundaries, then checks such as
Luhn or IBAN mod-97) and an RE2 prefilter derived from it that matches at least wherever the exact
one does. On a column, ``pyarrow.compute`` runs the prefilters over all values in one pass and only
the few candidates go through Python; a batch without candidates is returned untouched. Custom
patterns serve as their own prefilter, so they must be valid in both dialects (no look-arounds or
backreferences). Text already redacted in ``hash`` mode is left as it is.

Before any of that, the receiver asks whether a trace request may hold anything to redact at all
(:meth:`Redactor.may_redact`): the rules' patterns are searched for in its serialized bytes, and
a request with no candidate is spooled for the engine to decode, never seen by Python.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import threading
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any, Literal, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from agentledger.collector.byte_scan import ByteScan
from agentledger.config import ConfigError

__all__ = [
    "BUILTIN_RULES",
    "DECISION_FIELDS",
    "DENY_KEY_RULE",
    "LOG_COLUMNS",
    "SECRET_RULES",
    "SPAN_COLUMNS",
    "RedactionConfig",
    "Redactor",
]

Mode = Literal["mask", "hash"]
_Span = tuple[int, int]
_Check = Callable[[str], list[_Span]]
_T = TypeVar("_T")

# Columns of the span and log tables (spans.SCHEMA, logs.LOG_SCHEMA) that carry free text.
SPAN_COLUMNS = (
    "ResourceAttributes",
    "SpanAttributes",
    "StatusMessage",
    "Events.Attributes",
    "Links.Attributes",
)
LOG_COLUMNS = ("ResourceAttributes", "ScopeAttributes", "LogAttributes", "Body")
# Text fields of a decision record (collector.logs._decision), besides its ``Attributes`` dict.
DECISION_FIELDS = ("Options", "Chosen", "Inputs", "PolicyChecks", "ApprovedBy", "Rationale")
# The count and token name for values redacted because of their attribute key.
DENY_KEY_RULE = "deny_key"


def _whole(text: str) -> list[_Span]:
    return [(0, len(text))]


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


_DIGIT_GROUP = re.compile(r"[0-9]+")


def _check_card(text: str) -> list[_Span]:
    """Luhn-valid runs of 13-19 digits within digit groups separated by spaces or dashes.

    Groups are never split, and a number must start with 2-9: no card network issues 0 or 1, and
    this keeps Unix timestamps in s, ms, us and ns from passing as 13-19 digit card numbers.
    """
    groups = [match.span() for match in _DIGIT_GROUP.finditer(text)]
    found: list[_Span] = []
    first = 0
    while first < len(groups):
        run, best = "", -1
        for last in range(first, len(groups)):
            run += text[groups[last][0] : groups[last][1]]
            if len(run) > 19:
                break
            if len(run) >= 13 and run[0] not in "01" and _luhn(run):
                best = last
        if best < 0:
            first += 1
        else:
            found.append((groups[first][0], groups[best][1]))
            first = best + 1
    return found


def _check_iban(text: str) -> list[_Span]:
    """The longest prefix, in whole space-separated groups, that passes the mod-97 check."""
    parts = text.split(" ")
    for count in range(len(parts), 0, -1):
        compact = "".join(parts[:count])
        if 15 <= len(compact) <= 34:
            rearranged = compact[4:] + compact[:4]
            if int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1:
                return [(0, len(" ".join(parts[:count])))]
    return []


def _check_phone(text: str) -> list[_Span]:
    digits = sum(char.isdigit() for char in text)
    ok = 7 <= digits <= 15 if text.startswith("+") else 9 <= digits <= 12
    return _whole(text) if ok else []


def _check_ipv6(text: str) -> list[_Span]:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return []
    return _whole(text) if text != "::" else []


def _check_bearer(text: str) -> list[_Span]:
    """Skips prose such as "Bearer authentication": a token has a digit or is long."""
    ok = len(text) >= 8 and (len(text) >= 20 or any(char.isdigit() for char in text))
    return _whole(text) if ok else []


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_H = r"[0-9A-Fa-f]{1,4}"
_PEM = r"[A-Za-z0-9+/=\s\\:,.-]"

# In priority order: where matches of two rules overlap, the earlier rule wins. Look-arounds must
# not contain parentheses (they are cut out for the RE2 prefilter). When a named group ``secret``
# takes part in a match, only that group is replaced.
_BUILTINS: dict[str, tuple[str, _Check | None]] = {
    # The body is base64 and headers, with newlines possibly JSON-escaped; an unterminated block
    # (a truncated log line) is redacted up to the end of its body.
    "private_key": (
        rf"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----"
        rf"(?:{_PEM}*?-----END[A-Z0-9 ]*PRIVATE KEY-----|{_PEM}*)",
        None,
    ),
    "jwt": (r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*", None),
    "bearer_token": (
        r"(?<![A-Za-z0-9_-])(?i:bearer)[ \t]+(?P<secret>[A-Za-z0-9._~+/-]+=*)",
        _check_bearer,
    ),
    "api_key": (
        r"(?<![A-Za-z0-9_-])(?:sk-[A-Za-z0-9_-]{20,}|A(?:KIA|SIA)[0-9A-Z]{16}(?![0-9A-Za-z])"
        r"|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|xox[abposr]-[A-Za-z0-9-]{10,})"
        r"|(?<![A-Za-z0-9])(?i:api[_-]?key)[\"']?[ \t]*[:=][ \t]*[\"']?"
        r"(?P<secret>[A-Za-z0-9._~+/-]{8,})",
        None,
    ),
    "email": (
        r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
        r"(?![A-Za-z0-9-])",
        None,
    ),
    "iban": (
        r"(?<![0-9A-Za-z])[A-Z]{2}[0-9]{2}(?: ?[0-9A-Z]{4}){2,7}(?: ?[0-9A-Z]{1,3})?"
        r"(?![0-9A-Za-z])",
        _check_iban,
    ),
    "ipv6": (
        r"(?<![0-9A-Za-z:.])(?:"
        rf"{_H}(?::{_H}){{7}}|(?:{_H}:){{6}}[0-9]{{1,3}}(?:\.[0-9]{{1,3}}){{3}}"
        rf"|(?:{_H}(?::{_H}){{0,5}})?::(?:{_H}(?::{_H}){{0,5}})?(?:\.[0-9]{{1,3}}){{0,3}}"
        r")(?![0-9A-Za-z:]|\.[0-9])",
        _check_ipv6,
    ),
    # Versions with a prefix or a fifth part (v1.2.3.4, 1.2.3.4.5) are not addresses.
    "ipv4": (rf"(?<![0-9A-Za-z.])(?:{_OCTET}\.){{3}}{_OCTET}(?![0-9A-Za-z]|\.[0-9])", None),
    # International (+, 7-15 digits), North American, and national with a trunk 0 (9-12 digits);
    # national numbers need separators, so plain ids and dates (01.02.2024) are left alone.
    "phone": (
        r"(?<![0-9A-Za-z_])\+[1-9][0-9]{0,14}(?:[ .-](?:\([0-9]{1,4}\)|[0-9]{1,14})){0,6}"
        r"(?![0-9A-Za-z])"
        r"|(?<![0-9A-Za-z_+./-])(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[ .-])[0-9]{3}[ .-][0-9]{4}"
        r"(?![0-9A-Za-z]|[.-][0-9])"
        r"|(?<![0-9A-Za-z_+./-])(?:\(0[0-9]{1,4}\) ?|0[0-9]{1,4}[ ./-])[0-9]{2,8}"
        r"(?:[ ./-][0-9]{2,8}){0,4}(?![0-9A-Za-z])",
        _check_phone,
    ),
    "card": (r"(?<![0-9A-Za-z])[0-9](?:[ -]?[0-9]){12,}(?![0-9A-Za-z])", _check_card),
}

BUILTIN_RULES = tuple(_BUILTINS)

SECRET_RULES = ("bearer_token", "api_key", "jwt", "private_key")

_LOOKBEHIND = re.compile(r"\(\?<!(\[[^\]]*\])\)")
_LOOKAHEAD = re.compile(r"\(\?!(\[[^\]]*\])\)")
_LOOKAROUND = re.compile(r"\(\?<?[=!][^()]*\)")


def _prefilter(pattern: str) -> str:
    """The RE2 form of a built-in pattern: look-arounds of one class become that class negated
    (or the text's edge), other look-arounds are dropped, so it matches at least as often."""
    pattern = _LOOKBEHIND.sub(lambda m: f"(?:^|[^{m[1][1:]})", pattern)
    pattern = _LOOKAHEAD.sub(lambda m: f"(?:$|[^{m[1][1:]})", pattern)
    return _LOOKAROUND.sub("", pattern)


# Constructs that match at text edges or word boundaries, which a value's bytes inside a message
# do not keep: a custom pattern with one cannot be searched for in a whole message.
_EDGES = re.compile(r"\^|\$|\\[AbBzZ]|\(\?<?[=!]")
# Constructs that match one character of a value but one byte of a message, where a character
# beyond ASCII is two to four: a negated class, an unescaped dot not followed by * or +, the
# complement classes and Unicode classes. A custom pattern with one could miss in a message
# ("x.y" in "xéy") what it matches in the value.
_ONE_CHARACTER = re.compile(r"\[\^|(?<!\\)(?:\\\\)*(?:\.(?![*+])|\\[DSWpPX])")


def _raw_patterns(config: RedactionConfig, enabled: set[str]) -> list[str] | None:
    """Patterns for whole serialized messages (see Redactor.may_redact): none when nothing can
    be redacted, None when a custom pattern cannot be searched for in a message's bytes."""
    unsure = (_EDGES.search(p) or _ONE_CHARACTER.search(p) for p in config.custom.values())
    if any(unsure):
        return None
    parts = [_LOOKAROUND.sub("", _BUILTINS[name][0]) for name in _BUILTINS if name in enabled]
    parts += config.custom.values()
    parts += [f"(?is){_glob_regex(glob)}" for glob in config.deny_keys]
    return parts


def _raw_scan(config: RedactionConfig, enabled: set[str]) -> Callable[[bytes], bool]:
    """Redactor.may_redact's test: a Hyperscan scan of the raw patterns, or a constant answer
    when there is nothing to look for or no scan is certain."""
    patterns = _raw_patterns(config, enabled)
    if patterns is None:
        return _always
    return ByteScan(patterns).found if patterns else _never


def _always(message: bytes) -> bool:
    return True


def _never(message: bytes) -> bool:
    return False


_GLOB_TOKEN = re.compile(r"\[[^\]]*\]|.", re.DOTALL)


def _glob_regex(glob: str) -> str:
    """A key glob as an unanchored pattern that matches at least where the glob does, in the
    UTF-8 bytes of a key: one character of the glob (?, a class) is one to four bytes."""
    tokens = (token[0] for token in _GLOB_TOKEN.finditer(glob))
    return "".join(
        ".*" if t == "*" else ".{1,4}" if t == "?" or len(t) > 1 else re.escape(t) for t in tokens
    )


_RULE_NAME = re.compile(r"[a-z][a-z0-9_]*")
_HASH_TOKEN = re.compile(r"\[[a-z][a-z0-9_]*:hmac:[0-9a-f]{16}\]")


def _check_rules(rules: Sequence[str]) -> None:
    unknown = [name for name in rules if name not in _BUILTINS]
    if unknown:
        raise ValueError(f"unknown rule {', '.join(unknown)}; known: {', '.join(BUILTIN_RULES)}")


def _check_mode(mode: str) -> None:
    if mode not in ("mask", "hash"):
        raise ValueError(f"mode must be 'mask' or 'hash', got {mode!r}")


def _key_bytes(key: bytes | str | None) -> bytes:
    return key.encode() if isinstance(key, str) else key or b""


def _check_hash_key(mode: str, key: bytes | str | None) -> None:
    if mode == "hash" and len(_key_bytes(key)) < 16:
        raise ValueError("hash mode needs a secret key of at least 16 bytes")


def _check_custom(custom: Mapping[str, str]) -> None:
    for name, pattern in custom.items():
        if not _RULE_NAME.fullmatch(name) or name in _BUILTINS or name == DENY_KEY_RULE:
            raise ValueError(
                f"custom rule name {name!r} must be [a-z][a-z0-9_]* and not a built-in rule"
            )
        try:
            compiled = re.compile(pattern, re.ASCII)
            pc.match_substring_regex(pa.array([""]), pattern)
        except (re.error, pa.ArrowInvalid) as err:
            raise ValueError(f"custom rule {name!r}: invalid Python/RE2 regex: {err}") from None
        if compiled.search(""):
            raise ValueError(f"custom rule {name!r}: pattern matches the empty string")


def _check_globs(globs: Sequence[str]) -> None:
    if not all(globs):
        raise ValueError("key patterns must not be empty")


def _parse_rules(raw: str) -> tuple[str, ...]:
    if raw.lower() == "all":
        return BUILTIN_RULES
    if raw.lower() == "none":
        return ()
    rules = tuple(dict.fromkeys(_parse_list(raw)))
    _check_rules(rules)
    return rules


def _parse_mode(raw: str) -> Mode:
    mode = raw.lower()
    if mode == "hash":
        return "hash"
    _check_mode(mode)
    return "mask"


def _parse_custom(raw: str) -> dict[str, str]:
    custom: dict[str, str] = {}
    for part in filter(str.strip, raw.split(";")):
        name, sep, pattern = (piece.strip() for piece in part.partition("="))
        if not (sep and name and pattern):
            raise ValueError(f"expected name=regex separated by ';', got {part.strip()!r}")
        if name in custom:
            raise ValueError(f"custom rule {name!r} is defined twice")
        custom[name] = pattern
    _check_custom(custom)
    return custom


def _parse_list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _from_env(env: Mapping[str, str], var: str, parse: Callable[[str], _T], default: _T) -> _T:
    raw = env.get(var, "").strip()
    if not raw:
        return default
    try:
        return parse(raw)
    except ValueError as err:
        raise ConfigError(f"{var}: {err}") from None


@dataclass(frozen=True)
class RedactionConfig:
    """What to redact. Custom rules are always on; ``rules`` picks among the built-in ones.

    ``deny_keys`` and ``allow_keys`` are case-insensitive globs on attribute keys: a denied key's
    whole value is replaced, an allowed key's value is never touched. A key matching both is
    allowed, so ``allow_keys`` can carve exceptions (``gen_ai.usage.*``) out of a broad deny
    (``*token*``).
    """

    rules: tuple[str, ...] = SECRET_RULES
    mode: Mode = "mask"
    hash_key: bytes | str | None = field(default=None, repr=False)
    custom: Mapping[str, str] = field(default_factory=dict)
    deny_keys: tuple[str, ...] = ()
    allow_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_rules(self.rules)
        _check_mode(self.mode)
        _check_hash_key(self.mode, self.hash_key)
        _check_custom(self.custom)
        _check_globs(self.deny_keys)
        _check_globs(self.allow_keys)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RedactionConfig:
        """Reads ``AGENTLEDGER_REDACT_*``; an invalid value raises ConfigError naming it.

        RULES is a comma list of built-in rule names, ``all`` or ``none``; CUSTOM is
        ``name=regex;name2=regex2`` (a pattern cannot contain ``;``, write ``\\x3b``); DENY_KEYS
        and ALLOW_KEYS are comma lists of globs.
        """
        mode: Mode = _from_env(env, "AGENTLEDGER_REDACT_MODE", _parse_mode, "mask")
        hash_key = env.get("AGENTLEDGER_REDACT_HASH_KEY", "").strip() or None
        try:
            _check_hash_key(mode, hash_key)
        except ValueError as err:
            raise ConfigError(f"AGENTLEDGER_REDACT_HASH_KEY: {err}") from None
        return cls(
            rules=_from_env(env, "AGENTLEDGER_REDACT_RULES", _parse_rules, SECRET_RULES),
            mode=mode,
            hash_key=hash_key,
            custom=_from_env(env, "AGENTLEDGER_REDACT_CUSTOM", _parse_custom, {}),
            deny_keys=_from_env(env, "AGENTLEDGER_REDACT_DENY_KEYS", _parse_list, ()),
            allow_keys=_from_env(env, "AGENTLEDGER_REDACT_ALLOW_KEYS", _parse_list, ()),
        )


@dataclass(frozen=True)
class _Rule:
    name: str
    regex: re.Pattern[str]
    check: _Check | None

    def spans(self, text: str) -> Iterator[_Span]:
        secret = "secret" in self.regex.groupindex
        for match in self.regex.finditer(text):
            part = "secret" if secret and match.start("secret") >= 0 else 0
            start, end = match.span(part)
            if start == end:
                continue
            for first, last in self.check(text[start:end]) if self.check else [(0, end - start)]:
                yield start + first, start + last


def _nulls(array: Any) -> Any:
    return array.is_null() if array.null_count else None


def _child_range(array: Any) -> tuple[Any, int, int]:
    """Offsets rebased to 0, and the range of the child array a (sliced) list array uses.

    The offsets are always copied: from_arrays rejects a null mask with sliced offsets.
    """
    offsets = array.offsets
    start, end = offsets[0].as_py(), offsets[-1].as_py()
    return pc.subtract(offsets, pa.scalar(start, offsets.type)), start, end - start


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _supported(kind: pa.DataType) -> bool:
    if pa.types.is_map(kind):
        return _is_text(kind.key_type) and _is_text(kind.item_type)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _supported(kind.value_type)
    return _is_text(kind)


class Redactor:
    """Applies a RedactionConfig to text, Arrow tables and decision records; thread-safe."""

    def __init__(self, config: RedactionConfig | None = None) -> None:
        self.config = config or RedactionConfig()
        enabled = set(self.config.rules)
        rules = [(name, *rule) for name, rule in _BUILTINS.items() if name in enabled]
        rules += [(name, pattern, None) for name, pattern in self.config.custom.items()]
        self._rules = [_Rule(name, re.compile(p, re.ASCII), check) for name, p, check in rules]
        prefilters = [_prefilter(_BUILTINS[name][0]) for name in _BUILTINS if name in enabled]
        prefilters += self.config.custom.values()
        self._prefilter = "|".join(f"(?:{pattern})" for pattern in prefilters)
        self._raw_scan = _raw_scan(self.config, enabled)
        self._key = _key_bytes(self.config.hash_key) if self.config.mode == "hash" else None
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._key_action = lru_cache(maxsize=4096)(self._classify_key)

    @property
    def counts(self) -> Counter[str]:
        """Matches redacted so far by redact_table and redact_record, per rule (values for
        DENY_KEY_RULE)."""
        with self._lock:
            return Counter(self._counts)

    def may_redact(self, message: bytes) -> bool:
        """Whether anything in a serialized protobuf message might be redacted.

        False only when certain: the message's strings appear verbatim in its bytes, and the
        pattern searched there matches wherever a rule or a denied key could. Messages for
        which this says False can be stored without decoding them in Python.
        """
        return self._raw_scan(message)

    def redact_text(self, value: str) -> tuple[str, Counter[str]]:
        """The redacted text and the number of matches per rule; does not touch ``counts``."""
        counts: Counter[str] = Counter()
        taken = [match.span() for match in _HASH_TOKEN.finditer(value)]
        found: list[tuple[int, int, str]] = []
        for rule in self._rules:
            for start, end in rule.spans(value):
                at = bisect_left(taken, (start, end))
                if (at and taken[at - 1][1] > start) or (at < len(taken) and taken[at][0] < end):
                    continue
                taken.insert(at, (start, end))
                found.append((start, end, rule.name))
                counts[rule.name] += 1
        if not found:
            return value, counts
        pieces: list[str] = []
        done = 0
        for start, end, name in sorted(found):
            pieces += (value[done:start], self._token(name, value[start:end]))
            done = end
        pieces.append(value[done:])
        return "".join(pieces), counts

    def redact_table(self, table: pa.Table, columns: Sequence[str]) -> pa.Table:
        """A table with the named string, list and map<string, string> columns redacted.

        Map keys are kept and decide deny/allow; nulls and the schema are preserved. A table with
        nothing to redact is returned as is.
        """
        counts: Counter[str] = Counter()
        for name in columns:
            index = table.schema.get_field_index(name)
            if index < 0:
                raise KeyError(f"no column {name!r} to redact")
            column = table.column(index)
            if not _supported(column.type):
                raise TypeError(f"cannot redact column {name!r} of type {column.type}")
            chunks = column.chunks
            redacted = [self._redact_array(chunk, counts) for chunk in chunks]
            if any(new is not old for new, old in zip(redacted, chunks, strict=True)):
                column = pa.chunked_array(redacted, column.type)
                table = table.set_column(index, table.schema.field(index), column)
        self._add(counts)
        return table

    def redact_record(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of a decision record with DECISION_FIELDS and ``Attributes`` redacted."""
        counts: Counter[str] = Counter()
        out = dict(record)
        for name in DECISION_FIELDS:
            value = out.get(name)
            if isinstance(value, str):
                out[name] = self._value(value, "", counts)
            elif isinstance(value, list):
                out[name] = [self._value(v, "", counts) if isinstance(v, str) else v for v in value]
        attributes = out.get("Attributes")
        if isinstance(attributes, Mapping):
            out["Attributes"] = {
                key: self._value(value, self._key_action(key), counts)
                if isinstance(value, str)
                else value
                for key, value in attributes.items()
            }
        self._add(counts)
        return out

    def _token(self, rule: str, text: str) -> str:
        if self._key is None:
            return f"[REDACTED:{rule}]"
        data = text.encode("utf-8", "surrogatepass")
        return f"[{rule}:hmac:{hmac.new(self._key, data, hashlib.sha256).hexdigest()[:16]}]"

    def _value(self, value: str, action: str, counts: Counter[str]) -> str:
        if action == "allow":
            return value
        if action == "deny":
            counts[DENY_KEY_RULE] += 1
            return self._token(DENY_KEY_RULE, value)
        text, found = self.redact_text(value)
        counts.update(found)
        return text

    def _add(self, counts: Counter[str]) -> None:
        if counts:
            with self._lock:
                self._counts.update(counts)

    def _classify_key(self, key: str) -> str:
        lowered = key.lower()
        if any(fnmatchcase(lowered, glob.lower()) for glob in self.config.allow_keys):
            return "allow"
        if any(fnmatchcase(lowered, glob.lower()) for glob in self.config.deny_keys):
            return "deny"
        return ""

    def _redact_array(self, array: Any, counts: Counter[str]) -> Any:
        kind = array.type
        if pa.types.is_map(kind):
            offsets, start, length = _child_range(array)
            keys, items = array.keys.slice(start, length), array.items.slice(start, length)
            new = self._redact_strings(items, counts, keys)
            if new is items:
                return array
            return pa.MapArray.from_arrays(offsets, keys, new, type=kind, mask=_nulls(array))
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            offsets, start, length = _child_range(array)
            values = array.values.slice(start, length)
            new = self._redact_array(values, counts)
            if new is values:
                return array
            return type(array).from_arrays(offsets, new, type=kind, mask=_nulls(array))
        return self._redact_strings(array, counts, None)

    def _redact_strings(self, values: Any, counts: Counter[str], keys: Any) -> Any:
        """Replaces candidate values; ``keys`` (of a map) select denied and allowed values."""
        by_key = keys is not None and bool(self.config.deny_keys or self.config.allow_keys)
        if not (self._rules or by_key):
            return values
        mask = (
            pc.match_substring_regex(values, self._prefilter)
            if self._rules
            else pa.nulls(len(values), pa.bool_())
        )
        actions = self._key_actions(keys) if by_key else None
        if actions is not None:
            mask = pc.or_kleene(mask, pc.equal(actions, "deny"))
            mask = pc.and_not_kleene(mask, pc.equal(actions, "allow"))
        mask = pc.and_kleene(mask, values.is_valid()).fill_null(False)
        if not pc.any(mask).as_py():
            return values
        where = pc.indices_nonzero(mask)
        chosen = values.take(where).to_pylist()
        labels = actions.take(where).to_pylist() if actions is not None else [""] * len(chosen)
        out = [self._value(v, label, counts) for v, label in zip(chosen, labels, strict=True)]
        return pc.replace_with_mask(values, mask, pa.array(out, values.type))

    def _key_actions(self, keys: Any) -> Any:
        """Per key: "deny", "allow" or "", classifying each distinct key once."""
        distinct = pc.unique(keys)
        labels = pa.array([self._key_action(key) for key in distinct.to_pylist()], pa.string())
        return labels.take(pc.index_in(keys, distinct))
