/* cmd_logits.c — PLACEHOLDER until its owner lands it. */
#include "cli.h"
int cmd_logits(int argc, char **argv) { (void)argc; (void)argv; return cli_fail("logits", "not implemented yet"); }
