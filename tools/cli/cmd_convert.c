/* cmd_convert.c — `vkllm convert HFDIR OUT.gguf [--type T]`: a Hugging Face
 * folder to GGUF (metadata, tokenizer, chat template, weights in T; default f16). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_progress.h"
#include "convert/convert.h"

static void convert_usage(FILE *f) {
    fprintf(f, "usage: vkllm convert HFDIR OUT.gguf [--type T] [--threads N]\n"
               "  HFDIR: config.json, *.safetensors, tokenizer.json, tokenizer_config.json\n"
               "  --type T     weight types (default f16): %s\n"
               "  --threads N  conversion threads (default: all cores)\n",
            quantize_target_names);
}

int cmd_convert(int argc, char **argv) {
    const char *pos[2], *type = "f16";
    int n_pos = 0;
    long threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            convert_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--type")) {
            if (i + 1 >= argc) return cli_fail("convert", "--type needs a value");
            type = argv[++i];
        } else if (!strcmp(argv[i], "--threads")) {
            if (cli_parse_int("convert", "--threads", i + 1 < argc ? argv[++i] : NULL, 1, 1024, &threads))
                return 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_fail("convert", "unknown option '%s' (try --help)", argv[i]);
        } else if (n_pos < 2) {
            pos[n_pos++] = argv[i];
        } else {
            return cli_fail("convert", "unexpected argument '%s'", argv[i]);
        }
    }
    if (n_pos != 2) {
        convert_usage(stderr);
        return 1;
    }
    quantize_target t;
    if (quantize_target_from_name(type, &t) != 0)
        return cli_fail("convert", "unknown type '%s' (one of: %s)", type, quantize_target_names);
    struct stat st;
    if (stat(pos[0], &st) != 0 || !S_ISDIR(st.st_mode))
        return cli_fail("convert", "%s: not a Hugging Face folder", pos[0]);
    cli_progress pr;
    cli_progress_init(&pr);
    vkllm_status s = convert_hf(pos[0], pos[1], &t, (int)threads, cli_progress_cb, &pr);
    if (s != VKLLM_OK) {
        if (pr.tty && pr.last_pct >= 0) fputc('\n', stderr);
        return cli_fail_status("convert", s);
    }
    cli_progress_done(&pr, pos[1], cli_path_bytes(pos[0]));
    return 0;
}
