/* cmd_chat.c — `vkllm chat`: a conversation with the model's own chat template.
 * On a terminal: interactive (/reset, /system TEXT, /quit; Ctrl-C stops the
 * current answer, a second Ctrl-C at the prompt quits). Otherwise scriptable:
 * one user message per input line, each answer followed by a blank line. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_line.h"

static volatile sig_atomic_t chat_interrupted;

static void chat_on_sigint(int sig) {
    (void)sig;
    chat_interrupted++;
}

typedef struct chat_opts {
    cli_model_opts mo;
    const char *system, *tmpl, *tmpl_file;
    long n_predict;
    const char *vars[32];
    int n_vars;
} chat_opts;

static void chat_usage(void) {
    printf("usage: vkllm chat -m MODEL [--system TEXT] [options]\n\n"
           "  --system TEXT            system message\n"
           "  --chat-template NAME     built-in template: chatml, llama2, llama3, zephyr,\n"
           "                           mistral, phi3, gemma (default: the model's own)\n"
           "  --chat-template-file F   Jinja template file\n"
           "  --var NAME=JSON          extra template variable (e.g. enable_thinking=false)\n"
           "  -n N                     most tokens per answer (default 1024)\n%s",
           cli_model_help);
}

static int chat_parse(int argc, char **argv, chat_opts *o) {
    cli_model_opts_init(&o->mo);
    o->n_predict = 1024;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_model_flag("chat", argc, argv, &i, &o->mo);
        if (r < 0) return -1;
        if (r > 0) continue;
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            chat_usage();
            exit(0);
        } else if (!strcmp(a, "--system") && v) {
            o->system = argv[++i];
        } else if (!strcmp(a, "--chat-template") && v) {
            o->tmpl = argv[++i];
        } else if (!strcmp(a, "--chat-template-file") && v) {
            o->tmpl_file = argv[++i];
        } else if (!strcmp(a, "--var") && v) {
            if (o->n_vars == 32) return cli_fail("chat", "too many --var"), -1;
            o->vars[o->n_vars++] = argv[++i];
        } else if (!strcmp(a, "-n")) {
            if (cli_parse_int("chat", a, v, 1, 1 << 24, &o->n_predict)) return -1;
            i++;
        } else {
            return cli_fail("chat", "unknown or incomplete option '%s' (see --help)", a), -1;
        }
    }
    return 0;
}

/* Generates one answer; returns its text (malloc'd) or NULL on error. */
static char *chat_answer(vkllm_model *m, vkllm_session *s, long n_predict, int echo) {
    vkllm_detokenizer *d = NULL;
    if (vkllm_detokenizer_create(m, &d) != VKLLM_OK) return NULL;
    size_t cap = 256, len = 0, n_have;
    char *ans = malloc(cap);
    const int32_t *toks = vkllm_session_tokens(s, &n_have);
    const char *text;
    size_t tl;
    if (n_have) vkllm_detokenizer_push(d, toks[n_have - 1], &text, &tl); /* context for spacing */
    vkllm_status st = VKLLM_OK;
    chat_interrupted = 0;
    for (long k = 0; ans && k < n_predict && !chat_interrupted; k++) {
        int32_t id;
        st = vkllm_session_sample(s, &id);
        if (st != VKLLM_OK || vkllm_token_is_eog(m, id)) break;
        st = vkllm_detokenizer_push(d, id, &text, &tl);
        if (st == VKLLM_OK) st = vkllm_session_eval(s, &id, 1);
        if (st != VKLLM_OK) break;
        if (len + tl + 1 > cap) {
            while (len + tl + 1 > cap) cap *= 2;
            char *na = realloc(ans, cap);
            if (!na) break;
            ans = na;
        }
        memcpy(ans + len, text, tl);
        len += tl;
        if (echo) {
            fwrite(text, 1, tl, stdout);
            fflush(stdout);
        }
    }
    vkllm_detokenizer_destroy(d);
    if (!ans) return NULL;
    ans[len] = 0;
    if (st != VKLLM_OK) {
        cli_fail_status("chat", st);
        free(ans);
        return NULL;
    }
    return ans;
}

