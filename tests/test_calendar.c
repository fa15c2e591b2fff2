/* test_calendar.c - the NYSE session calendar: regular hours in New York
 * time across both DST changes, the published holidays and early closes of
 * 2024-2027 (spot checks against NYSE's announcements and a sanity check of
 * the whole table), the search for the next open and the log text of an
 * instant. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "../proto/nytime.h"
#include "../runner/calendar.h"
#include "testlib.h"

/* UTC seconds of a New York wall time. */
static int64_t ny(int y, int mo, int d, int h, int mi)
{
    return ny_to_utc(y, mo, d, h, mi, 0);
}

/* UTC seconds of a UTC wall time. */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
    return ny_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

static void check_session(int y, int mo, int d, int close_hour)
{
    CU_ASSERT_FALSE(cal_is_open(ny(y, mo, d, 9, 30) - 1));
    CU_ASSERT_TRUE(cal_is_open(ny(y, mo, d, 9, 30)));
    CU_ASSERT_TRUE(cal_is_open(ny(y, mo, d, close_hour, 0) - 1));
    CU_ASSERT_FALSE(cal_is_open(ny(y, mo, d, close_hour, 0)));
    CU_ASSERT_EQUAL(cal_close_of_session(ny(y, mo, d, 11, 0)), ny(y, mo, d, close_hour, 0));
}

static void check_closed_all_day(int y, int mo, int d, const char *why)
{
    cal_day_t day;
    cal_day(y, mo, d, &day);
    CU_ASSERT_FALSE(day.trading);
    CU_ASSERT_PTR_NOT_NULL_FATAL(day.why);
    CU_ASSERT_STRING_EQUAL(day.why, why);
    CU_ASSERT_FALSE(cal_is_open(ny(y, mo, d, 9, 30)));
    CU_ASSERT_FALSE(cal_is_open(ny(y, mo, d, 12, 0)));
    CU_ASSERT_EQUAL(cal_close_of_session(ny(y, mo, d, 12, 0)), -1);
}

static void regular_session_is_0930_to_1600_new_york_time(void)
{
    check_session(2025, 12, 10, 16);
    /* In winter that is 14:30-21:00 UTC. */
    CU_ASSERT_TRUE(cal_is_open(utc(2025, 12, 10, 14, 30)));
    CU_ASSERT_FALSE(cal_is_open(utc(2025, 12, 10, 14, 29)));
    CU_ASSERT_FALSE(cal_is_open(utc(2025, 12, 10, 21, 0)));
}

static void session_follows_new_york_across_the_spring_dst_change(void)
{
    /* DST began Sunday 2025-03-09: Friday opens 14:30 UTC, Monday 13:30. */
    CU_ASSERT_TRUE(cal_is_open(utc(2025, 3, 7, 14, 30)));
    CU_ASSERT_FALSE(cal_is_open(utc(2025, 3, 7, 13, 30)));
    CU_ASSERT_TRUE(cal_is_open(utc(2025, 3, 10, 13, 30)));
    CU_ASSERT_FALSE(cal_is_open(utc(2025, 3, 10, 13, 29)));
    CU_ASSERT_FALSE(cal_is_open(utc(2025, 3, 10, 20, 0)));
    CU_ASSERT_EQUAL(cal_next_open(utc(2025, 3, 7, 21, 0)), utc(2025, 3, 10, 13, 30));
}

static void session_follows_new_york_across_the_autumn_dst_change(void)
{
    /* DST ended Sunday 2025-11-02: Friday opens 13:30 UTC, Monday 14:30. */
    CU_ASSERT_TRUE(cal_is_open(utc(2025, 10, 31, 13, 30)));
    CU_ASSERT_FALSE(cal_is_open(utc(2025, 10, 31, 20, 0)));
    CU_ASSERT_FALSE(cal_is_open(utc(2025, 11, 3, 13, 30)));
    CU_ASSERT_TRUE(cal_is_open(utc(2025, 11, 3, 14, 30)));
    CU_ASSERT_TRUE(cal_is_open(utc(2025, 11, 3, 20, 59)));
    CU_ASSERT_EQUAL(cal_next_open(utc(2025, 10, 31, 20, 0)), utc(2025, 11, 3, 14, 30));
}

static void weekends_are_closed(void)
{
    check_closed_all_day(2025, 12, 13, "weekend");
    check_closed_all_day(2025, 12, 14, "weekend");
    cal_day_t d;
    cal_day(2025, 12, 13, &d);
    CU_ASSERT_EQUAL(d.weekday, 6);
    cal_day(2025, 12, 14, &d);
    CU_ASSERT_EQUAL(d.weekday, 0);
}

static void published_holidays_are_closed(void)
{
    check_closed_all_day(2025, 1, 9, "National Day of Mourning for President Carter");
    check_closed_all_day(2025, 4, 18, "Good Friday");
    check_closed_all_day(2025, 6, 19, "Juneteenth");
    check_closed_all_day(2024, 3, 29, "Good Friday");
    check_closed_all_day(2026, 7, 3, "Independence Day (observed)");
    check_closed_all_day(2027, 6, 18, "Juneteenth (observed)");
    check_closed_all_day(2027, 12, 24, "Christmas Day (observed)");
    check_closed_all_day(2025, 12, 25, "Christmas Day");
}

