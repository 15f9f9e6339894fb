/* cmd_chat.c — PLACEHOLDER until its owner lands it. */
#include "cli.h"
int cmd_chat(int argc, char **argv) { (void)argc; (void)argv; return cli_fail("chat", "not implemented yet"); }
