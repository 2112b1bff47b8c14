#include "scenario.h"
#include "cli.h"
int scenario_run(const char *file, const char *out_dir, gboolean json)
{
    (void)out_dir;
    (void)json;
    return cli_failf("%s: not yet", file);
}
