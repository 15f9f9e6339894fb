/* cmd_bench.c — PLACEHOLDER until its owner lands it. */
#include "cli.h"
int cmd_bench(int argc, char **argv) { (void)argc; (void)argv; return cli_fail("bench", "not implemented yet"); }
