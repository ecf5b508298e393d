/* stream.h -- sequential reading of a plain or gzip-compressed file, told apart by content
 * (the gzip magic 1f 8b), never by file name. Offsets in errors are exact: a truncated or
 * corrupt gzip stream is reported at its compressed byte offset, and readers report content
 * errors at the decompressed offset this stream tracks (kiln_data_stream_offset).
 * Concatenated gzip members are read as one stream, as gzip(1) does; bytes after the last
 * member that do not start a new member are an error ("trailing garbage"). */
#ifndef KILN_DATA_STREAM_H
#define KILN_DATA_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_data_stream kiln_data_stream;

/* Opens `path` (checked as by kiln_data_file_open: exists, regular, non-empty). Returns 0 and
 * a new stream in *out (free with kiln_data_stream_close), or a negative code with err set.
 * `path` is copied. */
int kiln_data_stream_open(const char *path, kiln_data_stream **out, kiln_error *err);

/* Reads up to `n` bytes into buf. *got receives the count; it is less than n only when the
 * data ended. Fails with KILN_EIO (read error) or KILN_EFORMAT (truncated or corrupt gzip,
 * trailing garbage), the message naming the file and the compressed byte offset. */
int kiln_data_stream_read(kiln_data_stream *s, void *buf, size_t n, size_t *got, kiln_error *err);

/* Reads exactly `n` bytes or fails. When the data ends early, fails with KILN_EFORMAT and the
 * message "<path>: truncated: <what> needs N bytes at byte X, the data ends at byte Y"
 * (`what` names the part being read, e.g. "header" or "image data"). */
int kiln_data_stream_read_exact(kiln_data_stream *s, void *buf, size_t n, const char *what,
                                kiln_error *err);

/* Decompressed bytes delivered so far: the offset of the next byte read. */
uint64_t kiln_data_stream_offset(const kiln_data_stream *s);

/* 1 when the file is gzip-compressed. */
int kiln_data_stream_is_gzip(const kiln_data_stream *s);

/* Size of the file on disk (compressed size for gzip). */
uint64_t kiln_data_stream_file_size(const kiln_data_stream *s);

/* The path given to open (borrowed). */
const char *kiln_data_stream_path(const kiln_data_stream *s);

/* Closes and frees. NULL is ignored. */
void kiln_data_stream_close(kiln_data_stream *s);

#ifdef __cplusplus
}
#endif

#endif
