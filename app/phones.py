"""Taiwan phone numbers: read what people type, store one form, show it the way Taiwan writes it.

Stored form: the national digits with the trunk 0 ("0227295757", "0912345678"), then, if there
is an extension, "#" and its digits ("0227295757#123"). Shown: "(02) 2729-5757",
"(037) 123-456", "0912-345-678", "0800-123-456", with "分機 123" / "ext. 123" after it.

Pure: no Flask, no database; the template filter passes the translated extension word.
"""

from __future__ import annotations

import re
import unicodedata

#: Landline area codes and the number of subscriber digits each takes (a code may take two
#: lengths: 04 is 8 digits in Taichung, 7 in Changhua). Longest codes are matched first.
AREA_CODES: dict[str, tuple[int, ...]] = {
    "02": (8,),  # 臺北、新北、基隆
    "03": (7,),  # 桃園、新竹、宜蘭、花蓮
    "037": (6,),  # 苗栗
    "04": (8, 7),  # 臺中 (8), 彰化 (7)
    "049": (7,),  # 南投
    "05": (7,),  # 嘉義、雲林
    "06": (7,),  # 臺南、澎湖
    "07": (7,),  # 高雄
    "08": (7,),  # 屏東
    "089": (6,),  # 臺東
    "082": (6,),  # 金門
    "0826": (5,),  # 烏坵
    "0836": (5,),  # 馬祖
}
#: Short numbers that are numbers in their own right (police, fire and ambulance, GSM).
SHORT_NUMBERS = frozenset({"110", "112", "119"})
MAX_EXTENSION = 6

_EXTENSION = re.compile(
    r"(?:分機|轉|ext\.?|extension|x|#|,|;ext=)\s*([0-9]{1,%d})$" % MAX_EXTENSION  # noqa: UP031
)
_SEPARATORS = re.compile(r"[\s\-().\u2010-\u2015\u2212/]")


class PhoneError(ValueError):
    """The text is not a Taiwan phone number; `reason` says why (a key for a message)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _split_area(national: str) -> tuple[str, str] | None:
    """(area code, subscriber digits) of a landline, or None."""
    for code in sorted(AREA_CODES, key=len, reverse=True):
        if national.startswith(code):
            rest = national[len(code) :]
            if len(rest) in AREA_CODES[code] and rest[0] != "0":
                return code, rest
            return None
    return None


def _kind(national: str) -> str | None:
    """'mobile', 'tollfree', 'landline' or 'short' for valid national digits, else None."""
    if national in SHORT_NUMBERS:
        return "short"
    if re.fullmatch(r"09[0-9]{8}", national):
        return "mobile"
    if re.fullmatch(r"080[09][0-9]{6}", national):
        return "tollfree"
    if _split_area(national) is not None:
        return "landline"
    return None


def normalise(raw: str | None) -> str:
    """The stored form of a typed number; "" for nothing typed. Raises PhoneError.

    Takes spaces, dashes, dots, parentheses, full-width characters, +886 / 00886 (with or
    without the "(0)"), and an extension after 分機, 轉, ext, x, # or a comma.
    """
    text = unicodedata.normalize("NFKC", raw or "").strip().lower()
    if not text:
        return ""
    extension = ""
    match = _EXTENSION.search(text)
    if match:
        extension = match.group(1)
        text = text[: match.start()].strip()
    digits = _SEPARATORS.sub("", text)
    international = False
    for prefix in ("+886", "00886"):
        if digits.startswith(prefix):
            digits, international = digits[len(prefix) :], True
    if digits.startswith("+"):
        raise PhoneError("not_taiwan")
    if not re.fullmatch(r"[0-9]+", digits):
        raise PhoneError("characters")
    if international and not digits.startswith("0"):
        digits = "0" + digits  # +886 2 2729 5757: the trunk 0 comes back
    if not digits.startswith("0") and digits not in SHORT_NUMBERS:
        raise PhoneError("area_code")
    if _kind(digits) is None:
        raise PhoneError("length" if _prefix_known(digits) else "area_code")
    if extension and digits in SHORT_NUMBERS:
        raise PhoneError("length")
    return digits + ("#" + extension if extension else "")


def _prefix_known(national: str) -> bool:
    return national.startswith(("09", "080")) or any(national.startswith(c) for c in AREA_CODES)


def is_valid(raw: str | None) -> bool:
    try:
        normalise(raw)
    except PhoneError:
        return False
    return True


def _parts(stored: str) -> tuple[str, str] | None:
    """(national digits, extension) of a stored or typed number, or None if it is not one."""
    try:
        value = normalise(stored)
    except PhoneError:
        return None
    national, _, extension = value.partition("#")
    return (national, extension) if national else None


def _format_national(national: str) -> str:
    kind = _kind(national)
    if kind == "mobile" or kind == "tollfree":
        return f"{national[:4]}-{national[4:7]}-{national[7:]}"
    if kind == "landline":
        code, rest = _split_area(national)  # type: ignore[misc]
        head = 4 if len(rest) == 8 else 3 if len(rest) in (6, 7) else 2
        return f"({code}) {rest[:head]}-{rest[head:]}"
    return national


def format_phone(stored: str | None, ext_label: str = "分機") -> str:
    """The number as Taiwan writes it; text that is not a number comes back unchanged."""
    parts = _parts(stored or "")
    if parts is None:
        return (stored or "").strip()
    national, extension = parts
    shown = _format_national(national)
    return f"{shown} {ext_label} {extension}" if extension else shown


def tel_href(stored: str | None) -> str:
    """A tel: link that dials the number (and the extension after a pause), or "" if none."""
    parts = _parts(stored or "")
    if parts is None:
        return ""
    national, extension = parts
    return f"tel:{national}" + (f",{extension}" if extension else "")
