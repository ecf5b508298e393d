/* npz.c -- zip member extraction for .npz archives (see npz.h). */
#include "npz.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

int kiln_data_zip_is_zip(const uint8_t *buf, size_t size) {
    return size >= 4 && buf[0] == 'P' && buf[1] == 'K' &&
           ((buf[2] == 3 && buf[3] == 4) || (buf[2] == 5 && buf[3] == 6));
}

typedef struct cdir {
    uint64_t offset, size, entries;
} cdir;

static int corrupt(kiln_error *err, const char *path, uint64_t at, const char *what) {
    return kiln_data_error(err, KILN_EFORMAT, "%s: corrupt zip (.npz) archive at byte %" PRIu64
                                              ": %s",
                           path, at, what);
}

/* Locates the central directory through the end-of-central-directory record (and its zip64
 * form when a field is saturated). */
static int find_cdir(const uint8_t *buf, size_t size, const char *path, cdir *cd,
                     kiln_error *err) {
    size_t min = size > 22 + 65535 ? size - 22 - 65535 : 0, at;
    const uint8_t *e = NULL;
    if (size < 22)
        return corrupt(err, path, size, "too short for a zip archive (no end record)");
    for (at = size - 22 + 1; at-- > min;) {
        if (le32(buf + at) == 0x06054b50u && at + 22 + le16(buf + at + 20) == size) {
            e = buf + at;
            break;
        }
    }
    if (!e)
        return corrupt(err, path, size,
                       "no end-of-central-directory record (truncated or not a zip file)");
    cd->entries = le16(e + 10);
    cd->size = le32(e + 12);
    cd->offset = le32(e + 16);
    if (cd->entries == 0xFFFF || cd->size == 0xFFFFFFFFu || cd->offset == 0xFFFFFFFFu) {
        const uint8_t *loc, *z;
        uint64_t zoff;
        if (at < 20 || le32(buf + at - 20) != 0x07064b50u)
            return corrupt(err, path, at, "saturated end record without a zip64 locator");
        loc = buf + at - 20;
        zoff = le64(loc + 8);
        if (zoff > size || size - zoff < 56 || le32(buf + zoff) != 0x06064b50u)
            return corrupt(err, path, at - 20, "bad zip64 end-of-central-directory offset");
        z = buf + zoff;
        cd->entries = le64(z + 32);
        cd->size = le64(z + 40);
        cd->offset = le64(z + 48);
    }
    if (cd->offset > size || cd->size > size - cd->offset)
        return corrupt(err, path, at, "the central directory lies outside the file");
    return 0;
}

