/* registry.c - see registry.h. A small unsorted array: a gateway has at
 * most GW_SESSIONS_MAX sessions, so a linear scan is the simplest thing. */
#include "registry.h"

static int registry_find(const gw_registry_t *r, int client_id)
{
    for (size_t i = 0; i < r->count; i++)
        if (r->entries[i].client_id == client_id)
            return (int)i;
    return -1;
}

void gw_registry_init(gw_registry_t *r)
{
    r->count = 0;
}

int gw_registry_claim(gw_registry_t *r, int client_id, uint64_t owner)
{
    if (registry_find(r, client_id) >= 0)
        return IO_ERR_INUSE;
    if (r->count == GW_SESSIONS_MAX)
        return IO_ERR_NOBUFS;
    r->entries[r->count++] = (gw_registry_entry_t){client_id, owner};
    return 0;
}

void gw_registry_release(gw_registry_t *r, int client_id, uint64_t owner)
{
    int i = registry_find(r, client_id);
    if (i < 0 || r->entries[i].owner != owner)
        return;
    /* Order carries no meaning, so the last entry fills the hole. */
    r->entries[i] = r->entries[--r->count];
}

int gw_registry_lookup(const gw_registry_t *r, int client_id, uint64_t *owner)
{
    int i = registry_find(r, client_id);
    if (i < 0)
        return 0;
    if (owner)
        *owner = r->entries[i].owner;
    return 1;
}
