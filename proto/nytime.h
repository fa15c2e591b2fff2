/* nytime.h - exchange time: civil time in America/New_York from UTC and
 * back, with the US daylight-saving rule in force since 2007 (DST from the
 * second Sunday of March 02:00 to the first Sunday of November 02:00).
 * Bars, market hours and the Gateway's daily restart are all stated in this
 * zone. Pure arithmetic: no TZ database, no clock. */
#ifndef PROTO_NYTIME_H
#define PROTO_NYTIME_H

#include <stdint.h>

typedef struct ny_civil {
    int year, month, day;     /* month 1..12, day 1..31 */
    int hour, minute, second;
    int weekday;              /* 0 = Sunday .. 6 = Saturday */
    int utc_offset_s;         /* -18000 (EST) or -14400 (EDT) */
} ny_civil_t;

/* Days since 1970-01-01 for a proleptic Gregorian date, and back. */
int64_t ny_days_from_civil(int year, int month, int day);
void ny_civil_from_days(int64_t days, int *year, int *month, int *day);

/* New York civil time of a UTC instant (seconds since the epoch). */
void ny_from_utc(int64_t utc_s, ny_civil_t *out);

/* The UTC instant of a New York wall time. In the spring gap (02:00-02:59
 * does not exist) the EST reading is used; in the autumn overlap the first
 * (EDT) occurrence. */
int64_t ny_to_utc(int year, int month, int day, int hour, int minute, int second);

/* The same in New York local seconds (days since 1970-01-01 * 86400 +
 * seconds into the day): ny_from_utc and ny_to_utc without the civil date,
 * for callers that count in days. ny_to_utc(y, m, d, h, mi, s) is
 * ny_utc_from_local(ny_days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60
 * + s). */
int64_t ny_local_from_utc(int64_t utc_s);
int64_t ny_utc_from_local(int64_t local_s);

/* 1 if DST is in force in New York at that UTC instant. */
int ny_is_dst(int64_t utc_s);

#endif
