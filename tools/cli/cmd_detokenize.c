/* cmd_detokenize.c — PLACEHOLDER until its owner lands it. */
#include "cli.h"
int cmd_detokenize(int argc, char **argv) { (void)argc; (void)argv; return cli_fail("detokenize", "not implemented yet"); }
