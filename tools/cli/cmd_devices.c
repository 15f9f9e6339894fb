/* cmd_devices.c — PLACEHOLDER until its owner lands it. */
#include "cli.h"
int cmd_devices(int argc, char **argv) { (void)argc; (void)argv; return cli_fail("devices", "not implemented yet"); }
