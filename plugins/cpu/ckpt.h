/* ckpt.h -- training checkpoints: everything a resumed run needs to continue bit for bit as if
 * it had never stopped. One file, <checkpoint_dir>/checkpoint.safetensors, replaced atomically
 * after every epoch (the host's writer: temporary name, fsync, rename), holding
 *
 *   value/<name>, state1/<name>, state2/<name>   parameters and optimizer state (F32, plain
 *                                                PyTorch layouts; reorders are exact copies)
 *   history                                      F64 [epochs_done, KILN_CPU_HIST_COLS]
 *   __metadata__ kiln.checkpoint                 {"version": 1, "epochs_done", "steps",
 *                                                 "rng": [4 hex words], "fingerprint"}
 *
 * The fingerprint (the params after defaults, the input digests, the plugin version) guards
 * against resuming someone else's run: a checkpoint whose fingerprint differs is ignored. */
#ifndef KILN_CPU_CKPT_H
#define KILN_CPU_CKPT_H

#include <stdint.h>

#include "kiln/plugin.h"
#include "net.h"
#include "rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Columns of one history row: epoch (1-based), lr at the epoch's last step, train loss,
 * train accuracy, validation loss, validation accuracy (NaN without a validation set). */
#define KILN_CPU_HIST_COLS 6

typedef struct kiln_cpu_ckpt {
    int64_t epochs_done;  /* completed epochs                                   */
    int64_t steps;        /* optimizer steps taken                              */
    kiln_cpu_rng rng;     /* the shuffling generator after epochs_done epochs   */
    double *history;      /* owned: epochs_done * KILN_CPU_HIST_COLS            */
} kiln_cpu_ckpt;

/* Writes the checkpoint of `net` (values and its `nstates` state buffers) and `c` into
 * dir/checkpoint.safetensors, atomically. Returns 0 or a negative code with err set. */
int kiln_cpu_ckpt_save(const kiln_host_api *h, const char *dir, kiln_cpu_net *net, int nstates,
                       const kiln_cpu_ckpt *c, const char *fingerprint, kiln_error *err);

/* Loads dir/checkpoint.safetensors into `net` and `c` (c->history allocated; free with
 * kiln_cpu_ckpt_clear). Returns 1 when a checkpoint was loaded, 0 when there is none, and a
 * negative code (err says why: different fingerprint, unreadable, shapes that do not match)
 * when one exists but cannot be used; the caller then starts afresh. On 0 or error `net` may
 * have been partially overwritten: re-initialise it. */
int kiln_cpu_ckpt_load(const kiln_host_api *h, const char *dir, kiln_cpu_net *net, int nstates,
                       kiln_cpu_ckpt *c, const char *fingerprint, kiln_error *err);

/* Frees c->history; c is zeroed. */
void kiln_cpu_ckpt_clear(kiln_cpu_ckpt *c);

#ifdef __cplusplus
}
#endif

#endif
