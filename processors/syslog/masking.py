"""Masking of variable tokens before template mining: one whitespace split, then per-token work.

Stock Drain3 runs every masking regex over the whole line, and that is most of its cost (about 100k
lines/s unmasked, 25-30k masked, says DESIGN.md). Here a line is split once and each token is looked up
in a memo, so a token costs one dict lookup once it has been seen. A token with digits not seen before
is looked up by its shape (its digits made ones), which repeats where the token does not. Otherwise it
has its surrounding punctuation stripped (kept in the output: "(10.0.0.1)," -> "(<IP>),") and its core
is classified with str methods and one anchored regex.

Kinds and their placeholders (a core must be entirely one kind):

- <IP>     IPv4 (strict octets); "10.0.0.1:22" -> "<IP>:<NUM>"; IPv6 (with "::" or all eight groups,
           optional %zone, embedded IPv4)
- <MAC>    aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, Cisco aabb.ccdd.eeff
- <UUID>   8-4-4-4-12 hex
- <HEX>    0x-prefixed hex, or 8+ hex digits with at least one decimal digit (hashes, session ids)
- <EMAIL>  local@domain.tld
- <TIME>   hh:mm, hh:mm:ss[.frac], ISO dates and date-times (with optional zone)
- <BIN>    any token with an unprintable character or U+FFFD (bytes that were not UTF-8): binary garbage
           then makes one template per token count instead of one per line
- <NUM>    integers and decimals with optional sign and exponent; a unit glued after a number is kept,
           so "10ms" -> "<NUM>ms" and "100%" -> "<NUM>%": the unit is part of the template's meaning.

Deliberately kept as they are: words, dotted versions and OIDs ("1.2.3", "1.3.6.1.2.1"), which name
software and objects rather than vary per event, and tokens mixing letters and digits like "eth0" or
"ssh2". Drain still generalises those to <*> when they vary. A token that is no single kind but contains
one of the separators = , ; / # ( ) [ ] { } < > or quotes is split there, and a piece that is no
kind either is split at colons and @; each piece is classified: "pid=1234" -> "pid=<NUM>",
"Gi1/0/24" -> "Gi1/<NUM>/<NUM>", "[fe80::1]:22" -> "[<IP>]:<NUM>", "UID:1000" -> "UID:<NUM>".
"""

from __future__ import annotations

import re

__all__ = ["PLACEHOLDERS", "clear_memo", "mask", "mask_token", "mask_tokens"]

PLACEHOLDERS = ("<IP>", "<MAC>", "<UUID>", "<HEX>", "<EMAIL>", "<TIME>", "<NUM>", "<BIN>")

_LEAD = "([{<\"'`"
_TRAIL = ")]}>\"'`.,;:!?%"
_SEPARATORS = "=,;/#()[]{}<>\"'`"
_HAS_SEPARATOR = re.compile("[" + re.escape(_SEPARATORS) + "]")
_SPLIT = re.compile("([" + re.escape(_SEPARATORS) + "])")
_SUBSPLIT = re.compile("([:@])")  # inside a piece that is no kind: "UID:1000", "@0x7f3a"
_DIGIT = re.compile("[0-9]")
# Every kind but e-mail starts with one of these: anything else skips the regex.
_KIND_START = frozenset("0123456789abcdefABCDEF:+-")
_UNIT_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ%"

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IP4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_H = "[0-9A-Fa-f]"
_NUMBER = r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_KINDS = re.compile(
    "|".join(
        (
            rf"(?P<ip>{_IP4})(?P<ipport>:\d{{1,5}})?",
            rf"(?P<uuid>{_H}{{8}}-{_H}{{4}}-{_H}{{4}}-{_H}{{4}}-{_H}{{12}})",
            rf"(?P<mac>{_H}{{2}}(?:[:-]{_H}{{2}}){{5}}|{_H}{{4}}\.{_H}{{4}}\.{_H}{{4}})",
            r"(?P<time>(?:\d{4}-\d\d-\d\d(?:[T_]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?)?"
            r"|\d{1,2}:\d\d(?::\d\d(?:[.,]\d+)?)?)(?:Z|[+-]\d\d:?\d\d)?)",
            rf"(?P<ip6>(?:{_H}{{0,4}}:){{2,7}}(?:{_H}{{0,4}}|{_IP4})(?:%\w+)?)",
            rf"(?P<hex>0[xX]{_H}+|(?=[A-Fa-f]*\d){_H}{{8,}})",
            r"(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)",
            rf"(?P<num>{_NUMBER})",
            rf"(?P<unit>{_NUMBER}[A-Za-z%]+)",
        )
    ),
    re.ASCII,
)
_FIXED = {
    "ipport": "<IP>:<NUM>",
    "ip": "<IP>",
    "uuid": "<UUID>",
    "mac": "<MAC>",
    "time": "<TIME>",
    "hex": "<HEX>",
    "email": "<EMAIL>",
    "num": "<NUM>",
}

# Memo of token -> masked token. Words repeat endlessly, variable tokens mostly do not, so the memo is
# simply emptied when full rather than kept in LRU order (which would cost on every hit).
_MEMO_MAX = 1 << 16
_memo: dict[str, str] = {}

