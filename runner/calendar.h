/* calendar.h - the NYSE regular session in America/New_York: 09:30-16:00 on
 * weekdays, closed on the exchange's holidays, 13:00 on its early-close days.
 * The holidays and early closes are data (calendar_data.c, 2024-2027, as NYSE
 * published them); outside those years only weekends are known to be closed.
 * Times are UTC seconds since the epoch; New York civil time and its DST come
 * from proto/nytime.h. Pure functions: no clock, no I/O. */
#ifndef RUNNER_CALENDAR_H
#define RUNNER_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

#define CAL_OPEN_MIN (9 * 60 + 30)   /* 09:30, minutes after midnight */
#define CAL_CLOSE_MIN (16 * 60)      /* 16:00 */
#define CAL_EARLY_CLOSE_MIN (13 * 60) /* 13:00 */

enum cal_kind { CAL_HOLIDAY, CAL_EARLY_CLOSE };

/* One row of the exchange's published calendar. */
typedef struct cal_special {
    int year, month, day;
    enum cal_kind kind;
    const char *name;
} cal_special_t;

/* The table in calendar_data.c, sorted by date, and the years it covers. */
extern const cal_special_t cal_specials[];
extern const size_t cal_nspecials;
#define CAL_FIRST_YEAR 2024
#define CAL_LAST_YEAR 2027

/* One exchange day. */
typedef struct cal_day {
    int year, month, day;
    int weekday;          /* 0 = Sunday */
    int trading;          /* 1: there is a session */
    int early_close;      /* the session ends at 13:00 */
    int known;            /* the year is in the table; 0: weekends only */
    const char *why;      /* closed: "weekend" or the holiday's name;
                             early close: its name; else NULL */
    int64_t open_utc_s;   /* when trading: the session's bounds */
    int64_t close_utc_s;
} cal_day_t;

/* The exchange day of that New York date (month 1..12). */
void cal_day(int year, int month, int day, cal_day_t *out);

/* 1 if a regular session is in progress at that instant ([open, close)). */
int cal_is_open(int64_t utc_s);

/* The open of the first session that starts at or after utc_s. */
int64_t cal_next_open(int64_t utc_s);

/* The close of the session in progress at utc_s, or -1 when closed. */
int64_t cal_close_of_session(int64_t utc_s);

/* "2025-12-10 10:00:00 EST": the New York civil time of an instant, for
 * log lines. CAL_NY_TEXT_MAX holds any int year. */
#define CAL_NY_TEXT_MAX 40
void cal_ny_text(int64_t utc_s, char buf[CAL_NY_TEXT_MAX]);

/* A memo of the last answer: whether the market is open from `from_s`
 * until `until_s` (the close, or the next open). A caller that asks at
 * every health check (every few seconds, over a year) then works the
 * calendar out about twice a day. Zeroed, it holds nothing. */
typedef struct cal_memo {
    int64_t from_s, until_s; /* the answer holds on [from_s, until_s) */
    int open;
} cal_memo_t;

/* cal_is_open(utc_s), from the memo when it covers utc_s. */
int cal_memo_is_open(cal_memo_t *m, int64_t utc_s);
/* cal_next_open(utc_s), from the memo when it covers utc_s. */
int64_t cal_memo_next_open(cal_memo_t *m, int64_t utc_s);

#endif
