/* config.h - the `gateway` object of the scenario format, read into a
 * gw_config_t: used by the sim's scenario loader and by
 * `mockgw serve --config FILE`.
 *
 *   server_version  integer 1..178 (highest version to negotiate; a lower
 *                   one lowers the minimum too)
 *   accounts        array of 1..8 non-empty names without commas
 *   port            integer 0..65535 (0 picks a free port)
 *   positions       array of {account, symbol, qty, avg_cost} (account one of
 *                   the accounts, symbol non-empty, qty required,
 *                   avg_cost >= 0, default 0)
 *   prices          object symbol -> starting price (> 0)
 *   market_seed     integer >= 0, the synthetic market's seed
 *   daily_restart   {"at": "HH:MM" New York time, "down_for": duration}
 *   replay          {"file": capture (relative to the working directory),
 *                   "mode": "strict" (default) | "lenient",
 *                   "timing": "recorded" (default) | "fast",
 *                   "conn": which TWS conversation, from 1 (default: the first)}
 *                   answer from a recording (replay.h); the file is read by
 *                   gw_new
 *
 * Unknown keys and wrong types are errors naming the JSON path
 * ("gateway.positions[1].qty: expected a number, got a string").
 *
 * Ownership: every string the config points to afterwards (accounts,
 * position accounts and symbols, price symbols) is copied into one block
 * owned by the config (cfg->owned); gw_config_release frees it. The cJSON
 * tree can be freed as soon as gw_config_from_json returns. */
#ifndef MOCKGW_CONFIG_H
#define MOCKGW_CONFIG_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "gateway.h"

/* Applies the keys present in gateway_obj to *cfg (which holds defaults,
 * or an earlier config, whose owned strings stay owned). path names the
 * object in messages ("gateway"). On success 0; on error IO_ERR_INVAL (or
 * IO_ERR_NOMEM) with "PATH: reason" in err, and *cfg is left as it was. */
int gw_config_from_json(const cJSON *gateway_obj, gw_config_t *cfg, const char *path, char *err,
                        size_t errlen);

/* Frees the strings gw_config_from_json copied and clears the pointers to
 * them (the config is back to holding no owned strings). A config that
 * owns nothing is left alone. */
void gw_config_release(gw_config_t *cfg);

#endif