# Memo of a token's shape (every ASCII digit made "1") -> the shape masked, or _EXACT. Variable tokens are
# mostly new ("seq=1041", "port 51234") but their shapes repeat, and which kind a core is does not depend
# on its digits' values but for "0x" and IPv4 octets: a token with "0x" is never taken from the memo (its
# shape has no 0), nor one with three dots and a run of digits that is no octet (the shape's runs of ones
# of 1 to 3 always are).
# A shape whose masking keeps a digit ("eth0", "v1.2") would need the token's digits back, so it is
# marked _EXACT and such tokens are masked one by one.
_SHAPE = bytes.maketrans(b"0123456789", b"1111111111")  # bytes: translated 5x faster than str
_NO_OCTET = re.compile(r"(?<![0-9])(?:[0-9]{4}|0[0-9]|25[6-9]|2[6-9][0-9]|[3-9][0-9][0-9])")  # a run that is none
_EXACT = ""
_shapes: dict[bytes, str] = {}


def mask_tokens(text: str) -> list[str]:
    """The whitespace-separated tokens of text, each masked; what the miner works on."""
    get = _memo.get
    return [m if (m := get(t)) is not None else _remember(t) for t in text.split()]


def mask(text: str) -> str:
    """text with its variable tokens replaced by placeholders and whitespace runs made single spaces."""
    return " ".join(mask_tokens(text))


def mask_token(token: str) -> str:
    """One token (no whitespace) masked."""
    masked = _memo.get(token)
    return masked if masked is not None else _remember(token)


def clear_memo() -> None:
    """Forget every memoised token and shape: benchmarks start each round cold, as a fresh process would."""
    _memo.clear()
    _shapes.clear()


def _remember(token: str) -> str:
    masked = _by_shape(token)
    if len(_memo) >= _MEMO_MAX:
        _memo.clear()
    _memo[token] = masked
    return masked


def _by_shape(token: str) -> str:
    """token masked, through the shape memo when it has digits and their values cannot change the outcome;
    words and plain numbers, which _mask_uncached settles at once, skip the memo."""
    if token.isalpha() or token.isdecimal():
        return _mask_uncached(token)
    encoded = token.encode("utf-8", "surrogatepass")
    shape = encoded.translate(_SHAPE)
    if (
        shape == encoded
        or "0x" in token
        or "0X" in token
        or ("." in token and token.count(".") >= 3 and _NO_OCTET.search(token) is not None)
    ):
        return _mask_uncached(token)
    masked = _shapes.get(shape)
    if masked is not None:
        return masked if masked != _EXACT else _mask_uncached(token)
    # The shape masks as the token does, digits aside: where the token's masking keeps none, it is the shape's.
    masked = _mask_uncached(token)
    if len(_shapes) >= _MEMO_MAX:
        _shapes.clear()
    _shapes[shape] = _EXACT if _DIGIT.search(masked) is not None else masked
    return masked


def _mask_uncached(token: str) -> str:
    if token.isalpha():
        return token
    if "\ufffd" in token or not token.isprintable():
        return "<BIN>"
    body = token.lstrip(_LEAD)
    core = body.rstrip(_TRAIL)
    if not core or core.isalpha():
        return token
    post = body[len(core) :]
    if post[:2] == "::":  # an IPv6 address ending in "::" lost its colons to the strip
        core += "::"
        post = post[2:]
    masked = _mask_core(core)
    if masked is core:
        if _HAS_SEPARATOR.search(core) is not None:
            parts = _SPLIT.split(core)  # pieces at even indexes, separators at odd ones
            for i in range(0, len(parts), 2):
                if parts[i]:
                    parts[i] = _mask_piece(parts[i])
            masked = "".join(parts)
        elif ":" in core or "@" in core:
            masked = _mask_subparts(core)
    if masked == core:
        return token
    return token[: len(token) - len(body)] + masked + post


def _mask_piece(piece: str) -> str:
    masked = _mask_core(piece)
    return _mask_subparts(piece) if masked is piece and (":" in piece or "@" in piece) else masked


def _mask_subparts(piece: str) -> str:
    parts = _SUBSPLIT.split(piece)
    for i in range(0, len(parts), 2):
        if parts[i]:
            parts[i] = _mask_core(parts[i])
    return "".join(parts)


def _mask_core(core: str) -> str:
    """The placeholder for a non-empty core that is entirely one kind, else core itself (the same object)."""
    if core.isdigit() and core.isascii():
        return "<NUM>"
    if core[0] not in _KIND_START and "@" not in core:
        return core
    m = _KINDS.fullmatch(core)
    if m is None:
        return core
    kind = m.lastgroup
    if kind == "ip6":
        # The shape also fits things like "1:2:3"; an address has "::" or all eight groups.
        return "<IP>" if len(core) > 2 and ("::" in core or core.count(":") == 7) else core
    if kind == "unit":
        number = core.rstrip(_UNIT_CHARS)
        return "<NUM>" + core[len(number) :]
    return _FIXED[kind]  # type: ignore[index]
