/* sha256.c -- sha256 helpers on top of OpenSSL's EVP interface (see sha256.h). */
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "diag.h"

static void to_hex(const unsigned char *md, unsigned int len, char *hex_out) {
    static const char digits[] = "0123456789abcdef";
    for (unsigned int i = 0; i < len; i++) {
        hex_out[2 * i] = digits[md[i] >> 4];
        hex_out[2 * i + 1] = digits[md[i] & 0xf];
    }
    hex_out[2 * len] = '\0';
}

/* One-shot digest of a memory buffer. Aborts only if OpenSSL cannot allocate a context. */
void kiln_sha256_hex(const void *data, size_t len, char hex_out[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL)) abort();
    to_hex(md, md_len, hex_out);
}

/* Streams `path` through sha256 in 1 MiB chunks. ENOENT -> KILN_ENOTFOUND, any other
 * open/read failure -> KILN_EIO; err names the file and the reason. */
int kiln_sha256_file(const char *path, char hex_out[65], int64_t *size_out, kiln_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return kiln_error_set(err, e == ENOENT ? KILN_ENOTFOUND : KILN_EIO, "%s: cannot open: %s",
                              path, strerror(e));
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(ctx);
        close(fd);
        return kiln_error_set(err, KILN_ENOMEM, "%s: cannot start sha256", path);
    }
    const size_t bufsz = 1u << 20;
    unsigned char *buf = malloc(bufsz);
    if (!buf) {
        EVP_MD_CTX_free(ctx);
        close(fd);
        return kiln_error_set(err, KILN_ENOMEM, "%s: out of memory", path);
    }
    int64_t total = 0;
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, bufsz);
        if (n < 0) {
            if (errno == EINTR) continue;
            rc = kiln_error_set(err, KILN_EIO, "%s: read failed: %s", path, strerror(errno));
            break;
        }
        if (n == 0) break;
        EVP_DigestUpdate(ctx, buf, (size_t)n);
        total += n;
    }
    if (rc == 0) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;
        EVP_DigestFinal_ex(ctx, md, &md_len);
        to_hex(md, md_len, hex_out);
        if (size_out) *size_out = total;
    }
    free(buf);
    EVP_MD_CTX_free(ctx);
    close(fd);
    return rc;
}

/* Exactly 64 characters from [0-9a-f]. */
int kiln_is_digest(const char *s) {
    if (!s) return 0;
    for (int i = 0; i < KILN_DIGEST_HEX_LEN; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
    }
    return s[KILN_DIGEST_HEX_LEN] == '\0';
}
