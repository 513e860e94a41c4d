"""Pure parsing for the SQL endpoint: ClickHouse HTTP requests taken apart without any I/O.

Kept apart from the endpoint so it can be tested on arbitrary input: each function either returns
or raises :class:`SqlRequestError`, whose ``code`` is the ClickHouse error code to report. None of
this decides what a user may do; that is the engine's job (see ``sql_endpoint``).
"""

from __future__ import annotations

import email.parser
import email.policy
import io
import re
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO

import lz4.frame
import zstandard

BAD_ARGUMENTS = 36
NOT_IMPLEMENTED = 48
SYNTAX_ERROR = 62
UNKNOWN_COMPRESSION_METHOD = 89
UNKNOWN_SETTING = 115
QUERY_IS_TOO_LARGE = 229
CANNOT_DECOMPRESS = 271

# URL parameters that steer the HTTP exchange rather than the query; "query", "database" and
# "default_format" are read by the endpoint, the rest mean nothing to an embedded engine.
TRANSPORT_PARAMS = frozenset(
    {
        "query", "database", "default_format", "query_id", "session_id", "session_timeout",
        "session_check", "wait_end_of_query", "send_progress_in_http_headers",
        "http_headers_progress_interval_ms", "enable_http_compression", "compress", "decompress",
        "user", "password", "quota_key", "buffer_size", "client_protocol_version", "role",
    }
)  # fmt: skip

_SETTING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_WORD = re.compile(rb"[A-Za-z0-9_\x80-\xff]+")
_HEREDOC = re.compile(rb"\$[A-Za-z0-9_]*\$")
_QUOTED = {
    quote: re.compile(rb"%s(?:[^%s\\]|\\.|%s%s)*%s" % ((re.escape(quote),) * 5), re.DOTALL)
    for quote in (b"'", b'"', b"`")
}
_COMMENT_MARK = re.compile(rb"/\*|\*/")
_NAME_BEFORE = frozenset({b"INTO", b"TABLE", b"FUNCTION", b"."})  # what precedes a table name
_CHUNK = 1 << 20


class SqlRequestError(Exception):
    """The request is malformed or refused; ``code`` is the ClickHouse error code to report."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class InsertData:
    """``INSERT ... [SETTINGS ...] FORMAT name`` and the data after it, apart for FROM INFILE."""

    head: str  # the statement up to its own SETTINGS or FORMAT clause
    settings: str  # the statement's own settings list, "" when it has none
    format: str
    data: bytes


@dataclass(frozen=True)
class Statement:
    """One statement: its SQL text and, for ``INSERT ... FORMAT``, the inline data."""

    query: str  # without trailing semicolons and comments, nor inline data
    insert: InsertData | None


@dataclass(frozen=True)
class HttpParams:
    """The URL (or form) parameters of one request, sorted by what ClickHouse does with them."""

    query: str
    database: str
    default_format: str
    query_params: dict[str, str]
    settings: dict[str, str]


def split_params(params: Mapping[str, str]) -> HttpParams:
    """Separate transport parameters, ``param_<name>`` query parameters and engine settings."""
    for flag in ("compress", "decompress"):
        if params.get(flag, "0") not in ("0", ""):
            raise SqlRequestError(
                f"{flag}=1 (ClickHouse's internal block compression) is not supported; "
                "use Content-Encoding instead",
                NOT_IMPLEMENTED,
            )
    query_params, settings = {}, {}
    for name, value in params.items():
        if name.startswith("param_"):
            query_params[name.removeprefix("param_")] = value
        elif name not in TRANSPORT_PARAMS:
            if not _SETTING_NAME.match(name):
                raise SqlRequestError(f"Unknown setting '{name}'", UNKNOWN_SETTING)
            settings[name] = value
    return HttpParams(
        query=params.get("query", ""),
        database=params.get("database", ""),
        default_format=params.get("default_format", "") or "TabSeparated",
        query_params=query_params,
        settings=settings,
    )


def sql_string(value: str) -> str:
    """``value`` as a ClickHouse string literal, so that it can never end the literal early."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def escaped(value: str) -> str:
    """``value`` in ClickHouse's escaped text form, the form of a String query parameter."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def settings_list(settings: Mapping[str, str]) -> str:
    """``name = 'value', ...`` for a SETTINGS clause; names were checked by :func:`split_params`."""
    return ", ".join(f"{name} = {sql_string(value)}" for name, value in settings.items())


def decode_body(body: bytes, content_encoding: str, limit: int) -> bytes:
    """Undo the request's Content-Encoding, refusing output beyond ``limit`` bytes (zip bombs)."""
    encoding = content_encoding.strip().lower()
    try:
        if encoding in ("", "identity"):
            data = body
        elif encoding in ("gzip", "x-gzip", "deflate"):
            data = _inflate(body, 31 if "gzip" in encoding else 15, limit)
        elif encoding == "lz4":
            data = _read_capped(lz4.frame.LZ4FrameFile(io.BytesIO(body)), limit)
        elif encoding == "zstd":
            reader = zstandard.ZstdDecompressor().stream_reader(body, read_across_frames=True)
            data = _read_capped(reader, limit)
        else:
            raise SqlRequestError(
                f"Unknown Content-Encoding '{encoding}'", UNKNOWN_COMPRESSION_METHOD
            )
    except (zlib.error, zstandard.ZstdError, RuntimeError, OSError, EOFError, ValueError) as exc:
        raise SqlRequestError(
            f"Cannot decompress the {encoding} request body: {exc}", CANNOT_DECOMPRESS
        ) from None
    if len(data) > limit:
        raise _too_large(limit)
    return data


