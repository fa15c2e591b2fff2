/* schedule.h - what a scenario's events become for one run: the concrete
 * schedule of a seed (random entries drawn into plain faults), when each
 * event's effect ends, and the scenario written back with a schedule of
 * its own (what shrinking saves). */
#ifndef SIM_SCHEDULE_H
#define SIM_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "scenario.h"

/* The concrete schedule of a run with this seed: faults and signals as
 * written, each random entry replaced by the faults it draws (a generator
 * of its own, seeded from seed and the entry's index, so the network's
 * choices do not move them), sorted by time, file order at equal times.
 * 0 and *out (free()) with *n events, or IO_ERR_NOMEM. */
int sd_schedule(const sc_scenario_t *sc, uint64_t seed, sc_event_t **out, size_t *n);

/* When the event's effect is over: at_us + for for faults with a duration,
 * at_us for instant ones, -1 for a stale fault without `for` (never). */
io_us_t sd_event_end(const sc_event_t *e);

/* Writes sc's file text with "seed" set to seed and "events" replaced by
 * the n given (concrete) events, to path.tmp, then renames it to path.
 * 0 or a negative IO_ERR_* with the reason in err. */
int sd_write(const sc_scenario_t *sc, uint64_t seed, const sc_event_t *events, size_t n,
             const char *path, char *err, size_t errlen);

#endif
