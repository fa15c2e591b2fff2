/* duration.c - parsing and printing of scenario durations and moments
 * (see duration.h). */
#include "duration.h"
#include "nytime.h"
#include "proto.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Anything longer than a century is a typo, and the bound keeps every
 * product below INT64_MAX. */
#define DUR_MAX_US ((io_us_t)100 * 366 * 24 * 3600 * IO_US_PER_S)
#define DUR_GROUP_DIGITS_MAX 12

static int dur_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Units from largest to smallest: a duration must use them in this order. */
static const struct {
    const char *name;
    io_us_t us;
} dur_units[] = {
    {"d", 24 * 3600 * IO_US_PER_S}, {"h", 3600 * IO_US_PER_S}, {"m", 60 * IO_US_PER_S},
    {"s", IO_US_PER_S},             {"ms", IO_US_PER_MS},
};
#define DUR_NUNITS (sizeof dur_units / sizeof dur_units[0])

/* The unit at *p: the longest name that matches ("ms" before "m"), its index,
 * or -1 when the letters there are no unit. */
static int dur_unit_at(const char *p, size_t *len)
{
    int best = -1;
    size_t best_len = 0;
    for (size_t i = 0; i < DUR_NUNITS; i++) {
        size_t n = strlen(dur_units[i].name);
        if (n > best_len && strncmp(p, dur_units[i].name, n) == 0) {
            best = (int)i;
            best_len = n;
        }
    }
    *len = best_len;
    return best;
}

int dur_parse(const char *text, io_us_t *out, char *err, size_t errlen)
{
    const char *p = text;
    io_us_t total = 0;
    int last_unit = -1;
    if (*p == '\0') {
        proto_errf(err, errlen, "empty duration (write e.g. \"30s\" or \"1h30m\")");
        return IO_ERR_INVAL;
    }
    while (*p) {
        int64_t n = 0;
        int digits = 0;
        for (; dur_is_digit(*p); p++, digits++) {
            if (digits == DUR_GROUP_DIGITS_MAX) {
                proto_errf(err, errlen, "duration \"%s\" is too long", text);
                return IO_ERR_INVAL;
            }
            n = n * 10 + (*p - '0');
        }
        if (digits == 0) {
            proto_errf(err, errlen, "bad duration \"%s\": expected a number at \"%s\"", text, p);
            return IO_ERR_INVAL;
        }
        size_t ulen;
        int unit = dur_unit_at(p, &ulen);
        if (unit < 0) {
            proto_errf(err, errlen, "bad duration \"%s\": %s at \"%s\" (units: d h m s ms)", text,
                     *p ? "unknown unit" : "missing unit", p);
            return IO_ERR_INVAL;
        }
        if (unit <= last_unit) {
            proto_errf(err, errlen,
                     "bad duration \"%s\": units go from largest to smallest, each once", text);
            return IO_ERR_INVAL;
        }
        if (n > DUR_MAX_US / dur_units[unit].us || total + n * dur_units[unit].us > DUR_MAX_US) {
            proto_errf(err, errlen, "duration \"%s\" is longer than 100 years", text);
            return IO_ERR_INVAL;
        }
        total += n * dur_units[unit].us;
        last_unit = unit;
        p += ulen;
    }
    *out = total;
    return 0;
}

static int dur_days_in_month(int64_t year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* Reads exactly n digits at *p into *v and advances *p; 0 if they are not all
 * digits. */
static int dur_digits(const char **p, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (!dur_is_digit((*p)[i]))
            return 0;
        x = x * 10 + ((*p)[i] - '0');
    }
    *v = x;
    *p += n;
    return 1;
}

static int dur_expect(const char **p, char c)
{
    if (**p != c)
        return 0;
    (*p)++;
    return 1;
}

/* The fields of "YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM|-HH:MM)". */
typedef struct dur_civil {
    int year, month, day, hour, min, sec, frac_us;
    int offset_min; /* east of UTC */
} dur_civil_t;

/* Splits the text into fields; range checks come after. Returns NULL on
 * success or a description of what is wrong. */
