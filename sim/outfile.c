/* outfile.c - see outfile.h. */
#include "outfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../io/io_base.h"

int of_replace(const char *path, of_write_fn write, const void *data, char *err, size_t errlen)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + sizeof ".tmp");
    if (!tmp) {
        io_errf(err, errlen, "%s: out of memory", path);
        return IO_ERR_NOMEM;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", sizeof ".tmp");
    int rc = 0;
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        io_errf(err, errlen, "%s: %s", tmp, strerror(errno));
        rc = IO_ERR_SYS;
    } else {
        int bad = write(f, data) != 0 || ferror(f);
        if (fclose(f) != 0 || bad) {
            io_errf(err, errlen, "%s: write failed: %s", tmp, strerror(errno));
            rc = IO_ERR_SYS;
        } else if (rename(tmp, path) != 0) {
            io_errf(err, errlen, "%s: rename to %s failed: %s", tmp, path, strerror(errno));
            rc = IO_ERR_SYS;
        }
        if (rc != 0)
            remove(tmp);
    }
    free(tmp);
    return rc;
}
