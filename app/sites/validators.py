"""Validation of Taiwanese identifiers used in the registry."""

from __future__ import annotations

import re

_WEIGHTS = (1, 2, 1, 2, 1, 2, 4, 1)


def is_valid_tax_id(value: str) -> bool:
    """統一編號: eight digits whose weighted digit sum is divisible by 5.

    The Ministry of Finance widened the rule from 10 to 5 in 2023 (more numbers were
    needed); both old and new numbers pass it. When the seventh digit is 7 its product
    (28) may count as 2+8=10 or as 1+0=1, so either sum may be the divisible one.
    """
    if not re.fullmatch(r"\d{8}", value or ""):
        return False
    total = 0
    for digit, weight in zip(value, _WEIGHTS, strict=True):
        product = int(digit) * weight
        total += product // 10 + product % 10
    return total % 5 == 0 or (value[6] == "7" and (total + 1) % 5 == 0)


def normalise_site_code(value: str) -> str:
    return (value or "").strip().upper()
