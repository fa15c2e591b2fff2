/* duration.h - the two kinds of time text that scenarios, `mockgw ctl` and the
 * command lines share.
 *
 *   duration  one or more <digits><unit> groups, units d h m s ms, largest
 *             first, each unit at most once: "250ms", "30s", "1h30m".
 *   moment    ISO 8601 with an offset, "2025-12-10T09:25:00-05:00" or
 *             "2025-12-10T14:25:00.5Z" (fraction up to microseconds), or
 *             "+DURATION" counted from the scenario's start.
 *
 * Moments become wall microseconds since the Unix epoch (UTC) through a
 * days-from-civil conversion of our own: no timegm, mktime or TZ, so the
 * result never depends on the machine running the scenario. */
#ifndef PROTO_DURATION_H
#define PROTO_DURATION_H

#include <stddef.h>

#include "../io/io.h"

/* Parses a duration into *out. 0, or IO_ERR_INVAL with the reason in err. */
int dur_parse(const char *text, io_us_t *out, char *err, size_t errlen);

/* Parses a moment into wall microseconds. start_us is what "+DURATION" is
 * counted from; NULL means relative moments are not allowed here (the
 * `start` key itself). 0, or IO_ERR_INVAL with the reason in err. */
int dur_parse_moment(const char *text, const io_us_t *start_us, io_us_t *out, char *err,
                     size_t errlen);

/* Writes a duration the way reports show it: "250ms", "45s", "10m0s",
 * "1h30m0s", "2.5s"; negative values get a leading "-". Returns buf. */
const char *dur_format(io_us_t us, char *buf, size_t cap);

#endif
