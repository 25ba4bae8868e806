"""統一編號 checksum."""

import pytest

from app.sites.validators import is_valid_tax_id


@pytest.mark.parametrize("tax_id", ["04595257", "83045210", "27505051", "72979298", "10000470"])
def test_valid_tax_ids(tax_id):
    assert is_valid_tax_id(tax_id)


@pytest.mark.parametrize("tax_id", ["04595258", "12345678", "1234567", "abcdefgh", "", "045952570"])
def test_invalid_tax_ids(tax_id):
    assert not is_valid_tax_id(tax_id)


def test_seventh_digit_seven_may_count_either_way():
    # 10000470: the 7th digit is 7, valid only through the (sum + 1) rule.
    digits = [int(c) for c in "10000470"]
    products = [d * w for d, w in zip(digits, (1, 2, 1, 2, 1, 2, 4, 1), strict=True)]
    total = sum(p // 10 + p % 10 for p in products)
    assert total % 5 != 0 and (total + 1) % 5 == 0
    assert is_valid_tax_id("10000470")
