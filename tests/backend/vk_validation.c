/* vk_validation.c — the Vulkan validation layer is on in tests (CTest sets
 * VKLLM_VK_VALIDATION=1; debug builds default to it), and an error it reports
 * fails the pass that caused it with a message, once: here a dispatch is
 * recorded through the backend's internals with a binding range past its
 * buffer's end (VUID-VkDescriptorBufferInfo-range-00342). Without the layer
 * installed this is a loud SKIP, a failure under CI (scripts/install-deps.sh
 * installs it). */
#include "backend/vulkan/vk_internal.h"
#include "vk_harness.h"

static int layer_installed(void) {
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS) return 0;
    VkLayerProperties *l = calloc(n ? n : 1, sizeof *l);
    int found = 0;
    if (vkEnumerateInstanceLayerProperties(&n, l) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++) found |= !strcmp(l[i].layerName, "VK_LAYER_KHRONOS_validation");
    free(l);
    return found;
}

int main(void) {
    uint64_t rng = test_seed() | 1;
    setenv("VKLLM_VK_VALIDATION", "1", 1);
    backend *vk = vkh_open(0, 0);
    if (!vk) return 0;
    if (!layer_installed()) {
        fprintf(stderr, "\n*** SKIP: VK_LAYER_KHRONOS_validation is not installed ***\n\n");
        vk->vt->destroy(vk);
        if (getenv("CI")) {
            fprintf(stderr, "*** CI is set: the validation layer must be installed; failing ***\n");
            return 1;
        }
        return 0;
    }
    vk_backend *b = (vk_backend *)vk;
    CHECK(b->d.msgr != VK_NULL_HANDLE);
    float x[64];
    vkh_fill(&rng, x, 64, -1, 1);
    bk_buf *a = vkh_buf(vk, sizeof x, x), *o = vkh_buf(vk, sizeof x, NULL);
    vkh_batch vb;
    vkh_batch_simple(&vb, 1, &rng, 1);

    /* a correct pass first: no error */
    VKH_OK(vk->vt->begin(vk, &vb.b));
    VKH_OK(vk->vt->add(vk, o, a, a, 64));
    CHECK(vk->vt->end(vk) == VKLLM_OK);

    /* the same op with its output range 1 KiB past the 256-byte buffer */
    VKH_OK(vk->vt->begin(vk, &vb.b));
    VkPipeline p;
    VKH_OK(vk_pipeline_get(b, "add", 1, &p));
    vk_bind bind[3] = {{o->b.buf, 0, 1024 + sizeof x}, {a->b.buf, 0, sizeof x}, {a->b.buf, 0, sizeof x}};
    uint32_t n = 64;
    VKH_OK(vk_dispatch(b, p, bind, 3, &n, sizeof n, 1, 1));
    vkllm_status s = vk->vt->end(vk);
    CHECKF(s == VKLLM_ERR_INTERNAL && strstr(vkllm_last_error(), "validation"), "bad binding: status %d: %s", (int)s,
           vkllm_last_error());

    /* reported once: the next correct pass succeeds */
    VKH_OK(vk->vt->begin(vk, &vb.b));
    VKH_OK(vk->vt->add(vk, o, a, a, 64));
    CHECK(vk->vt->end(vk) == VKLLM_OK);
    vk->vt->buf_free(vk, a);
    vk->vt->buf_free(vk, o);
    vk->vt->destroy(vk);
    return test_finish();
}
