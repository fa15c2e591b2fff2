/* registry.h - the client-id registry every session of one gateway shares.
 *
 * A Gateway lets one live API connection use a given client id; a second
 * startApi with it gets error 326. The registry records which connection
 * (by io_stream_id) holds which id, so the holder can be told apart from a
 * newcomer, and so the id is free again the moment its holder is gone. It
 * holds at most GW_SESSIONS_MAX ids, one per session. */
#ifndef MOCKGW_REGISTRY_H
#define MOCKGW_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "gateway.h"

typedef struct gw_registry_entry {
    int client_id;
    uint64_t owner; /* io_stream_id of the session holding it */
} gw_registry_entry_t;

typedef struct gw_registry {
    gw_registry_entry_t entries[GW_SESSIONS_MAX];
    size_t count;
} gw_registry_t;

void gw_registry_init(gw_registry_t *r);

/* Gives client_id to owner. 0, IO_ERR_INUSE if someone holds it already
 * (the owner too: a session registers once), IO_ERR_NOBUFS if full. */
int gw_registry_claim(gw_registry_t *r, int client_id, uint64_t owner);

/* Frees client_id if owner holds it; a release by anyone else is ignored,
 * so a rejected newcomer can never free the holder's id. */
void gw_registry_release(gw_registry_t *r, int client_id, uint64_t owner);

/* 1 and *owner (may be NULL) if client_id is held, else 0. */
int gw_registry_lookup(const gw_registry_t *r, int client_id, uint64_t *owner);

#endif
