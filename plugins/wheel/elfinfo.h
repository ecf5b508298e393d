/* elfinfo.h -- what an ELF shared object asks of the system, read with libelf from a
 * buffer in memory (nothing is written to disk): its machine and class, DT_SONAME, the
 * DT_NEEDED libraries, and the symbol versions it requires (.gnu.version_r), each with the
 * library that provides it and the first few undefined symbols bound to it. That is the
 * input of an auditwheel-style policy check. */
#ifndef KILN_WHEEL_ELFINFO_H
#define KILN_WHEEL_ELFINFO_H

#include <stddef.h>
#include "kiln/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One required symbol version ("GLIBC_2.34" from "libc.so.6"). */
typedef struct kiln_elf_verreq {
    char *version;   /* "GLIBC_2.34"                                              */
    char *library;   /* "libc.so.6"                                               */
    char *symbols;   /* "pthread_create, pthread_join" (at most a few), "" if none */
    unsigned index;  /* vna_other: the .gnu.version index symbols use             */
} kiln_elf_verreq;

typedef struct kiln_elf_info {
    int machine;            /* e_machine (EM_X86_64, ...)                         */
    int elf_class;          /* 32 or 64                                          */
    int type;               /* e_type (ET_DYN, ET_EXEC, ...)                     */
    char *soname;           /* DT_SONAME or NULL                                  */
    char **needed;          /* DT_NEEDED entries, in file order                   */
    size_t nneeded;
    kiln_elf_verreq *reqs;  /* required versions, in file order                   */
    size_t nreqs;
} kiln_elf_info;

/* 1 when the buffer starts with the ELF magic. */
int kiln_elf_is_elf(const void *data, size_t size);

/* Inspects the ELF image at image[0..size), a private buffer of the caller: libelf may
 * convert data in it in place (byte order), so do not pass shared or read-only memory. Fills *out (zero it first; release with kiln_elf_info_clear). Returns 0, or
 * KILN_EFORMAT with a message ("not an ELF object", "bad section table") for a file libelf
 * cannot read, or KILN_ENOMEM. A truncated or hostile file fails cleanly. */
int kiln_elf_inspect(void *image, size_t size, kiln_elf_info *out, kiln_error *err);

/* Frees everything in info and zeroes it. */
void kiln_elf_info_clear(kiln_elf_info *info);

/* "x86_64", "i686", "aarch64", ... for an e_machine; "EM_<n>" text in buf otherwise. */
const char *kiln_elf_machine_name(int machine, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
