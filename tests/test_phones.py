"""Taiwan phone numbers: what people type, the stored form, the shown form and the tel: link."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.phones import AREA_CODES, PhoneError, format_phone, is_valid, normalise, tel_href


@pytest.mark.parametrize(
    ("typed", "stored", "shown"),
    [
        ("(02) 2729-5757", "0227295757", "(02) 2729-5757"),
        ("02-27295757", "0227295757", "(02) 2729-5757"),
        ("02 2729 5757", "0227295757", "(02) 2729-5757"),
        ("+886 2 2729 5757", "0227295757", "(02) 2729-5757"),
        ("+886-2-2729-5757", "0227295757", "(02) 2729-5757"),
        ("+886 (0)2 2729 5757", "0227295757", "(02) 2729-5757"),
        ("00886 2 2729 5757", "0227295757", "(02) 2729-5757"),
        ("（０２）２７２９－５７５７", "0227295757", "(02) 2729-5757"),
        ("0912-345-678", "0912345678", "0912-345-678"),
        ("0912 345 678", "0912345678", "0912-345-678"),
        ("+886 912 345 678", "0912345678", "0912-345-678"),
        ("０９１２３４５６７８", "0912345678", "0912-345-678"),
        ("(03) 425-1234", "034251234", "(03) 425-1234"),
        ("037-123456", "037123456", "(037) 123-456"),
        ("(04) 2345-6789", "0423456789", "(04) 2345-6789"),
        ("04-723-4567", "047234567", "(04) 723-4567"),
        ("049-223-4567", "0492234567", "(049) 223-4567"),
        ("05-2271234", "052271234", "(05) 227-1234"),
        ("06 2991111", "062991111", "(06) 299-1111"),
        ("07-3312345", "073312345", "(07) 331-2345"),
        ("08-7321234", "087321234", "(08) 732-1234"),
        ("089-321234", "089321234", "(089) 321-234"),
        ("082-325678", "082325678", "(082) 325-678"),
        ("0836-22345", "083622345", "(0836) 22-345"),
        ("0800-123-456", "0800123456", "0800-123-456"),
        ("0800123456", "0800123456", "0800-123-456"),
        ("110", "110", "110"),
        ("119", "119", "119"),
    ],
)
def test_normalise_and_format(typed, stored, shown):
    assert normalise(typed) == stored
    assert format_phone(stored) == shown
    assert format_phone(typed) == shown
    assert tel_href(stored) == f"tel:{stored}"


@pytest.mark.parametrize(
    "typed",
    [
        "(02) 2729-5757 分機 123",
        "(02)2729-5757分機123",
        "02-2729-5757 ext. 123",
        "02-2729-5757 EXT 123",
        "02-2729-5757 x123",
        "02-2729-5757#123",
        "02-2729-5757 # 123",
        "02-2729-5757 轉 123",
        "02-2729-5757,123",
        "（０２）２７２９－５７５７　分機１２３",
        "+886 2 2729 5757 ext 123",
    ],
)
def test_extensions(typed):
    assert normalise(typed) == "0227295757#123"
    assert format_phone(typed) == "(02) 2729-5757 分機 123"
    assert format_phone(typed, ext_label="ext.") == "(02) 2729-5757 ext. 123"
    assert tel_href(typed) == "tel:0227295757,123"


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("2729-5757", "area_code"),  # no area code
        ("912-345-678", "area_code"),
        ("02-2729-575", "length"),
        ("02-2729-57577", "length"),
        ("02-0729-5757", "length"),  # a subscriber number never starts with 0
        ("0912-345-67", "length"),
        ("0912-345-6789", "length"),
        ("0800-123-45", "length"),
        ("0123456789", "area_code"),
        ("01-2345678", "area_code"),
        ("+1 415 555 0100", "not_taiwan"),
        ("+81 3 1234 5678", "not_taiwan"),
        ("02-2729-5757 分機 1234567", "characters"),
        ("call me", "characters"),
        ("02-2729-5757 a", "characters"),
        ("110 分機 1", "length"),
        ("٠٢٢٧٢٩٥٧٥٧", "characters"),  # digits of another script
    ],
)
def test_refused(typed, reason):
    with pytest.raises(PhoneError) as caught:
        normalise(typed)
    assert caught.value.reason == reason
    assert not is_valid(typed)


def test_nothing_typed_is_no_number():
    assert normalise("") == ""
    assert normalise("   ") == ""
    assert normalise(None) == ""
    assert format_phone("") == ""
    assert format_phone(None) == ""
    assert tel_href("") == ""


def test_text_that_is_no_number_is_shown_as_it_is():
    """Numbers typed before normalisation (a client's old main phone) still show."""
    assert format_phone(" 總機請洽櫃台 ") == "總機請洽櫃台"
    assert tel_href("總機請洽櫃台") == ""


# ---------------------------------------------------------------- properties


def _digits(n: int, *, leading_zero: bool = True):
    """n decimal digits (ASCII), the first not 0 unless `leading_zero`."""
    low = 0 if leading_zero else 10 ** (n - 1)
    return st.integers(low, 10**n - 1).map(lambda i: f"{i:0{n}d}")


def _landline():
    return st.sampled_from(
        [(code, n) for code, lengths in sorted(AREA_CODES.items()) for n in lengths]
    ).flatmap(lambda pair: _digits(pair[1], leading_zero=False).map(lambda r: pair[0] + r))


_numbers = st.one_of(
    _landline(),
    _digits(8).map(lambda d: "09" + d),
    _digits(6).map(lambda d: "0800" + d),
)
_extensions = st.one_of(st.just(""), st.integers(1, 6).flatmap(_digits))


def _unambiguous(number: str) -> bool:
    """037/049/089/082/0826/0836 numbers also read as an 03/04/08 number of the other length:
    the longest code wins, so a generated "03 7xx-xxxx" is not the number it was made as."""
    return is_valid(number) and normalise(number) == number


@given(_numbers, _extensions)
def test_stored_form_is_a_fixed_point(number, extension):
    stored = number + ("#" + extension if extension else "")
    if not _unambiguous(number):
        return
    assert normalise(stored) == stored
    shown = format_phone(stored)
    assert normalise(shown) == stored  # what is shown reads back as the same number
    assert normalise(format_phone(stored, ext_label="ext.")) == stored


@given(_numbers, _extensions, st.sampled_from(["-", " ", "", "．", "－", " - "]))
def test_separators_and_full_width_do_not_matter(number, extension, sep):
    if not _unambiguous(number):
        return
    spaced = sep.join([number[:3], number[3:6], number[6:]])
    full_width = spaced.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})
    typed = full_width + (f" 分機 {extension}" if extension else "")
    assert normalise(typed) == number + ("#" + extension if extension else "")


@given(_numbers)
def test_international_form_is_the_same_number(number):
    if not _unambiguous(number) or number.startswith("0800"):
        return
    assert normalise("+886 " + number[1:]) == number


@given(st.text(max_size=30))
def test_never_crashes_and_stored_form_is_digits(text):
    try:
        stored = normalise(text)
    except PhoneError:
        return
    national, _, extension = stored.partition("#")
    assert national == "" or set(national) <= set("0123456789")
    assert extension == "" or set(extension) <= set("0123456789")
    assert len(stored) <= 17
