/* cmd_quantize.c — `vkllm quantize IN OUT TYPE`: IN is a GGUF file or a Hugging
 * Face folder; every metadata key (tokenizer included) is kept, general.file_type
 * set, and the weights written in TYPE's tensor types. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_progress.h"
#include "convert/convert.h"
#include "convert/quantize.h"

static void quantize_usage(FILE *f) {
    fprintf(f, "usage: vkllm quantize IN OUT TYPE [--threads N]\n"
               "  IN: a .gguf file or a Hugging Face folder; OUT: the .gguf to write\n"
               "  TYPE: %s\n"
               "  (q4_k/q5_k: all matrices in that type; q4_k_m/q5_k_m: the usual mixes)\n",
            quantize_target_names);
}

int cmd_quantize(int argc, char **argv) {
    const char *pos[3];
    int n_pos = 0;
    long threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            quantize_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--threads")) {
            if (cli_parse_int("quantize", "--threads", i + 1 < argc ? argv[++i] : NULL, 1, 1024, &threads))
                return 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_fail("quantize", "unknown option '%s' (try --help)", argv[i]);
        } else if (n_pos < 3) {
            pos[n_pos++] = argv[i];
        } else {
            return cli_fail("quantize", "unexpected argument '%s'", argv[i]);
        }
    }
    if (n_pos != 3) {
        quantize_usage(stderr);
        return 1;
    }
    quantize_target t;
    if (quantize_target_from_name(pos[2], &t) != 0)
        return cli_fail("quantize", "unknown type '%s' (one of: %s)", pos[2], quantize_target_names);
    struct stat st;
    if (stat(pos[0], &st) != 0) return cli_fail("quantize", "%s: no such file or folder", pos[0]);
    cli_progress pr;
    cli_progress_init(&pr);
    vkllm_status s = S_ISDIR(st.st_mode)
                         ? convert_hf(pos[0], pos[1], &t, (int)threads, cli_progress_cb, &pr)
                         : quantize_gguf_file(pos[0], pos[1], &t, (int)threads, cli_progress_cb, &pr);
    if (s != VKLLM_OK) {
        if (pr.tty && pr.last_pct >= 0) fputc('\n', stderr);
        return cli_fail_status("quantize", s);
    }
    cli_progress_done(&pr, pos[1], cli_path_bytes(pos[0]));
    return 0;
}