static void new_years_day_on_a_saturday_is_not_observed_on_friday(void)
{
    /* 2028-01-01 is a Saturday: NYSE trades on Friday 2027-12-31. */
    cal_day_t d;
    cal_day(2027, 12, 31, &d);
    CU_ASSERT_TRUE(d.trading);
    CU_ASSERT_FALSE(d.early_close);
    check_session(2027, 12, 31, 16);
}

static void early_closes_end_the_session_at_1300(void)
{
    static const int days[][3] = {{2024, 7, 3},   {2024, 11, 29}, {2024, 12, 24}, {2025, 7, 3},
                                  {2025, 11, 28}, {2025, 12, 24}, {2026, 11, 27}, {2026, 12, 24},
                                  {2027, 11, 26}};
    for (size_t i = 0; i < sizeof days / sizeof days[0]; i++) {
        cal_day_t d;
        cal_day(days[i][0], days[i][1], days[i][2], &d);
        CU_ASSERT_TRUE(d.trading);
        CU_ASSERT_TRUE(d.early_close);
        check_session(days[i][0], days[i][1], days[i][2], 13);
    }
}

static void table_counts_match_the_published_calendars(void)
{
    int holidays[4] = {0}, early[4] = {0};
    for (size_t i = 0; i < cal_nspecials; i++) {
        const cal_special_t *s = &cal_specials[i];
        CU_ASSERT_FATAL(s->year >= CAL_FIRST_YEAR && s->year <= CAL_LAST_YEAR);
        if (s->kind == CAL_HOLIDAY)
            holidays[s->year - CAL_FIRST_YEAR]++;
        else
            early[s->year - CAL_FIRST_YEAR]++;
    }
    /* 2025 has the day of mourning on top of the ten regular holidays. */
    CU_ASSERT_EQUAL(holidays[0], 10);
    CU_ASSERT_EQUAL(holidays[1], 11);
    CU_ASSERT_EQUAL(holidays[2], 10);
    CU_ASSERT_EQUAL(holidays[3], 10);
    CU_ASSERT_EQUAL(early[0], 3);
    CU_ASSERT_EQUAL(early[1], 3);
    CU_ASSERT_EQUAL(early[2], 2);
    CU_ASSERT_EQUAL(early[3], 1);
}

static void table_is_sorted_and_every_entry_falls_on_a_weekday(void)
{
    for (size_t i = 0; i < cal_nspecials; i++) {
        const cal_special_t *s = &cal_specials[i];
        cal_day_t d;
        cal_day(s->year, s->month, s->day, &d);
        CU_ASSERT(d.weekday >= 1 && d.weekday <= 5);
        CU_ASSERT_TRUE(d.known);
        if (i > 0) {
            const cal_special_t *p = &cal_specials[i - 1];
            CU_ASSERT(ny_days_from_civil(p->year, p->month, p->day) <
                      ny_days_from_civil(s->year, s->month, s->day));
        }
    }
}

static void next_open_skips_weekends_and_holidays(void)
{
    /* Friday after the close → Monday. */
    CU_ASSERT_EQUAL(cal_next_open(ny(2025, 12, 12, 16, 0)), ny(2025, 12, 15, 9, 30));
    /* Thursday before Good Friday → the Monday after. */
    CU_ASSERT_EQUAL(cal_next_open(ny(2025, 4, 17, 16, 0)), ny(2025, 4, 21, 9, 30));
    /* Christmas Eve's early close → the 26th. */
    CU_ASSERT_EQUAL(cal_next_open(ny(2025, 12, 24, 13, 0)), ny(2025, 12, 26, 9, 30));
    /* The day before the day of mourning → Friday 2025-01-10. */
    CU_ASSERT_EQUAL(cal_next_open(ny(2025, 1, 8, 20, 0)), ny(2025, 1, 10, 9, 30));
    /* Before the open on a trading day → that morning. */
    CU_ASSERT_EQUAL(cal_next_open(ny(2025, 12, 10, 3, 0)), ny(2025, 12, 10, 9, 30));
}

static void next_open_at_an_open_is_that_open_and_inside_a_session_the_next(void)
{
    int64_t open = ny(2025, 12, 10, 9, 30);
    CU_ASSERT_EQUAL(cal_next_open(open), open);
    CU_ASSERT_EQUAL(cal_next_open(open + 1), ny(2025, 12, 11, 9, 30));
}

static void years_outside_the_table_close_only_on_weekends(void)
{
    cal_day_t d;
    cal_day(2028, 7, 4, &d); /* a Tuesday, and Independence Day */
    CU_ASSERT_FALSE(d.known);
    CU_ASSERT_TRUE(d.trading);
    cal_day(2025, 7, 4, &d);
    CU_ASSERT_TRUE(d.known);
    CU_ASSERT_FALSE(d.trading);
}

/* The memo answers as the calendar does, minute by minute through a DST
 * change, a holiday, an early close and a weekend, and when asked about an
 * earlier time than the last. */
