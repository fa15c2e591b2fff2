/* nytime.c - see nytime.h. Date arithmetic after Howard Hinnant's
 * days_from_civil / civil_from_days (public domain algorithms). */
#include "nytime.h"

#define NY_EST_S (-5 * 3600)
#define NY_EDT_S (-4 * 3600)

int64_t ny_days_from_civil(int year, int month, int day)
{
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (month + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void ny_civil_from_days(int64_t days, int *year, int *month, int *day)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *year = (int)(yoe + era * 400 + (m <= 2));
    *month = (int)m;
    *day = (int)d;
}

static int64_t ny_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Day of month of the n-th Sunday (n >= 1) of a month. */
static int ny_nth_sunday(int year, int month, int n)
{
    int64_t first = ny_days_from_civil(year, month, 1);
    int weekday = (int)((first % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
    int first_sunday = 1 + (7 - weekday) % 7;
    return first_sunday + 7 * (n - 1);
}

/* The DST span of one year as UTC instants, with the year's bounds in
 * EST-local seconds (the clock ny_is_dst finds the year by). */
typedef struct ny_dst_year {
    int64_t from_est_s, to_est_s;   /* [Jan 1, next Jan 1); from > to: empty */
    int64_t start_s, end_s;         /* DST in force: [start_s, end_s) */
} ny_dst_year_t;

/* The last year asked about, per thread: a request's bars, a runner's
 * status and a day's timers all ask about the same year again and again,
 * and working the year's Sundays out costs some twenty times the test.
 * A memo of a pure function, so nothing depends on what was asked before;
 * per thread, so threads never share it. */
static _Thread_local ny_dst_year_t ny_memo = {1, 0, 0, 0};

/* DST starts at 02:00 EST (07:00 UTC) and ends at 02:00 EDT (06:00 UTC). */
static void ny_dst_year(int64_t est_s, ny_dst_year_t *out)
{
    int year, month, day;
    ny_civil_from_days(ny_floor_div(est_s, 86400), &year, &month, &day);
    out->from_est_s = ny_days_from_civil(year, 1, 1) * 86400;
    out->to_est_s = ny_days_from_civil(year + 1, 1, 1) * 86400;
    out->start_s = ny_days_from_civil(year, 3, ny_nth_sunday(year, 3, 2)) * 86400 + 7 * 3600;
    out->end_s = ny_days_from_civil(year, 11, ny_nth_sunday(year, 11, 1)) * 86400 + 6 * 3600;
}

int ny_is_dst(int64_t utc_s)
{
    int64_t est_s = utc_s + NY_EST_S;
    if (est_s < ny_memo.from_est_s || est_s >= ny_memo.to_est_s)
        ny_dst_year(est_s, &ny_memo);
    return utc_s >= ny_memo.start_s && utc_s < ny_memo.end_s;
}

int64_t ny_local_from_utc(int64_t utc_s)
{
    return utc_s + (ny_is_dst(utc_s) ? NY_EDT_S : NY_EST_S);
}

/* The last two local days ny_from_utc turned into dates, per thread: its
 * callers (bar times, log lines, the calendar) mostly ask about the same
 * day again, or take turns with another one (the mock's bars and the
 * runner's log lines), and the date costs most of the conversion. A memo
 * of a pure function, like ny_memo. No day is INT64_MIN (a day is seconds
 * / 86400). */
typedef struct ny_day_memo {
    int64_t days;
    int year, month, day, weekday;
} ny_day_memo_t;

static _Thread_local ny_day_memo_t ny_day_memo[2] = {{INT64_MIN, 0, 0, 0, 0},
                                                      {INT64_MIN, 0, 0, 0, 0}};
static _Thread_local unsigned ny_day_next; /* the entry a new day takes */

static const ny_day_memo_t *ny_day(int64_t days)
{
    if (ny_day_memo[0].days == days)
        return &ny_day_memo[0];
    if (ny_day_memo[1].days == days)
        return &ny_day_memo[1];
    ny_day_memo_t *m = &ny_day_memo[ny_day_next++ & 1];
    ny_civil_from_days(days, &m->year, &m->month, &m->day);
    m->weekday = (int)((days % 7 + 7 + 4) % 7);
    m->days = days;
    return m;
}

void ny_from_utc(int64_t utc_s, ny_civil_t *out)
{
    int64_t local = ny_local_from_utc(utc_s);
    int64_t days = ny_floor_div(local, 86400);
    int secs = (int)(local - days * 86400); /* 0 .. 86399 */
    const ny_day_memo_t *m = ny_day(days);
    out->utc_offset_s = (int)(local - utc_s);
    out->year = m->year;
    out->month = m->month;
    out->day = m->day;
    out->hour = secs / 3600;
    out->minute = secs / 60 % 60;
    out->second = secs % 60;
    out->weekday = m->weekday;
}

int64_t ny_utc_from_local(int64_t local_s)
{
    int64_t as_edt = local_s - NY_EDT_S;
    if (ny_is_dst(as_edt))
        return as_edt;
    return local_s - NY_EST_S;
}

int64_t ny_to_utc(int year, int month, int day, int hour, int minute, int second)
{
    return ny_utc_from_local(ny_days_from_civil(year, month, day) * 86400 + hour * 3600 +
                             minute * 60 + second);
}
