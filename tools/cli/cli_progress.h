/* cli_progress.h — the progress bar and size summary shared by the commands
 * that write model files (quantize, convert, synth). */
#ifndef VKLLM_CLI_PROGRESS_H
#define VKLLM_CLI_PROGRESS_H

#include <stdint.h>

typedef struct cli_progress {
    double t0;       /* start time (cli_now) */
    int tty;         /* stderr is a terminal: draw the bar */
    int last_pct;
} cli_progress;

void cli_progress_init(cli_progress *p);
/* quantize_progress_fn: redraws "[#####     ] 45%  1.2 GiB" on stderr when a terminal. */
void cli_progress_cb(void *ud, uint64_t done, uint64_t total);
/* Ends the bar and prints "OUT: N MiB (from M MiB) in S s" to stdout; in_bytes 0: unknown. */
void cli_progress_done(cli_progress *p, const char *out_path, uint64_t in_bytes);
/* Bytes of a file, or of every regular file in a folder; 0 when absent. */
uint64_t cli_path_bytes(const char *path);

#endif
