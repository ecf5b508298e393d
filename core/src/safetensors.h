/* safetensors.h -- read (mmap) and write safetensors files; the implementation behind the
 * host API's tensors_* slots (types declared in kiln/plugin.h).
 * Format: u64 little-endian header length N, N bytes of JSON header
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *  "__metadata__": {"k": "v"}}, then the data buffer. */
#ifndef KILN_SAFETENSORS_H
#define KILN_SAFETENSORS_H

#include "kiln/plugin.h"

kiln_tensors *kiln_tensors_open(const char *path, kiln_error *err);
void kiln_tensors_close(kiln_tensors *t);
int kiln_tensors_count(const kiln_tensors *t);
int kiln_tensors_at(const kiln_tensors *t, int index, kiln_tensor *out);
int kiln_tensors_get(const kiln_tensors *t, const char *name, kiln_tensor *out);
const json_t *kiln_tensors_metadata(const kiln_tensors *t);

kiln_tensors_writer *kiln_tensors_writer_new(void);
int kiln_tensors_writer_add(kiln_tensors_writer *w, const char *name, kiln_dtype dtype, int ndim,
                            const int64_t *shape, const void *data, int borrow, kiln_error *err);
int kiln_tensors_writer_set_meta(kiln_tensors_writer *w, const char *key, const char *value);
int kiln_tensors_writer_finish(kiln_tensors_writer *w, const char *path, kiln_error *err);
void kiln_tensors_writer_free(kiln_tensors_writer *w);

/* dtype <-> safetensors dtype string ("F32"). Unknown: NULL / 0. */
const char *kiln_dtype_name(kiln_dtype dtype);
kiln_dtype kiln_dtype_parse(const char *name);

#endif
