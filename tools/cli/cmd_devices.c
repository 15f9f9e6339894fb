/* cmd_devices.c — `vkllm devices`: every Vulkan device the loader reports,
 * with what vkllm uses to choose and run on it: type, driver, API version,
 * memory heaps (with budget when VK_EXT_memory_budget is there), subgroup
 * size, storage-binding limit, shared memory and the optional features. */
#include <stdio.h>
#include <string.h>

#include "backend/vulkan/vk_device.h"
#include "cli.h"
#include "core/mem.h"

static void devices_mib(char *out, size_t n, uint64_t bytes) {
    snprintf(out, n, "%.0f MiB", (double)bytes / (1024.0 * 1024.0));
}

static void devices_print(int idx, const vk_device_info *d) {
    printf("device %d: %s (%s)%s\n", idx, d->name, vk_device_type_name(d->type),
           d->usable ? "" : "  [not usable: needs Vulkan 1.2 and a compute queue]");
    printf("  driver:             %s\n", d->driver);
    printf("  api version:        %u.%u.%u\n", VK_API_VERSION_MAJOR(d->api_version),
           VK_API_VERSION_MINOR(d->api_version), VK_API_VERSION_PATCH(d->api_version));
    printf("  vendor/device id:   0x%04x / 0x%04x\n", d->vendor_id, d->device_id);
    for (uint32_t h = 0; h < d->n_heaps; h++) {
        char sz[32], bud[32], use[32];
        devices_mib(sz, sizeof sz, d->heaps[h].size);
        printf("  heap %u:             %s%s", h, sz, d->heaps[h].device_local ? " device-local" : "");
        if (d->has_budget) {
            devices_mib(bud, sizeof bud, d->heaps[h].budget);
            devices_mib(use, sizeof use, d->heaps[h].usage);
            printf(", budget %s, used %s", bud, use);
        }
        printf("\n");
    }
    printf("  subgroup size:      %u%s%s\n", d->subgroup_size, d->subgroup_arith ? " (arithmetic ops)" : "",
           d->subgroup_shuffle ? " (shuffles)" : "");
    printf("  max storage range:  %llu bytes\n", (unsigned long long)d->max_storage_range);
    printf("  shared memory:      %u bytes\n", d->max_shared);
    printf("  features:          %s%s%s%s%s%s%s%s\n", d->storage16 ? " storage16" : "", d->float16 ? " float16" : "",
           d->int8 ? " int8" : "", d->int8_dot ? " int8-dot" : "", d->coopmat ? " cooperative-matrix" : "",
           d->coopmat_nv ? " (NV 16x16x16 f16: used for prompts)" : "", d->has_budget ? " memory-budget" : "",
           !(d->storage16 || d->float16 || d->int8 || d->int8_dot || d->coopmat || d->has_budget) ? " none" : "");
}

int cmd_devices(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: vkllm devices\n\nLists the Vulkan devices (index for --device) and their capabilities.\n");
            return 0;
        }
        return cli_fail("devices", "unknown option '%s'", argv[i]);
    }
    vk_device_info *devs = NULL;
    int n = 0;
    vkllm_status s = vk_device_list(&devs, &n);
    if (s != VKLLM_OK) return cli_fail_status("devices", s);
    if (n == 0) printf("no Vulkan devices\n");
    for (int i = 0; i < n; i++) devices_print(i, &devs[i]);
    mem_free(devs);
    return 0;
}
