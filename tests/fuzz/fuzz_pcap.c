/* fuzz_pcap.c - libFuzzer target: a capture file from bytes (fmemopen),
 * through the pcap reader (libpcap, then our link/IP/TCP decoding), the TCP
 * reassembler and the TWS conversation decoder, as `mockgw inspect` reads
 * it. Every event's fields are read so a dangling pointer shows. Bad input
 * must never crash or leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../mockgw/capture.h"

/* Where the digest goes, so reading every field is not optimised away. */
static volatile size_t fz_sink;

static void fz_on_event(const gw_cap_event_t *ev, void *data)
{
    size_t *digest = data;
    *digest += ev->kind + ev->conn + ev->offset + ev->length;
    if (ev->kind == GW_CAP_MSG)
        for (size_t i = 0; i < ev->frame.len; i++)
            *digest += ev->frame.payload[i];
    if (ev->text)
        *digest += strlen(ev->text);
    if (ev->hello)
        *digest += (size_t)ev->hello->min_version + strlen(ev->hello->options);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0; /* fmemopen refuses an empty buffer */
    FILE *fp = fmemopen((void *)data, size, "rb");
    if (!fp)
        abort();
    gw_pcap_t *p;
    char err[256];
    if (gw_pcap_fopen(fp, &p, err, sizeof err) != 0)
        return 0;
    gw_cap_config_t cfg;
    gw_cap_config_defaults(&cfg);
    cfg.ooo_max = 4096; /* small, so the full-buffer path is reached */
    size_t digest = 0;
    gw_cap_t *c = gw_cap_new(&cfg, fz_on_event, &digest);
    if (!c)
        abort();
    gw_cap_read(c, p, err, sizeof err);
    for (size_t i = 0; i < gw_cap_nconns(c); i++)
        digest += strlen(gw_cap_conn(c, i)->client) + strlen(gw_cap_conn(c, i)->end[1]);
    gw_cap_free(c);
    gw_pcap_close(p);
    fz_sink = digest;
    return 0;
}
