/* cmd_tokenize.c — PLACEHOLDER until its owner lands it. */
#include "cli.h"
int cmd_tokenize(int argc, char **argv) { (void)argc; (void)argv; return cli_fail("tokenize", "not implemented yet"); }
