/* calendar.c - the NYSE regular session (see calendar.h). */
#include "calendar.h"

#include <stdio.h>
#include <string.h>

#include "../proto/nytime.h"

/* The longest run of days without a session is a holiday weekend (four
 * days); a week more is a safe bound for the search. */
#define CAL_SEARCH_DAYS 14

static const cal_special_t *cal_find(int year, int month, int day)
{
    size_t lo = 0, hi = cal_nspecials;
    int key = (year * 12 + month) * 32 + day;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const cal_special_t *s = &cal_specials[mid];
        int k = (s->year * 12 + s->month) * 32 + s->day;
        if (k == key)
            return s;
        if (k < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void cal_day(int year, int month, int day, cal_day_t *out)
{
    /* 1970-01-01 was a Thursday. */
    int64_t days = ny_days_from_civil(year, month, day);
    int weekday = (int)(((days % 7) + 11) % 7);
    *out = (cal_day_t){.year = year, .month = month, .day = day, .weekday = weekday};
    out->known = year >= CAL_FIRST_YEAR && year <= CAL_LAST_YEAR;
    const cal_special_t *s = cal_find(year, month, day);
    if (weekday == 0 || weekday == 6) {
        out->why = "weekend";
        return;
    }
    if (s && s->kind == CAL_HOLIDAY) {
        out->why = s->name;
        return;
    }
    out->trading = 1;
    out->early_close = s != NULL;
    out->why = s ? s->name : NULL;
    int close_min = s ? CAL_EARLY_CLOSE_MIN : CAL_CLOSE_MIN;
    out->open_utc_s = ny_to_utc(year, month, day, CAL_OPEN_MIN / 60, CAL_OPEN_MIN % 60, 0);
    out->close_utc_s = ny_to_utc(year, month, day, close_min / 60, close_min % 60, 0);
}

/* The exchange day an instant falls on, and that day plus delta days. */
static void cal_day_of(int64_t utc_s, int delta, cal_day_t *out)
{
    ny_civil_t c;
    ny_from_utc(utc_s, &c);
    int y, m, d;
    ny_civil_from_days(ny_days_from_civil(c.year, c.month, c.day) + delta, &y, &m, &d);
    cal_day(y, m, d, out);
}

int cal_is_open(int64_t utc_s)
{
    return cal_close_of_session(utc_s) >= 0;
}

int64_t cal_close_of_session(int64_t utc_s)
{
    cal_day_t d;
    cal_day_of(utc_s, 0, &d);
    if (d.trading && utc_s >= d.open_utc_s && utc_s < d.close_utc_s)
        return d.close_utc_s;
    return -1;
}

int64_t cal_next_open(int64_t utc_s)
{
    cal_day_t d;
    for (int k = 0; k < CAL_SEARCH_DAYS; k++) {
        cal_day_of(utc_s, k, &d);
        if (d.trading && d.open_utc_s >= utc_s)
            return d.open_utc_s;
    }
    /* Unreachable: five weekdays in a row are never all holidays. */
    return utc_s + (int64_t)CAL_SEARCH_DAYS * 86400;
}

/* Writes v as width digits, zero-padded (v in [0, 10^width)). */
static char *cal_put_digits(char *p, int v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

void cal_ny_text(int64_t utc_s, char buf[CAL_NY_TEXT_MAX])
{
    ny_civil_t c;
    ny_from_utc(utc_s, &c);
    const char *zone = c.utc_offset_s == -14400 ? "EDT" : "EST";
    /* printf costs more than the rest of a health check; it is left for
     * the years "%04d" would not write as four digits. */
    if (c.year < 0 || c.year > 9999) {
        snprintf(buf, CAL_NY_TEXT_MAX, "%04d-%02d-%02d %02d:%02d:%02d %s", c.year, c.month,
                 c.day, c.hour, c.minute, c.second, zone);
        return;
    }
    char *p = cal_put_digits(buf, c.year, 4);
    *p++ = '-';
    p = cal_put_digits(p, c.month, 2);
    *p++ = '-';
    p = cal_put_digits(p, c.day, 2);
    *p++ = ' ';
    p = cal_put_digits(p, c.hour, 2);
    *p++ = ':';
    p = cal_put_digits(p, c.minute, 2);
    *p++ = ':';
    p = cal_put_digits(p, c.second, 2);
    *p++ = ' ';
    memcpy(p, zone, 4);
}

/* Works the answer out afresh for utc_s: in a session it holds until its
 * close; outside one, until the next open (nothing opens before it). Out
 * of line: it runs about twice a day, and inlined it would make every hit
 * save and restore the registers it needs. */
__attribute__((noinline)) static void cal_memo_fill(cal_memo_t *m, int64_t utc_s)
{
    int64_t close = cal_close_of_session(utc_s);
    m->from_s = utc_s;
    m->open = close >= 0;
    m->until_s = m->open ? close : cal_next_open(utc_s);
}

/* Makes the memo cover utc_s. */
static void cal_memo_cover(cal_memo_t *m, int64_t utc_s)
{
    if (utc_s < m->from_s || utc_s >= m->until_s)
        cal_memo_fill(m, utc_s);
}

int cal_memo_is_open(cal_memo_t *m, int64_t utc_s)
{
    cal_memo_cover(m, utc_s);
    return m->open;
}

int64_t cal_memo_next_open(cal_memo_t *m, int64_t utc_s)
{
    cal_memo_cover(m, utc_s);
    /* Closed: the open that ends the stretch is the first at or after it. */
    return m->open ? cal_next_open(utc_s) : m->until_s;
}
