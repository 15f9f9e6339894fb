/* testproc.h — runs the vkllm CLI (VKLLM_BIN) from tests without a shell and
 * captures its stdout and stderr. */
#ifndef VKLLM_TESTPROC_H
#define VKLLM_TESTPROC_H

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct test_proc_out {
    char *out, *err; /* NUL-terminated, malloc'd */
    size_t out_len, err_len;
    int code;        /* exit status, or 128+signal */
} test_proc_out;

static inline void test_proc_read(int fd, char **buf, size_t *len) {
    size_t cap = 4096;
    *buf = malloc(cap);
    *len = 0;
    for (;;) {
        if (*len + 1 >= cap) *buf = realloc(*buf, cap *= 2);
        ssize_t r = read(fd, *buf + *len, cap - *len - 1);
        if (r <= 0) break;
        *len += (size_t)r;
    }
    (*buf)[*len] = 0;
}

/* argv[0] is ignored (replaced by VKLLM_BIN); NULL-terminated. stderr is
 * collected through a temporary file so neither pipe can block. */
static inline int test_run_cli(char *const argv[], test_proc_out *r) {
    memset(r, 0, sizeof *r);
    const char *bin = getenv("VKLLM_BIN");
    if (!bin) bin = "./vkllm";
    int po[2];
    if (pipe(po) != 0) return -1;
    char errpath[] = "/tmp/vkllm-test-err-XXXXXX";
    int ef = mkstemp(errpath);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(ef, 2);
        close(po[0]);
        close(po[1]);
        int dn = open("/dev/null", O_RDONLY);
        dup2(dn, 0);
        char **a = (char **)argv;
        a[0] = (char *)bin;
        execv(bin, a);
        _exit(127);
    }
    close(po[1]);
    test_proc_read(po[0], &r->out, &r->out_len);
    close(po[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    lseek(ef, 0, SEEK_SET);
    test_proc_read(ef, &r->err, &r->err_len);
    close(ef);
    unlink(errpath);
    r->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r->code;
}

static inline void test_proc_free(test_proc_out *r) {
    free(r->out);
    free(r->err);
}

#endif
