/* cmd_synth.c — PLACEHOLDER until its owner lands it. */
#include "cli.h"
int cmd_synth(int argc, char **argv) { (void)argc; (void)argv; return cli_fail("synth", "not implemented yet"); }
