"""Where a log-in may send the browser next: a path on this site, or nowhere.

``next`` comes from the address bar, so it is attacker-controlled. Browsers strip tabs and
newlines from URLs and read a backslash as a slash (WHATWG URL standard), so a value that a
prefix check lets through (``/\\t/evil.example``) becomes ``//evil.example`` — another host. The
value is therefore parsed, and anything a browser could read differently from us is refused as a
whole: nothing is stripped or repaired, the default is used instead.
"""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_LENGTH = 2000  # longer than any path of this site; refuses junk early


def is_same_site_path(target: str) -> bool:
    """True only for an absolute path on this site (with optional query and fragment)."""
    if not target or len(target) > MAX_LENGTH:
        return False
    # Printable ASCII only: no control characters (tab, CR, LF are dropped by browsers), no
    # spaces, nothing non-ASCII that a browser might map to "/" or "\" (fullwidth solidus).
    if any(not (0x21 <= ord(char) <= 0x7E) for char in target):
        return False
    if "\\" in target or not target.startswith("/") or target.startswith("//"):
        return False
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return False
    # An encoded slash or backslash right after the first one (/%2F..., /%5C...) decodes to a
    # network path for any component that unquotes before redirecting again.
    return not parts.path[1:4].lower().startswith(("%2f", "%5c"))


def safe_target(target: str | None, default: str) -> str:
    """``target`` if it is a same-site path, else ``default``."""
    return target if target is not None and is_same_site_path(target) else default
