/* fuzz_scenario.c - libFuzzer target: the scenario loader on arbitrary
 * text (sc_load_text), and for a scenario it accepts, the concrete schedule
 * of one seed (random entries drawn into faults). Bad input must be refused
 * with a message, never crash, leak or hang. */
#include <stdint.h>
#include <stdlib.h>

#include "../../sim/scenario.h"
#include "../../sim/schedule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sc_scenario_t *sc;
    char err[512];
    err[0] = '\0';
    int rc = sc_load_text("fuzz.json", (const char *)data, size, &sc, err, sizeof err);
    if (rc != 0) {
        if (err[0] == '\0')
            abort(); /* a refusal must say why */
        return 0;
    }
    sc_event_t *events;
    size_t n;
    if (sd_schedule(sc, 1, &events, &n) == 0)
        free(events);
    sc_free(sc);
    return 0;
}
