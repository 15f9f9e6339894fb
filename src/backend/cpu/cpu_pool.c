/* cpu_pool.c — persistent worker threads for the CPU backend.
 *
 * A decode step issues a few hundred short ops, so a dispatch must cost
 * microseconds: the caller publishes the job and bumps a generation counter;
 * workers spin on that counter for a short while after each job (the next op
 * usually arrives within the spin) and only then sleep on a condition
 * variable. Chunks are claimed with an atomic counter, which balances load
 * when a core is shared. The caller waits for the workers by spinning, since
 * jobs are short, yielding the core if a worker is slow to finish. */
#include "backend/cpu/cpu_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "core/err.h"
#include "core/mem.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define POOL_PAUSE() _mm_pause()
#else
#define POOL_PAUSE() ((void)0)
#endif

/* How long an idle worker spins before sleeping. */
#define POOL_SPIN_NS 200000LL

struct cpu_pool {
    int n_threads;
    int n_started;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_uint gen;  /* bumped once per job; workers run a job when it changes */
    atomic_int stop;
    atomic_int pending; /* workers that have not finished the current job */
    atomic_llong next;  /* first index of the next unclaimed chunk */
    /* the current job, written before gen is bumped */
    cpu_pool_fn fn;
    void *ctx;
    int64_t n, chunk;
};

typedef struct pool_worker_arg {
    cpu_pool *pool;
    int tid;
} pool_worker_arg;

static int64_t pool_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void pool_work(cpu_pool *p, int tid) {
    int64_t n = p->n, chunk = p->chunk;
    for (;;) {
        int64_t s = atomic_fetch_add_explicit(&p->next, chunk, memory_order_relaxed);
        if (s >= n) break;
        int64_t e = s + chunk < n ? s + chunk : n;
        p->fn(p->ctx, s, e, tid);
    }
}

static void *pool_worker(void *argp) {
    pool_worker_arg *arg = argp;
    cpu_pool *p = arg->pool;
    int tid = arg->tid;
    mem_free(arg);
    unsigned seen = atomic_load_explicit(&p->gen, memory_order_acquire);
    for (;;) {
        int64_t t0 = pool_now_ns();
        unsigned g;
        for (int i = 0;; i++) {
            g = atomic_load_explicit(&p->gen, memory_order_acquire);
            if (g != seen || atomic_load_explicit(&p->stop, memory_order_relaxed)) break;
            POOL_PAUSE();
            if ((i & 255) == 255 && pool_now_ns() - t0 > POOL_SPIN_NS) {
                pthread_mutex_lock(&p->mu);
                while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen &&
                       !atomic_load_explicit(&p->stop, memory_order_relaxed))
                    pthread_cond_wait(&p->cv, &p->mu);
                pthread_mutex_unlock(&p->mu);
                break;
            }
        }
        if (atomic_load_explicit(&p->stop, memory_order_acquire)) return NULL;
        seen = g;
        pool_work(p, tid);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
    }
}

vkllm_status cpu_pool_create(int n_threads, cpu_pool **out) {
    *out = NULL;
    if (n_threads < 1 || n_threads > 1024)
        return err_set(VKLLM_ERR_INVALID_ARG, "cpu: thread count %d out of range 1..1024", n_threads);
    cpu_pool *p = mem_calloc(1, sizeof *p);
    if (!p) return err_set(VKLLM_ERR_NOMEM, "cpu: thread pool");
    p->n_threads = n_threads;
    atomic_init(&p->gen, 0);
    atomic_init(&p->stop, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->next, 0);
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        mem_free(p);
        return err_set(VKLLM_ERR_INTERNAL, "cpu: pthread_mutex_init failed");
    }
    if (pthread_cond_init(&p->cv, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        mem_free(p);
        return err_set(VKLLM_ERR_INTERNAL, "cpu: pthread_cond_init failed");
    }
    if (n_threads > 1) {
        p->threads = mem_calloc((size_t)n_threads - 1, sizeof *p->threads);
        if (!p->threads) {
            cpu_pool_destroy(p);
            return err_set(VKLLM_ERR_NOMEM, "cpu: thread pool");
        }
    }
    for (int i = 1; i < n_threads; i++) {
        pool_worker_arg *arg = mem_alloc(sizeof *arg);
        if (!arg) {
            cpu_pool_destroy(p);
            return err_set(VKLLM_ERR_NOMEM, "cpu: thread pool");
        }
        arg->pool = p;
        arg->tid = i;
        if (pthread_create(&p->threads[i - 1], NULL, pool_worker, arg) != 0) {
            mem_free(arg);
            cpu_pool_destroy(p);
            return err_set(VKLLM_ERR_INTERNAL, "cpu: cannot start worker thread %d of %d", i,
                           n_threads);
        }
        p->n_started++;
    }
    *out = p;
    return VKLLM_OK;
}

void cpu_pool_destroy(cpu_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store_explicit(&p->stop, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_started; i++) pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    mem_free(p->threads);
    mem_free(p);
}

int cpu_pool_threads(const cpu_pool *p) { return p->n_threads; }

void cpu_pool_run(cpu_pool *p, int64_t n, int64_t chunk, cpu_pool_fn fn, void *ctx) {
    if (n <= 0) return;
    if (chunk < 1) chunk = 1;
    if (p->n_threads == 1 || n <= chunk) {
        fn(ctx, 0, n, 0);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->chunk = chunk;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->pending, p->n_threads - 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pool_work(p, 0);
    for (int i = 0; atomic_load_explicit(&p->pending, memory_order_acquire) != 0; i++) {
        if (i < 4096)
            POOL_PAUSE();
        else
            sched_yield();
    }
}
