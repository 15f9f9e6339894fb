/* cmd_quantize.c — PLACEHOLDER until its owner lands it. */
#include "cli.h"
int cmd_quantize(int argc, char **argv) { (void)argc; (void)argv; return cli_fail("quantize", "not implemented yet"); }
