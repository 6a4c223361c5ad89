"""Keep secrets and personal data out of the logs.

Payment links, payment attempts and reading cards are signed tokens in the URL: whoever reads
an access log line could pay, look at amounts or report a meter reading for days or years. Search
terms are names and Kassenzeichen. So every log line of the web server and of the app passes
through :class:`RedactingFilter` before it is written:

- a path segment that a route declares as a secret (a route variable named in
  ``LOG_SECRET_ROUTE_ARGUMENTS``, by default ``token``) becomes ``[redacted]``; the patterns are
  derived from the app's ``url_map``, so a new token route is covered without a list to keep;
- any other path segment that looks like a signed token (itsdangerous: ``payload.signature``)
  becomes ``[redacted]`` too — links of routes that name their variable differently, or paths
  that match no route;
- query-string values are replaced by ``[redacted]`` unless their key is one of the harmless
  ``LOG_QUERY_KEYS_KEPT`` (page numbers, years, …); search terms and client secrets never appear.

The filter sits on the loggers of Werkzeug (``openkasse run``), of gunicorn (access and error
log, for ``gunicorn portal.wsgi:app``) and on the app's own logger.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from flask import Flask
from werkzeug.routing import Rule

REDACTED = "[redacted]"
DEFAULT_SECRET_ROUTE_ARGUMENTS = ("token",)
DEFAULT_QUERY_KEYS_KEPT = ("page", "year", "jahr", "levy", "period", "status", "tab", "sort")
LOGGER_NAMES = ("werkzeug", "gunicorn.access", "gunicorn.error")

_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
# A path with an optional query string, wherever it appears in a line (request line, referrer,
# "Exception on /… [GET]"). Stops at white space, quotes and angle brackets.
_PATH_AND_QUERY = re.compile(r"(?P<path>/[^\s\"'<>?#]*)(?P<query>\?[^\s\"'<>#]*)?")
# itsdangerous' URL-safe serializer: base64url payload "." base64url signature (SHA-256: 43
# characters, SHA-1: 27), optionally a leading "." (compressed) and a timestamp part.
_SIGNED_TOKEN = re.compile(r"\.?[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]{4,}){0,2}\.[A-Za-z0-9_-]{27,}")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,39}")


def rule_pattern(rule: str, secret_arguments: Iterable[str]) -> re.Pattern[str] | None:
    """A regex for the paths of ``rule`` with one named group per secret variable, or None if
    the rule has no secret variable."""
    secrets = set(secret_arguments)
    parts: list[str] = []
    position, found = 0, False
    for match in _VARIABLE.finditer(rule):
        parts.append(re.escape(rule[position : match.start()]))
        segment = ".+?" if match["converter"] == "path" else "[^/]+"
        if match["name"] in secrets:
            parts.append(f"(?P<secret{len(parts)}>{segment})")
            found = True
        else:
            parts.append(f"(?:{segment})")
        position = match.end()
    parts.append(re.escape(rule[position:]))
    return re.compile("".join(parts)) if found else None


class Redactor:
    def __init__(
        self,
        rules: Iterable[Rule | str],
        *,
        secret_arguments: Iterable[str] = DEFAULT_SECRET_ROUTE_ARGUMENTS,
        query_keys_kept: Iterable[str] = DEFAULT_QUERY_KEYS_KEPT,
    ) -> None:
        secret_arguments = tuple(secret_arguments)
        patterns = (
            rule_pattern(r if isinstance(r, str) else r.rule, secret_arguments) for r in rules
        )
        self.patterns = [p for p in patterns if p is not None]
        self.query_keys_kept = frozenset(query_keys_kept)

    def redact(self, text: str) -> str:
        return _PATH_AND_QUERY.sub(self._redact_match, text)

    def _redact_match(self, match: re.Match[str]) -> str:
        return self.redact_path(match["path"]) + self.redact_query(match["query"] or "")

    def redact_path(self, path: str) -> str:
        for pattern in self.patterns:
            found = pattern.fullmatch(path)
            if found:
                spans = [found.span(name) for name in found.groupdict()]
                for start, end in sorted(spans, reverse=True):
                    path = path[:start] + REDACTED + path[end:]
                break
        return "/".join(
            REDACTED if _SIGNED_TOKEN.fullmatch(segment) else segment for segment in path.split("/")
        )

    def redact_query(self, query: str) -> str:
        if not query:
            return query
        pairs = []
        for pair in query[1:].split("&"):
            key, has_value, value = pair.partition("=")
            if not _PLAIN_KEY.fullmatch(key):
                pairs.append(REDACTED)
            elif key in self.query_keys_kept and not _SIGNED_TOKEN.search(value):
                pairs.append(pair)
            else:
                pairs.append(f"{key}={REDACTED}" if has_value else key)
        return "?" + "&".join(pairs)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (already formatted with its arguments) redacted."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__("openkasse.redaction")
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a broken format string: leave it to the handler
            return True
        redacted = self.redactor.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def install(app: Flask) -> RedactingFilter:
    """Put one redacting filter (replacing an earlier app's) on the server and app loggers."""
    redactor = Redactor(
        app.url_map.iter_rules(),
        secret_arguments=app.config.get(
            "LOG_SECRET_ROUTE_ARGUMENTS", DEFAULT_SECRET_ROUTE_ARGUMENTS
        ),
        query_keys_kept=app.config.get("LOG_QUERY_KEYS_KEPT", DEFAULT_QUERY_KEYS_KEPT),
    )
    redacting = RedactingFilter(redactor)
    for logger in [*(logging.getLogger(name) for name in LOGGER_NAMES), app.logger]:
        for old in [f for f in logger.filters if isinstance(f, RedactingFilter)]:
            logger.removeFilter(old)
        logger.addFilter(redacting)
    return redacting