static char *chat_read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n - 1, f);
        if (n < cap - 1 || cap > (16u << 20)) break;
        char *nb = realloc(b, cap *= 2);
        if (!nb) {
            free(b);
            b = NULL;
        } else {
            b = nb;
        }
    }
    fclose(f);
    if (b) b[n] = 0;
    return b;
}

static int chat_loop(const chat_opts *o, vkllm_model *m, vkllm_session *s, vkllm_chat *c) {
    int tty = isatty(0);
    char line[65536];
    if (o->system) vkllm_chat_add(c, "system", o->system);
    cli_line_hist hist = {{0}, 0};
    for (;;) {
        if (tty) {
            int r = cli_line_read("> ", line, sizeof line, &hist);
            if (r == CLI_LINE_EOF) break;
            if (r == CLI_LINE_INTERRUPT) {
                if (++chat_interrupted >= 2) break; /* Ctrl-C twice at the prompt quits */
                printf("(Ctrl-C again or Ctrl-D to quit)\n");
                continue;
            }
            chat_interrupted = 0;
            cli_line_hist_add(&hist, line);
        } else if (!fgets(line, sizeof line, stdin)) {
            break;
        }
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (tty && !strcmp(line, "/quit")) break;
        if (tty && !strcmp(line, "/reset")) {
            vkllm_chat_reset(c);
            if (o->system) vkllm_chat_add(c, "system", o->system);
            continue;
        }
        if (tty && !strncmp(line, "/system ", 8)) {
            vkllm_chat_reset(c);
            vkllm_chat_add(c, "system", line + 8);
            continue;
        }
        if (vkllm_chat_add(c, "user", line) != VKLLM_OK) {
            cli_line_hist_free(&hist);
            return cli_fail_status("chat", VKLLM_ERR_INVALID_ARG);
        }
        size_t n_eval;
        vkllm_status st = vkllm_chat_prepare(c, &n_eval);
        if (st != VKLLM_OK) {
            cli_line_hist_free(&hist);
            return cli_fail_status("chat", st);
        }
        char *ans = chat_answer(m, s, o->n_predict, 1);
        chat_interrupted = 0;
        if (!ans) {
            cli_line_hist_free(&hist);
            return 1;
        }
        printf("\n\n");
        fflush(stdout);
        st = vkllm_chat_add(c, "assistant", ans);
        free(ans);
        if (st != VKLLM_OK) {
            cli_line_hist_free(&hist);
            return cli_fail_status("chat", st);
        }
    }
    cli_line_hist_free(&hist);
    return 0;
}

int cmd_chat(int argc, char **argv) {
    chat_opts o;
    memset(&o, 0, sizeof o);
    if (chat_parse(argc, argv, &o)) return 1;
    char *src = NULL;
    if (o.tmpl_file && !(src = chat_read_file(o.tmpl_file)))
        return cli_fail("chat", "%s: cannot read the template file", o.tmpl_file);
    vkllm_model *m = cli_load_model("chat", &o.mo);
    if (!m) {
        free(src);
        return 1;
    }
    vkllm_session *s = NULL;
    vkllm_chat *c = NULL;
    int rc = 1;
    vkllm_status st = vkllm_session_create(m, &o.mo.sp, &s);
    if (st == VKLLM_OK) st = vkllm_chat_create(s, src ? src : o.tmpl, src != NULL, &c);
    for (int i = 0; st == VKLLM_OK && i < o.n_vars; i++) {
        char name[128];
        const char *eq = strchr(o.vars[i], '=');
        if (!eq || eq == o.vars[i] || (size_t)(eq - o.vars[i]) >= sizeof name) {
            rc = cli_fail("chat", "--var: expected NAME=JSON, got '%s'", o.vars[i]);
            goto done;
        }
        memcpy(name, o.vars[i], (size_t)(eq - o.vars[i]));
        name[eq - o.vars[i]] = 0;
        st = vkllm_chat_set_var(c, name, eq + 1);
    }
    if (st != VKLLM_OK) {
        rc = cli_fail_status("chat", st);
        goto done;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = chat_on_sigint;
    sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: fgets returns on Ctrl-C */
    rc = chat_loop(&o, m, s, c);
done:
    vkllm_chat_destroy(c);
    vkllm_session_destroy(s);
    vkllm_model_destroy(m);
    free(src);
    return rc;
}
