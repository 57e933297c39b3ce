"""SCPI / IEEE 488.2 message syntax, shared by the instrument emulators and tests.

Mnemonics are written as in programming manuals: ``:NUMeric[:NORMal]:VALue?``; the
upper-case part is the short form, the whole word the long form, ``[...]`` is optional,
``<x>`` a numeric suffix.  ``compile_header`` turns such a pattern into a regex.
"""

from __future__ import annotations

import re

#: Standard SCPI error codes used by the emulators (SCPI-99 volume 2, chapter 21).
NO_ERROR = (0, "No error")
COMMAND_ERROR = (-100, "Command error")
SYNTAX_ERROR = (-102, "Syntax error")
PARAMETER_NOT_ALLOWED = (-108, "Parameter not allowed")
MISSING_PARAMETER = (-109, "Missing parameter")
UNDEFINED_HEADER = (-113, "Undefined header")
DATA_TYPE_ERROR = (-104, "Data type error")
PARAMETER_ERROR = (-220, "Parameter error")
SETTINGS_CONFLICT = (-221, "Settings conflict")
DATA_OUT_OF_RANGE = (-222, "Data out of range")
ILLEGAL_PARAMETER_VALUE = (-224, "Illegal parameter value")
QUEUE_OVERFLOW = (-350, "Queue overflow")
QUERY_UNTERMINATED = (-420, "Query UNTERMINATED")


class ScpiCommandError(Exception):
    """Raised by an emulator handler: goes into the error queue, no reply."""

    def __init__(self, error: tuple[int, str], detail: str = "") -> None:
        super().__init__(f"{error[0]},{error[1]}{'; ' + detail if detail else ''}")
        self.code, self.text = error
        self.detail = detail

    @property
    def queue_entry(self) -> str:
        message = f"{self.text}; {self.detail}" if self.detail else self.text
        return f'{self.code},"{message}"'


def _word(word: str) -> str:
    """'NUMeric' -> '(?:NUM|NUMERIC)'; a trailing '<x>' accepts an optional number."""
    suffix = ""
    if word.endswith("<x>"):
        word, suffix = word[:-3], r"(\d*)"
    short = "".join(c for c in word if c.isupper() or c.isdigit() or c == "*")
    forms = {re.escape(short), re.escape(word.upper())}
    return f"(?:{'|'.join(sorted(forms, key=len, reverse=True))}){suffix}"


def compile_header(pattern: str) -> re.Pattern:
    """Regex for a manual-style header pattern, case-insensitive, anchored."""
    query = pattern.endswith("?")
    body = pattern[:-1] if query else pattern
    regex = ""
    for part in re.findall(r"\[[^\]]*\]|[^\[\]]+", body):
        optional = part.startswith("[")
        text = part.strip("[]")
        words = [w for w in text.split(":") if w]
        piece = "".join((":" if (i or text.startswith(":")) else "") + _word(w) for i, w in enumerate(words))
        if text.startswith(":") and not piece.startswith(":"):
            piece = ":" + piece
        if text.endswith(":"):
            piece += ":"
        regex += f"(?:{piece})?" if optional else piece
    tail = r"\?" if query else ""
    return re.compile("^:?" + regex.lstrip(":") + tail + "$", re.IGNORECASE)


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    """Split at ``separator`` except inside '...' or "..." strings (IEEE 488.2 string data)."""
    parts, current, quote = [], [], ""
    for char in text:
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
            current.append(char)
        elif char == separator:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if quote:
        raise ScpiCommandError(SYNTAX_ERROR, "unterminated string")
    parts.append("".join(current).strip())
    return parts


def split_units(message: str) -> list[str]:
    """Split a program message into units at ';' outside quotes."""
    return [u for u in _split_outside_quotes(message, ";") if u]


def split_unit(unit: str) -> tuple[str, list[str]]:
    """'VOLT 230' -> ('VOLT', ['230']); arguments split at commas outside quotes."""
    header, _, rest = unit.partition(" ")
    if not rest.strip():
        return header.strip(), []
    return header.strip(), _split_outside_quotes(rest.strip(), ",")


MULTIPLIERS = {
    "EX": 1e18,
    "PE": 1e15,
    "T": 1e12,
    "G": 1e9,
    "MA": 1e6,
    "K": 1e3,
    "M": 1e-3,
    "U": 1e-6,
    "N": 1e-9,
    "P": 1e-12,
    "F": 1e-15,
}
UNITS = ("V", "A", "S", "HZ", "W", "PCT")


def parse_number(text: str) -> float:
    """<NRf> with an optional IEEE 488.2 multiplier and unit: '50MS' -> 0.05, '230V' -> 230."""
    value = text.strip().upper()
    for unit in sorted(UNITS, key=len, reverse=True):
        if value.endswith(unit) and not value.endswith("E" + unit):
            candidate = value[: -len(unit)]
            if candidate and (
                candidate[-1].isdigit()
                or candidate[-1] == "."
                or candidate[-2:] in MULTIPLIERS
                or candidate[-1] in MULTIPLIERS
            ):
                value = candidate
                break
    for mult in sorted(MULTIPLIERS, key=len, reverse=True):
        if value.endswith(mult) and value[: -len(mult)] and value[-len(mult) - 1].isdigit():
            return float(value[: -len(mult)]) * MULTIPLIERS[mult]
    try:
        return float(value)
    except ValueError:
        raise ScpiCommandError(DATA_TYPE_ERROR, f"not a number: {text!r}") from None


def check_range(value: float, bounds: tuple[float, float], what: str) -> float:
    """Refuse (never clip) a value outside an instrument's documented range, as SCPI error -222."""
    if not bounds[0] <= value <= bounds[1]:
        raise ScpiCommandError(DATA_OUT_OF_RANGE, f"{what} {value:g} outside {bounds[0]:g}..{bounds[1]:g}")
    return value


def parse_bool(text: str) -> bool:
    value = text.strip().upper()
    if value in ("ON", "1"):
        return True
    if value in ("OFF", "0"):
        return False
    raise ScpiCommandError(ILLEGAL_PARAMETER_VALUE, f"expected ON|OFF|1|0, got {text!r}")


def definite_block(payload: bytes) -> bytes:
    """IEEE 488.2 definite-length arbitrary block: #<digits><length><payload>."""
    length = str(len(payload))
    return f"#{len(length)}{length}".encode() + payload


def parse_definite_block(data: bytes) -> bytes:
    if not data.startswith(b"#") or len(data) < 2 or not chr(data[1]).isdigit() or data[1] == ord("0"):
        raise ValueError("not a definite-length block")
    digits = int(chr(data[1]))
    length = int(data[2 : 2 + digits])
    payload = data[2 + digits : 2 + digits + length]
    if len(payload) != length:
        raise ValueError(f"block announces {length} bytes, holds {len(payload)}")
    return payload
