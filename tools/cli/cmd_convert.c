/* cmd_convert.c — PLACEHOLDER until its owner lands it. */
#include "cli.h"
int cmd_convert(int argc, char **argv) { (void)argc; (void)argv; return cli_fail("convert", "not implemented yet"); }
