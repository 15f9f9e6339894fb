/* main.c — dispatches `vkllm <command> ...` to the command's file. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct cli_cmd {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} cli_cmd;

static const cli_cmd cli_cmds[] = {
    {"run", cmd_run, "generate a continuation of a prompt"},
    {"chat", cmd_chat, "chat with an instruction-tuned model"},
    {"logits", cmd_logits, "write the logits of a prompt as float32"},
    {"info", cmd_info, "describe a model file"},
    {"bench", cmd_bench, "measure prompt and generation speed"},
    {"tokenize", cmd_tokenize, "text to token ids"},
    {"detokenize", cmd_detokenize, "token ids to text"},
    {"chat-template", cmd_chat_template, "render a chat template"},
    {"quantize", cmd_quantize, "quantize a model to GGUF"},
    {"convert", cmd_convert, "convert a Hugging Face folder to GGUF"},
    {"synth", cmd_synth, "make a model of a named shape with random weights"},
    {"devices", cmd_devices, "list Vulkan devices"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: vkllm <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof cli_cmds / sizeof cli_cmds[0]; i++)
        fprintf(f, "  %-14s %s\n", cli_cmds[i].name, cli_cmds[i].help);
    fprintf(f, "\n`vkllm <command> --help` describes a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof cli_cmds / sizeof cli_cmds[0]; i++)
        if (!strcmp(argv[1], cli_cmds[i].name)) return cli_cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "vkllm: unknown command '%s' (try vkllm --help)\n", argv[1]);
    return 2;
}
