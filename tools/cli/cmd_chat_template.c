/* cmd_chat_template.c — PLACEHOLDER until its owner lands it. */
#include "cli.h"
int cmd_chat_template(int argc, char **argv) { (void)argc; (void)argv; return cli_fail("chat_template", "not implemented yet"); }
