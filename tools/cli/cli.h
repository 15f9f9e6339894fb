/* cli.h — the vkllm command-line tool: one file per subcommand (cmd_<name>.c),
 * each exporting `int cmd_<name>(int argc, char **argv)` where argv[0] is the
 * subcommand name. Commands print results to stdout, errors as one line
 * "vkllm <cmd>: <message>" to stderr, and return the process exit code. */
#ifndef VKLLM_CLI_H
#define VKLLM_CLI_H

#include <stdint.h>

#include "vkllm.h"

int cmd_run(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_chat_template(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_devices(int argc, char **argv);

/* Shared argument helpers (cli_args.c). Each prints a one-line error naming
 * the flag and returns -1 on a bad value. */
int cli_parse_int(const char *cmd, const char *flag, const char *s, long lo, long hi, long *out);
int cli_parse_float(const char *cmd, const char *flag, const char *s, double lo, double hi,
                    double *out);
int cli_parse_u64(const char *cmd, const char *flag, const char *s, uint64_t *out);
/* "1,2,3" -> heap array (free()); returns -1 with a message on bad input. */
int cli_parse_ids(const char *cmd, const char *s, int32_t **ids, size_t *n);
/* Error line "vkllm <cmd>: <msg>" and returns 1. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports vkllm_last_error() and returns 1. */
int cli_fail_status(const char *cmd, vkllm_status s);


/* Options shared by the commands that load a model (cli_model.c). */
#define CLI_MAX_BIAS 256
typedef struct cli_model_opts {
    const char *model;
    vkllm_model_params mp;
    vkllm_session_params sp;
    int32_t bias_ids[CLI_MAX_BIAS]; /* --logit-bias entries; sp.sampling points here */
    float bias_values[CLI_MAX_BIAS];
} cli_model_opts;

void cli_model_opts_init(cli_model_opts *o);
/* Consumes argv[*i] (and its value) when it is a model/backend/sampling/context
 * flag: returns 1 consumed, 0 not ours, -1 bad value (message printed). */
int cli_model_flag(const char *cmd, int argc, char **argv, int *i, cli_model_opts *o);
/* Help text for those flags. */
extern const char cli_model_help[];
/* Loads o->model with o->mp; prints the error and returns NULL on failure. */
vkllm_model *cli_load_model(const char *cmd, const cli_model_opts *o);
double cli_now(void); /* monotonic seconds */

#endif
