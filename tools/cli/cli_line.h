/* cli_line.h — a small line editor for interactive terminals: cursor keys,
 * Home/End (and Ctrl-A/Ctrl-E), Backspace/Delete, Ctrl-U/Ctrl-K, history with
 * Up/Down. Multi-byte UTF-8 characters move and delete as one. */
#ifndef VKLLM_CLI_LINE_H
#define VKLLM_CLI_LINE_H

#include <stddef.h>

enum { CLI_LINE_OK = 0, CLI_LINE_EOF = 1, CLI_LINE_INTERRUPT = 2 };

typedef struct cli_line_hist {
    char *items[256];
    int n;
} cli_line_hist;

/* Reads one line from the terminal on fd 0 into buf (NUL-terminated, without
 * the newline). Returns CLI_LINE_OK, CLI_LINE_EOF (Ctrl-D on an empty line)
 * or CLI_LINE_INTERRUPT (Ctrl-C). */
int cli_line_read(const char *prompt, char *buf, size_t cap, cli_line_hist *h);
void cli_line_hist_add(cli_line_hist *h, const char *line);
void cli_line_hist_free(cli_line_hist *h);

#endif