def form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The text fields of a multipart/form-data body (clickhouse-connect sends long parameters so).

    File fields are ClickHouse "external data" tables, which the embedded endpoint does not offer.
    """
    header = f"Content-Type: {content_type}\r\n\r\n".encode("utf-8", "replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + body)
    if not message.is_multipart():
        raise SqlRequestError("Malformed multipart/form-data body", BAD_ARGUMENTS)
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.get_filename() is not None:
            raise SqlRequestError("External data tables are not supported", NOT_IMPLEMENTED)
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            raise SqlRequestError("Malformed multipart/form-data field", BAD_ARGUMENTS)
        fields[name] = _utf8(payload, f"form field {name}")
    return fields


def split_statement(text: bytes) -> Statement:
    """Split the request text into one statement and, for ``INSERT ... FORMAT x``, its data.

    As in ClickHouse, the data of ``INSERT ... FORMAT name`` starts after the format name, past
    spaces and tabs and at most one line break. Only that data is opaque: everything else is
    lexed, so that a second statement is refused here already.
    """
    tokens = _tokens(text)
    first = next(tokens, None)
    if first is None:
        raise SqlRequestError("Empty query", SYNTAX_ERROR)
    end = first[1]
    is_insert = text[first[0] : end].upper() == b"INSERT"
    depth, previous, settings, format_at, semicolon = 0, b"INSERT", (-1, -1), -1, False
    for start, stop in tokens:
        token = text[start:stop]
        if token == b";":
            semicolon = True
            continue
        if semicolon:
            raise SqlRequestError("Multi-statements are not allowed", SYNTAX_ERROR)
        if format_at >= 0:
            if not _WORD.fullmatch(token):
                break
            insert = _insert(text, settings, format_at, (start, stop))
            return Statement(_utf8(text[:stop], "query"), insert)
        end = stop
        word = token.upper()
        if token in (b"(", b"[", b"{"):
            depth += 1
        elif token in (b")", b"]", b"}"):
            depth -= 1
        elif is_insert and depth == 0 and previous not in _NAME_BEFORE:
            if word == b"INFILE":
                is_insert = False  # the data is in a server file, not in this request
            elif word == b"SETTINGS" and settings[0] < 0:
                settings = (start, stop)
            elif word == b"FORMAT":
                format_at = start
        previous = word
    if format_at >= 0:
        raise SqlRequestError("Expected a format name after FORMAT", SYNTAX_ERROR)
    return Statement(_utf8(text[:end], "query"), None)


def _insert(
    text: bytes, settings: tuple[int, int], format_at: int, name: tuple[int, int]
) -> InsertData:
    data_at = name[1]
    while text[data_at : data_at + 1] in (b" ", b"\t", b"\f"):
        data_at += 1
    data_at += text.startswith(b"\r", data_at)
    data_at += text.startswith(b"\n", data_at)
    has_settings = settings[0] >= 0
    return InsertData(
        head=_utf8(text[: settings[0] if has_settings else format_at], "query").rstrip(),
        settings=_utf8(text[settings[1] : format_at], "query").strip() if has_settings else "",
        format=_utf8(text[name[0] : name[1]], "format name"),
        data=text[data_at:],
    )


def _tokens(text: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of each token, skipping whitespace and comments, as ClickHouse's lexer does."""
    at, size = 0, len(text)
    while at < size:
        char = text[at : at + 1]
        if char.isspace():
            at += 1
        elif text.startswith(b"--", at) or (char == b"#" and text[at + 1 : at + 2] in (b" ", b"!")):
            newline = text.find(b"\n", at)
            at = size if newline < 0 else newline + 1
        elif text.startswith(b"/*", at):
            at = _comment_end(text, at)
        elif char in _QUOTED:
            match = _QUOTED[char].match(text, at)
            if match is None:
                raise SqlRequestError("Quoted string or identifier is not closed", SYNTAX_ERROR)
            yield at, match.end()
            at = match.end()
        elif (match := _HEREDOC.match(text, at) or _WORD.match(text, at)) is not None:
            stop = match.end()
            if char == b"$":
                close = text.find(match.group(), stop)
                if close < 0:
                    raise SqlRequestError("Heredoc is not closed", SYNTAX_ERROR)
                stop = close + len(match.group())
            yield at, stop
            at = stop
        else:
            yield at, at + 1
            at += 1


def _comment_end(text: bytes, at: int) -> int:
    """The end of the (possibly nested) block comment opening at ``at``."""
    depth = 0
    for mark in _COMMENT_MARK.finditer(text, at):
        depth += 1 if mark.group() == b"/*" else -1
        if depth == 0:
            return mark.end()
    raise SqlRequestError("Multiline comment is not closed", SYNTAX_ERROR)


def _inflate(body: bytes, wbits: int, limit: int) -> bytes:
    """gzip (possibly several members) or zlib-wrapped deflate, at most ``limit + 1`` bytes."""
    out = bytearray()
    while body:
        inflater = zlib.decompressobj(wbits)
        out += inflater.decompress(body, limit + 1 - len(out))
        if len(out) > limit:
            raise _too_large(limit)
        if not inflater.eof:
            raise SqlRequestError("Truncated compressed request body", CANNOT_DECOMPRESS)
        body = inflater.unused_data
    return bytes(out)


def _read_capped(reader: BinaryIO, limit: int) -> bytes:
    out = bytearray()
    while chunk := reader.read(min(_CHUNK, limit + 1 - len(out))):
        out += chunk
        if len(out) > limit:
            raise _too_large(limit)
    return bytes(out)


def _too_large(limit: int) -> SqlRequestError:
    return SqlRequestError(f"Request body exceeds {limit} bytes", QUERY_IS_TOO_LARGE)


def _utf8(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SqlRequestError(f"The {what} is not valid UTF-8", BAD_ARGUMENTS) from None
