/* cpu_pool.h — a fixed pool of persistent worker threads running one
 * parallel-for at a time over an index range [0, n), split into chunks that
 * threads claim dynamically. The calling thread works too (as thread 0), so a
 * pool of n_threads has n_threads - 1 workers. */
#ifndef VKLLM_BACKEND_CPU_CPU_POOL_H
#define VKLLM_BACKEND_CPU_CPU_POOL_H

#include <stdint.h>

#include "vkllm.h"

typedef struct cpu_pool cpu_pool;

/* Runs fn(ctx, begin, end, tid) over [begin, end) ranges covering [0, n);
 * tid is in [0, n_threads). */
typedef void (*cpu_pool_fn)(void *ctx, int64_t begin, int64_t end, int tid);

vkllm_status cpu_pool_create(int n_threads, cpu_pool **out);
void cpu_pool_destroy(cpu_pool *p);
int cpu_pool_threads(const cpu_pool *p);
/* Returns when every chunk has run. chunk >= 1; small n runs inline. */
void cpu_pool_run(cpu_pool *p, int64_t n, int64_t chunk, cpu_pool_fn fn, void *ctx);

#endif