static void memo_answers_as_the_calendar_does(void)
{
    cal_memo_t m = {0};
    int64_t from = ny(2025, 11, 26, 0, 0), to = ny(2025, 12, 2, 0, 0);
    for (int64_t t = from; t < to; t += 60) {
        CU_ASSERT_EQUAL(cal_memo_is_open(&m, t), cal_is_open(t));
        CU_ASSERT_EQUAL(cal_memo_next_open(&m, t), cal_next_open(t));
    }
    for (int64_t t = ny(2025, 3, 10, 16, 0); t > ny(2025, 3, 7, 9, 0); t -= 97) {
        CU_ASSERT_EQUAL(cal_memo_is_open(&m, t), cal_is_open(t));
        CU_ASSERT_EQUAL(cal_memo_next_open(&m, t), cal_next_open(t));
    }
}

/* The log text of an instant is New York's civil time and zone, as
 * "%04d-%02d-%02d %02d:%02d:%02d %s" writes it: both sides of each DST
 * change, single-digit fields, midnight, a leap day, years of fewer than
 * four digits and years past 9999 and before 0. */
static void ny_text_is_new_york_time_and_zone_zero_padded(void)
{
    char buf[CAL_NY_TEXT_MAX];
    cal_ny_text(ny(2025, 12, 10, 10, 0), buf);
    CU_ASSERT_STRING_EQUAL(buf, "2025-12-10 10:00:00 EST");
    cal_ny_text(ny(2025, 7, 4, 9, 5) + 7, buf);
    CU_ASSERT_STRING_EQUAL(buf, "2025-07-04 09:05:07 EDT");
    cal_ny_text(ny(2024, 2, 29, 0, 0), buf);
    CU_ASSERT_STRING_EQUAL(buf, "2024-02-29 00:00:00 EST");
    /* 2025-03-09 02:00 EST is the spring change; 2025-11-02 02:00 EDT the autumn one. */
    cal_ny_text(ny(2025, 3, 9, 1, 59) + 59, buf);
    CU_ASSERT_STRING_EQUAL(buf, "2025-03-09 01:59:59 EST");
    cal_ny_text(ny(2025, 3, 9, 1, 59) + 60, buf);
    CU_ASSERT_STRING_EQUAL(buf, "2025-03-09 03:00:00 EDT");
    cal_ny_text(ny(2025, 11, 2, 0, 59) + 3600 + 59, buf);
    CU_ASSERT_STRING_EQUAL(buf, "2025-11-02 01:59:59 EDT");
    cal_ny_text(ny(2025, 11, 2, 0, 59) + 3600 + 60, buf);
    CU_ASSERT_STRING_EQUAL(buf, "2025-11-02 01:00:00 EST");
    int64_t odd[] = {0, -1, -62135596800 - 86400 * 400, 253402300800 + 86400 * 40,
                     -99999999999, 999999999999};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        ny_civil_t c;
        char want[CAL_NY_TEXT_MAX];
        ny_from_utc(odd[i], &c);
        snprintf(want, sizeof want, "%04d-%02d-%02d %02d:%02d:%02d %s", c.year, c.month, c.day,
                 c.hour, c.minute, c.second, c.utc_offset_s == -14400 ? "EDT" : "EST");
        cal_ny_text(odd[i], buf);
        CU_ASSERT_STRING_EQUAL(buf, want);
    }
    cal_ny_text(-62135596800 + 86400 * 400, buf); /* year 2 */
    CU_ASSERT_EQUAL(strncmp(buf, "0002-", 5), 0);
}

static CU_TestInfo tests[] = {
    {"regular_session_is_0930_to_1600_new_york_time",
     regular_session_is_0930_to_1600_new_york_time},
    {"session_follows_new_york_across_the_spring_dst_change",
     session_follows_new_york_across_the_spring_dst_change},
    {"session_follows_new_york_across_the_autumn_dst_change",
     session_follows_new_york_across_the_autumn_dst_change},
    {"weekends_are_closed", weekends_are_closed},
    {"published_holidays_are_closed", published_holidays_are_closed},
    {"new_years_day_on_a_saturday_is_not_observed_on_friday",
     new_years_day_on_a_saturday_is_not_observed_on_friday},
    {"early_closes_end_the_session_at_1300", early_closes_end_the_session_at_1300},
    {"table_counts_match_the_published_calendars", table_counts_match_the_published_calendars},
    {"table_is_sorted_and_every_entry_falls_on_a_weekday",
     table_is_sorted_and_every_entry_falls_on_a_weekday},
    {"next_open_skips_weekends_and_holidays", next_open_skips_weekends_and_holidays},
    {"next_open_at_an_open_is_that_open_and_inside_a_session_the_next",
     next_open_at_an_open_is_that_open_and_inside_a_session_the_next},
    {"years_outside_the_table_close_only_on_weekends",
     years_outside_the_table_close_only_on_weekends},
    {"memo_answers_as_the_calendar_does", memo_answers_as_the_calendar_does},
    {"ny_text_is_new_york_time_and_zone_zero_padded", ny_text_is_new_york_time_and_zone_zero_padded},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_suites[] = {
    {"calendar", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
