/* A core file that reads the real clock: ci/lint.sh must reject it. */
#include <time.h>

long bad_clock_now(void)
{
    return (long)time(NULL);
}
