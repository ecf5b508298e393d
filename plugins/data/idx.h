/* idx.h -- the IDX format of the MNIST family (plain or gzip), images with labels.
 *
 * An IDX file is: two zero bytes, a type byte (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32,
 * 0x0D f32, 0x0E f64), a byte with the number of dimensions, one big-endian u32 per
 * dimension, then the elements in C order, big-endian. Everything is checked: the magic, the
 * type, the dimensions (non-zero, at most KILN_TENSOR_MAX_DIMS), that the data is exactly as
 * long as the dimensions say (no truncation, no trailing bytes), that images and labels count
 * the same items, and that every label is in range. Errors name the file and the byte offset
 * (of the decompressed stream for a gzip file). */
#ifndef KILN_DATA_IDX_H
#define KILN_DATA_IDX_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "common.h"
#include "dataset.h"
#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_data_idx_header {
    uint8_t type;                          /* IDX type byte                            */
    int ndim;                              /* 1..KILN_TENSOR_MAX_DIMS                  */
    int64_t dims[KILN_TENSOR_MAX_DIMS];    /* each >= 1                                */
    size_t elsize;                         /* bytes per element                        */
    size_t count;                          /* product of dims                          */
    size_t data_bytes;                     /* count * elsize                           */
    size_t header_bytes;                   /* 4 + 4 * ndim: offset of the data         */
} kiln_data_idx_header;

/* Reads and checks the header at the start of stream `s`. Returns 0, or KILN_EFORMAT with
 * the file and byte offset of what is wrong (wrong magic, unknown type, no dimensions, too
 * many dimensions, a zero dimension, a size that overflows, a truncated header). */
int kiln_data_idx_read_header(kiln_data_stream *s, kiln_data_idx_header *h, kiln_error *err);

/* Reads an images file and a labels file into `out` (initialised by the caller; filled only
 * on success, cleared on failure).
 *   x_dtype: 0 ("auto": uint8 images stay uint8, other types become float32),
 *            KILN_DTYPE_U8 (only uint8 images) or KILN_DTYPE_F32 (converted, values kept).
 *   classes: optional array of class names (checked by the caller); labels must be below
 *            its length, and are always >= 0. It is copied into out->classes.
 * The labels are read first, then the images, in chunks (memory: the output plus 1 MiB).
 * Returns 0 or a negative code with err set; KILN_ECANCELLED when the monitor says stop. */
int kiln_data_idx_read(const char *images_path, const char *labels_path, kiln_dtype x_dtype,
                       const json_t *classes, const kiln_data_monitor *m, kiln_data_set *out,
                       kiln_error *err);

/* A readable name of an IDX type byte ("uint8", "int16", ...), or NULL when unknown. */
const char *kiln_data_idx_type_name(uint8_t type);

#ifdef __cplusplus
}
#endif

#endif
