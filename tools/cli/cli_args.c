/* cli_args.c — strict parsing of numeric flag values shared by all commands. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_fail(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "vkllm %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int cli_fail_status(const char *cmd, vkllm_status s) {
    const char *m = vkllm_last_error();
    return cli_fail(cmd, "%s", m && *m ? m : vkllm_status_str(s));
}

int cli_parse_int(const char *cmd, const char *flag, const char *s, long lo, long hi, long *out) {
    if (!s) return cli_fail(cmd, "%s needs a value", flag), -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end) return cli_fail(cmd, "%s: '%s' is not an integer", flag, s), -1;
    if (v < lo || v > hi)
        return cli_fail(cmd, "%s: %ld is out of range [%ld, %ld]", flag, v, lo, hi), -1;
    *out = v;
    return 0;
}

int cli_parse_float(const char *cmd, const char *flag, const char *s, double lo, double hi,
                    double *out) {
    if (!s) return cli_fail(cmd, "%s needs a value", flag), -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return cli_fail(cmd, "%s: '%s' is not a number", flag, s), -1;
    if (v < lo || v > hi) return cli_fail(cmd, "%s: %g is out of range [%g, %g]", flag, v, lo, hi), -1;
    *out = v;
    return 0;
}

int cli_parse_u64(const char *cmd, const char *flag, const char *s, uint64_t *out) {
    if (!s) return cli_fail(cmd, "%s needs a value", flag), -1;
    char *end;
    errno = 0;
    if (*s == '-') return cli_fail(cmd, "%s: '%s' must not be negative", flag, s), -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end) return cli_fail(cmd, "%s: '%s' is not an integer", flag, s), -1;
    *out = v;
    return 0;
}

int cli_parse_ids(const char *cmd, const char *s, int32_t **ids, size_t *n) {
    *ids = NULL;
    *n = 0;
    if (!s || !*s) return cli_fail(cmd, "--ids needs a comma-separated list"), -1;
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    int32_t *v = malloc(cap * sizeof *v);
    if (!v) return cli_fail(cmd, "out of memory"), -1;
    size_t k = 0;
    const char *p = s;
    for (;;) {
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (errno || end == p || x < 0 || x > INT32_MAX || (*end && *end != ',')) {
            free(v);
            return cli_fail(cmd, "--ids: bad id near '%.20s'", p), -1;
        }
        v[k++] = (int32_t)x;
        if (!*end) break;
        p = end + 1;
    }
    *ids = v;
    *n = k;
    return 0;
}
