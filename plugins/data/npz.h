/* npz.h -- reading members of a .npz archive (a zip file, as np.savez and
 * np.savez_compressed write it): stored or deflated members, zip64 included. The central
 * directory is the authority; every offset and size is bounds-checked, and every member's
 * CRC-32 is verified. Encrypted members and other compression methods are refused. */
#ifndef KILN_DATA_NPZ_H
#define KILN_DATA_NPZ_H

#include <stddef.h>
#include <stdint.h>
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when buf starts like a zip archive ("PK\3\4" or, for an empty archive, "PK\5\6"). */
int kiln_data_zip_is_zip(const uint8_t *buf, size_t size);

/* Finds member `member` ("x.npy") in the zip bytes buf[0..size) and returns its uncompressed
 * bytes: for a stored member *data points into buf and *owned is NULL; for a deflated member
 * *data == *owned, a new buffer the caller frees. *len receives the size. `path` names the
 * archive in messages. Fails with KILN_ENOTFOUND when there is no such member (the message
 * lists the arrays the archive has), KILN_EFORMAT for a corrupt archive (with the byte offset),
 * a CRC mismatch or an unsupported method, KILN_ENOMEM. */
int kiln_data_zip_extract(const uint8_t *buf, size_t size, const char *path, const char *member,
                          const uint8_t **data, uint8_t **owned, size_t *len, kiln_error *err);

#ifdef __cplusplus
}
#endif

#endif
