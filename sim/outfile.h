/* outfile.h - writing a trace, report or scenario file so that a failed or
 * interrupted run never leaves half a file, nor spoils the one already
 * there: the text goes to FILE.tmp, which replaces FILE only once it was
 * written completely. */
#ifndef SIM_OUTFILE_H
#define SIM_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

/* Writes the file's content; returns 0, or nonzero when it could not. */
typedef int (*of_write_fn)(FILE *f, const void *data);

/* 0, or IO_ERR_NOMEM / IO_ERR_SYS with the file and the reason in err;
 * on failure FILE.tmp is removed and FILE is left as it was. */
int of_replace(const char *path, of_write_fn write, const void *data, char *err,
               size_t errlen);

#endif