static const char *dur_split_iso(const char *p, dur_civil_t *c)
{
    if (!dur_digits(&p, 4, &c->year) || !dur_expect(&p, '-') || !dur_digits(&p, 2, &c->month) ||
        !dur_expect(&p, '-') || !dur_digits(&p, 2, &c->day))
        return "expected a date YYYY-MM-DD";
    if (!dur_expect(&p, 'T'))
        return "expected 'T' between date and time";
    if (!dur_digits(&p, 2, &c->hour) || !dur_expect(&p, ':') || !dur_digits(&p, 2, &c->min) ||
        !dur_expect(&p, ':') || !dur_digits(&p, 2, &c->sec))
        return "expected a time HH:MM:SS";
    c->frac_us = 0;
    if (dur_expect(&p, '.')) {
        int n = 0;
        for (; dur_is_digit(*p); p++, n++) {
            if (n == 6)
                return "fraction finer than microseconds";
            c->frac_us = c->frac_us * 10 + (*p - '0');
        }
        if (n == 0)
            return "expected digits after '.'";
        for (; n < 6; n++)
            c->frac_us *= 10;
    }
    if (dur_expect(&p, 'Z')) {
        c->offset_min = 0;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (!dur_digits(&p, 2, &oh) || !dur_expect(&p, ':') || !dur_digits(&p, 2, &om))
            return "expected an offset +HH:MM or -HH:MM";
        if (oh > 23 || om > 59)
            return "offset out of range";
        c->offset_min = sign * (oh * 60 + om);
    } else {
        return "expected an offset: Z, +HH:MM or -HH:MM";
    }
    return *p ? "unexpected text after the offset" : NULL;
}

static const char *dur_check_ranges(const dur_civil_t *c)
{
    if (c->year < 1970)
        return "year before 1970";
    if (c->month < 1 || c->month > 12)
        return "month out of range";
    if (c->day < 1 || c->day > dur_days_in_month(c->year, c->month))
        return "day out of range for that month";
    if (c->hour > 23 || c->min > 59 || c->sec > 59)
        return "time of day out of range";
    return NULL;
}

static int dur_parse_iso(const char *text, io_us_t *out, char *err, size_t errlen)
{
    dur_civil_t c;
    const char *why = dur_split_iso(text, &c);
    if (!why)
        why = dur_check_ranges(&c);
    if (why) {
        proto_errf(err, errlen,
                 "bad moment \"%s\": %s (write e.g. \"2025-12-10T09:25:00-05:00\" or \"+30m\")",
                 text, why);
        return IO_ERR_INVAL;
    }
    int64_t days = ny_days_from_civil((int)c.year, c.month, c.day);
    int64_t secs = days * 86400 + c.hour * 3600 + c.min * 60 + c.sec - c.offset_min * 60;
    if (secs < 0) {
        proto_errf(err, errlen, "bad moment \"%s\": before 1970-01-01T00:00:00Z", text);
        return IO_ERR_INVAL;
    }
    *out = secs * IO_US_PER_S + c.frac_us;
    return 0;
}

int dur_parse_moment(const char *text, const io_us_t *start_us, io_us_t *out, char *err,
                     size_t errlen)
{
    if (text[0] != '+')
        return dur_parse_iso(text, out, err, errlen);
    if (!start_us) {
        proto_errf(err, errlen, "bad moment \"%s\": \"+DURATION\" needs a start to count from",
                 text);
        return IO_ERR_INVAL;
    }
    io_us_t d;
    int rc = dur_parse(text + 1, &d, err, errlen);
    if (rc == 0)
        *out = *start_us + d;
    return rc;
}

/* Writes ".fff" (digits wide) for frac, without trailing zeros; "" for 0. */
static void dur_fraction(char *fr, size_t cap, uint64_t frac, int digits)
{
    fr[0] = '\0';
    if (frac == 0)
        return;
    snprintf(fr, cap, ".%0*" PRIu64, digits, frac);
    for (size_t n = strlen(fr); fr[n - 1] == '0'; n--)
        fr[n - 1] = '\0';
}

const char *dur_format(io_us_t us, char *buf, size_t cap)
{
    const char *sign = us < 0 ? "-" : "";
    uint64_t u = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
    uint64_t s = u / IO_US_PER_S;
    char fr[16];
    if (u > 0 && u < (uint64_t)IO_US_PER_MS) {
        snprintf(buf, cap, "%s%" PRIu64 "us", sign, u);
    } else if (u > 0 && u < (uint64_t)IO_US_PER_S) {
        dur_fraction(fr, sizeof fr, u % 1000, 3);
        snprintf(buf, cap, "%s%" PRIu64 "%sms", sign, u / 1000, fr);
    } else {
        dur_fraction(fr, sizeof fr, u % IO_US_PER_S, 6);
        if (s >= 3600)
            snprintf(buf, cap, "%s%" PRIu64 "h%" PRIu64 "m%" PRIu64 "%ss", sign, s / 3600,
                     s / 60 % 60, s % 60, fr);
        else if (s >= 60)
            snprintf(buf, cap, "%s%" PRIu64 "m%" PRIu64 "%ss", sign, s / 60, s % 60, fr);
        else
            snprintf(buf, cap, "%s%" PRIu64 "%ss", sign, s, fr);
    }
    return buf;
}
