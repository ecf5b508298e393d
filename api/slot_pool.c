/* slot_pool.c -- shared CPU/GPU slots and action-key claims (see slot_pool.h). Claims are
 * few (at most one per running node), so they live in a small array. */
#include "slot_pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct claim {
    char key[65];
} claim;

struct kiln_api_slots {
    pthread_mutex_t mu;
    int threads_total, threads_free;
    int gpus;
    unsigned char *gpu_busy;  /* owned: per GPU index */
    claim *claims;            /* owned: keys being computed now */
    size_t nclaims, capclaims;
    kiln_slot_pool table;     /* what runs see */
};

static int try_acquire(void *user, int threads, int want_gpu, int *gpu_out) {
    kiln_api_slots *p = user;
    int ok = 0;
    *gpu_out = -1;
    pthread_mutex_lock(&p->mu);
    if (threads > p->threads_total) threads = p->threads_total; /* a node never waits forever */
    if (threads <= p->threads_free) {
        int g = -1;
        if (want_gpu) {
            for (int k = 0; k < p->gpus; k++)
                if (!p->gpu_busy[k]) {
                    g = k;
                    break;
                }
        }
        if (!want_gpu || g >= 0) {
            p->threads_free -= threads;
            if (g >= 0) p->gpu_busy[g] = 1;
            *gpu_out = g;
            ok = 1;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return ok;
}

static void release(void *user, int threads, int gpu) {
    kiln_api_slots *p = user;
    pthread_mutex_lock(&p->mu);
    if (threads > p->threads_total) threads = p->threads_total; /* mirrors try_acquire's cap */
    p->threads_free += threads;
    if (p->threads_free > p->threads_total) p->threads_free = p->threads_total;
    if (gpu >= 0 && gpu < p->gpus) p->gpu_busy[gpu] = 0;
    pthread_mutex_unlock(&p->mu);
}

static int claim_key(void *user, const char *key) {
    kiln_api_slots *p = user;
    int ok = 1;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->nclaims; i++)
        if (strcmp(p->claims[i].key, key) == 0) {
            ok = 0;
            break;
        }
    if (ok) {
        if (p->nclaims == p->capclaims) {
            size_t cap = p->capclaims ? p->capclaims * 2 : 16;
            claim *c = realloc(p->claims, cap * sizeof *c);
            if (!c) {
                pthread_mutex_unlock(&p->mu);
                return 1; /* no memory to track it: compute it (correct, just not shared) */
            }
            p->claims = c;
            p->capclaims = cap;
        }
        snprintf(p->claims[p->nclaims].key, sizeof p->claims[p->nclaims].key, "%s", key);
        p->nclaims++;
    }
    pthread_mutex_unlock(&p->mu);
    return ok;
}

static void unclaim_key(void *user, const char *key) {
    kiln_api_slots *p = user;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->nclaims; i++)
        if (strcmp(p->claims[i].key, key) == 0) {
            p->claims[i] = p->claims[--p->nclaims];
            break;
        }
    pthread_mutex_unlock(&p->mu);
}

kiln_api_slots *kiln_api_slots_new(int threads, int gpus) {
    kiln_api_slots *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->threads_total = p->threads_free = threads > 0 ? threads : 1;
    p->gpus = gpus > 0 ? gpus : 0;
    p->gpu_busy = calloc(p->gpus ? (size_t)p->gpus : 1, 1);
    if (!p->gpu_busy) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    p->table.try_acquire = try_acquire;
    p->table.release = release;
    p->table.claim = claim_key;
    p->table.unclaim = unclaim_key;
    p->table.user = p;
    return p;
}

void kiln_api_slots_free(kiln_api_slots *p) {
    if (!p) return;
    pthread_mutex_destroy(&p->mu);
    free(p->gpu_busy);
    free(p->claims);
    free(p);
}

const kiln_slot_pool *kiln_api_slots_table(kiln_api_slots *p) {
    return &p->table;
}

void kiln_api_slots_usage(kiln_api_slots *p, int *threads_busy, int *threads_total, int *gpus_busy,
                          int *gpus_total) {
    pthread_mutex_lock(&p->mu);
    if (threads_busy) *threads_busy = p->threads_total - p->threads_free;
    if (threads_total) *threads_total = p->threads_total;
    int g = 0;
    for (int k = 0; k < p->gpus; k++) g += p->gpu_busy[k];
    if (gpus_busy) *gpus_busy = g;
    if (gpus_total) *gpus_total = p->gpus;
    pthread_mutex_unlock(&p->mu);
}