int kiln_data_zip_extract(const uint8_t *buf, size_t size, const char *path, const char *member,
                          const uint8_t **data, uint8_t **owned, size_t *len, kiln_error *err) {
    cdir cd = {0, 0, 0};
    uint64_t pos;
    size_t mlen = strlen(member);
    char names[512] = "";
    size_t used = 0;
    int rc = find_cdir(buf, size, path, &cd, err);
    *data = NULL;
    *owned = NULL;
    *len = 0;
    if (rc)
        return rc;
    pos = cd.offset;
    for (uint64_t i = 0; i < cd.entries; i++) {
        const uint8_t *c = buf + pos, *name, *x, *xend;
        uint16_t flags, method, nlen, xlen, clen;
        uint32_t crc;
        uint64_t csize, usize, loff, doff, epos = pos; /* epos: this entry, for messages */
        if (pos > cd.offset + cd.size || cd.offset + cd.size - pos < 46 ||
            le32(c) != 0x02014b50u)
            return corrupt(err, path, pos, "bad central directory entry");
        flags = le16(c + 8);
        method = le16(c + 10);
        crc = le32(c + 16);
        csize = le32(c + 20);
        usize = le32(c + 24);
        nlen = le16(c + 28);
        xlen = le16(c + 30);
        clen = le16(c + 32);
        loff = le32(c + 42);
        if (cd.offset + cd.size - pos < 46u + nlen + xlen + clen)
            return corrupt(err, path, pos, "central directory entry runs past its end");
        name = c + 46;
        /* zip64 extra field: the saturated values, in order. */
        x = name + nlen;
        xend = x + xlen;
        while (xend - x >= 4) {
            uint16_t id = le16(x), sz = le16(x + 2);
            const uint8_t *v = x + 4, *vend = v + sz;
            if (vend > xend)
                return corrupt(err, path, pos, "bad extra field");
            if (id == 0x0001) {
                if (usize == 0xFFFFFFFFu && vend - v >= 8) {
                    usize = le64(v);
                    v += 8;
                }
                if (csize == 0xFFFFFFFFu && vend - v >= 8) {
                    csize = le64(v);
                    v += 8;
                }
                if (loff == 0xFFFFFFFFu && vend - v >= 8)
                    loff = le64(v);
            }
            x = vend;
        }
        pos += 46u + nlen + xlen + clen;
        if (nlen != mlen || memcmp(name, member, mlen) != 0) {
            /* Remember the names for the "not found" message (arrays without ".npy"). */
            int shown = nlen > 4 && memcmp(name + nlen - 4, ".npy", 4) == 0 ? nlen - 4 : nlen;
            if (used + (size_t)shown + 8 < sizeof names) {
                int w = snprintf(names + used, sizeof names - used, "%s'%.*s'", used ? ", " : "",
                                 shown, (const char *)name);
                if (w > 0)
                    used += (size_t)w;
            }
            continue;
        }
        if (flags & 1)
            return kiln_data_error(err, KILN_EFORMAT, "%s: member '%s' is encrypted", path,
                                   member);
        if (method != 0 && method != 8)
            return kiln_data_error(err, KILN_EFORMAT,
                                   "%s: member '%s' uses compression method %u; supported: "
                                   "stored (0) and deflate (8)",
                                   path, member, method);
        if (loff > size || size - loff < 30 || le32(buf + loff) != 0x04034b50u)
            return corrupt(err, path, loff, "bad local file header");
        doff = loff + 30u + le16(buf + loff + 26) + le16(buf + loff + 28);
        if (doff > size || size - doff < csize)
            return corrupt(err, path, doff, "member data runs past the end of the file");
        if (usize > SIZE_MAX)
            return kiln_data_error(err, KILN_ENOMEM, "%s: member '%s' is too large", path,
                                   member);
        if (method == 8 && (double)usize > 1100.0 * (double)csize + 4096)
            return corrupt(err, path, epos,
                           "a deflated member declares more data than deflate can expand to");
        if (method == 0) {
            if (csize != usize)
                return corrupt(err, path, epos, "stored member with different sizes");
            *data = buf + doff;
        } else {
            z_stream zs;
            uint8_t *out = malloc(usize ? (size_t)usize : 1);
            uint64_t in_done = 0, out_done = 0;
            int zr = Z_OK;
            if (!out)
                return kiln_data_error(err, KILN_ENOMEM, "%s: out of memory for member '%s'",
                                       path, member);
            memset(&zs, 0, sizeof zs);
            if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) {
                free(out);
                return kiln_data_error(err, KILN_ENOMEM, "cannot initialise zlib");
            }
            /* Feed and drain in uInt-sized pieces (members may exceed 4 GiB). */
            while (zr == Z_OK) {
                uint64_t in_left = csize - in_done, out_left = usize - out_done;
                uInt ai = in_left > UINT_MAX ? UINT_MAX : (uInt)in_left;
                uInt ao = out_left > UINT_MAX ? UINT_MAX : (uInt)out_left;
                zs.next_in = (Bytef *)(uintptr_t)(buf + doff + in_done);
                zs.avail_in = ai;
                zs.next_out = out + out_done;
                zs.avail_out = ao;
                zr = inflate(&zs, Z_NO_FLUSH);
                in_done += ai - zs.avail_in;
                out_done += ao - zs.avail_out;
                if (zr == Z_BUF_ERROR && in_done < csize && out_done < usize)
                    zr = Z_OK;
                if (zr == Z_OK && ai == zs.avail_in && ao == zs.avail_out)
                    zr = Z_BUF_ERROR; /* no progress */
            }
            inflateEnd(&zs);
            if (zr != Z_STREAM_END || out_done != usize) {
                free(out);
                return corrupt(err, path, doff + in_done,
                               zr == Z_DATA_ERROR ? "corrupt deflate data in the member"
                                                  : "deflated member is truncated or longer than "
                                                    "its declared size");
            }
            *owned = out;
            *data = out;
        }
        if ((uint32_t)crc32_z(0L, *data, (z_size_t)usize) != crc) {
            free(*owned);
            *owned = NULL;
            *data = NULL;
            return kiln_data_error(err, KILN_EFORMAT,
                                   "%s: member '%s' fails its CRC-32 check (data at byte %" PRIu64
                                   " is corrupt)",
                                   path, member, doff);
        }
        *len = (size_t)usize;
        return 0;
    }
    {
        int shown = mlen > 4 && strcmp(member + mlen - 4, ".npy") == 0 ? (int)mlen - 4 : (int)mlen;
        return kiln_data_error(err, KILN_ENOTFOUND,
                               "%s: no array '%.*s' in the archive; arrays: %s", path, shown,
                               member, used ? names : "(none)");
    }
}
