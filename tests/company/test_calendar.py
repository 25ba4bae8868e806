"""Printed dates in the ROC calendar (民國): the year count, its first year, before 1912."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.company.calendar import print_date, print_datetime, roc_date_zh, roc_year


@pytest.mark.parametrize(
    ("day", "year"),
    [
        (date(2026, 11, 25), 115),
        (date(1912, 1, 1), 1),
        (date(1913, 6, 1), 2),
        (date(1911, 12, 31), None),
    ],
)
def test_roc_year_counts_from_1912(day, year):
    assert roc_year(day) == year


def test_a_roc_date_reads_the_way_official_papers_write_it():
    assert roc_date_zh(date(2026, 11, 25)) == "民國 115 年 11 月 25 日"
    assert roc_date_zh(date(2026, 1, 5)) == "民國 115 年 1 月 5 日"


def test_1912_is_the_first_year_of_the_republic():
    assert roc_date_zh(date(1912, 1, 1)) == "民國元年 1 月 1 日"
    assert roc_date_zh(date(1912, 12, 31)) == "民國元年 12 月 31 日"
    assert roc_date_zh(date(1913, 1, 1)) == "民國 2 年 1 月 1 日"


def test_a_date_before_1912_has_no_roc_year_and_is_printed_gregorian():
    assert roc_date_zh(date(1911, 12, 31)) is None
    assert print_date(date(1911, 12, 31), calendar="roc", locale="zh_Hant_TW") == "1911-12-31"


def test_the_roc_calendar_is_for_the_chinese_pages_english_keeps_gregorian():
    day = date(2026, 11, 25)
    assert print_date(day, calendar="roc", locale="zh_Hant_TW") == "民國 115 年 11 月 25 日"
    assert print_date(day, calendar="roc", locale="en") == "2026-11-25"
    assert print_date(day, calendar="gregorian", locale="zh_Hant_TW") == "2026-11-25"
    assert print_date(None, calendar="roc", locale="zh_Hant_TW") == ""


def test_an_instant_is_printed_on_its_taipei_day_and_time():
    # 16:30 UTC on the 25th is 00:30 on the 26th in Taipei: the printed day is the 26th.
    at = datetime(2026, 11, 25, 16, 30, tzinfo=UTC)
    assert (
        print_datetime(at, calendar="roc", locale="zh_Hant_TW") == "民國 115 年 11 月 26 日 00:30"
    )
    assert print_datetime(at, calendar="roc", locale="en") == "2026-11-26 00:30"
    assert print_datetime(at, calendar="gregorian", locale="zh_Hant_TW") == "2026-11-26 00:30"
    assert print_datetime(None, calendar="roc", locale="en") == ""
