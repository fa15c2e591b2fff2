/* inspect.h - `mockgw inspect [--json] [--ports P,Q,...] FILE`: decodes the
 * TWS conversations in a capture into one line per message (time,
 * direction, connection, message name, fields named where the catalogue
 * knows them), then a summary of connections, versions and gaps. With
 * --json each line is a JSON object, and so is the summary.
 *
 * Exit status: 0 decoded, 2 bad usage or a file that is not a capture or
 * ends inside a record (the error names the file, packet number and byte
 * offset; what was read before it is still printed). */
#ifndef MOCKGW_INSPECT_H
#define MOCKGW_INSPECT_H

#include <stdio.h>

/* argv[0] is "inspect". Output to stdout, errors to stderr. */
int gw_inspect_main(int argc, char **argv);

/* The same with the streams given (for tests). */
int gw_inspect_run(int argc, char **argv, FILE *out, FILE *errout);

#endif
