/* cli_progress.c — a one-line progress bar on stderr (only on a terminal) and
 * the before/after size summary of the file-writing commands. */
#include "cli_progress.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

void cli_progress_init(cli_progress *p) {
    p->t0 = cli_now();
    p->tty = isatty(2);
    p->last_pct = -1;
}

void cli_progress_cb(void *ud, uint64_t done, uint64_t total) {
    cli_progress *p = ud;
    if (!p->tty || !total) return;
    int pct = (int)(done * 100 / total);
    if (pct == p->last_pct) return;
    p->last_pct = pct;
    char bar[41];
    int fill = pct * 40 / 100;
    for (int i = 0; i < 40; i++) bar[i] = i < fill ? '#' : ' ';
    bar[40] = 0;
    fprintf(stderr, "\r[%s] %3d%%  %.1f / %.1f MiB", bar, pct, done / 1048576.0, total / 1048576.0);
    fflush(stderr);
}

void cli_progress_done(cli_progress *p, const char *out_path, uint64_t in_bytes) {
    if (p->tty && p->last_pct >= 0) fputc('\n', stderr);
    uint64_t out = cli_path_bytes(out_path);
    printf("%s: %.2f MiB", out_path, out / 1048576.0);
    if (in_bytes) printf(" (input %.2f MiB, %.1f%%)", in_bytes / 1048576.0, 100.0 * out / in_bytes);
    printf(" in %.2f s\n", cli_now() - p->t0);
}

uint64_t cli_path_bytes(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    if (S_ISREG(st.st_mode)) return (uint64_t)st.st_size;
    if (!S_ISDIR(st.st_mode)) return 0;
    DIR *d = opendir(path);
    if (!d) return 0;
    uint64_t sum = 0;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d)) != NULL) {
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && strstr(e->d_name, ".safetensors"))
            sum += (uint64_t)st.st_size;
    }
    closedir(d);
    return sum;
}
