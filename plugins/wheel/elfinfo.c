/* elfinfo.c -- DT_NEEDED, DT_SONAME and required symbol versions of an ELF image, with libelf
 * (elf_memory: the image is never written anywhere). See elfinfo.h. */
#include "elfinfo.h"

#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The most symbol names kept per required version (for messages). */
#define SYMBOLS_PER_VERSION 4

static int fail(kiln_error *err, int code, const char *fmt, ...) KILN_PRINTF(3, 4);
static int fail(kiln_error *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

int kiln_elf_is_elf(const void *data, size_t size) {
    return size >= 4 && memcmp(data, ELFMAG, SELFMAG) == 0;
}

void kiln_elf_info_clear(kiln_elf_info *info) {
    free(info->soname);
    for (size_t i = 0; i < info->nneeded; i++) free(info->needed[i]);
    free(info->needed);
    for (size_t i = 0; i < info->nreqs; i++) {
        free(info->reqs[i].version);
        free(info->reqs[i].library);
        free(info->reqs[i].symbols);
    }
    free(info->reqs);
    memset(info, 0, sizeof *info);
}

const char *kiln_elf_machine_name(int machine, char *buf, size_t len) {
    switch (machine) {
    case EM_X86_64: return "x86_64";
    case EM_386: return "i686";
    case EM_AARCH64: return "aarch64";
    case EM_ARM: return "armv7l";
    case EM_PPC64: return "ppc64";
    case EM_S390: return "s390x";
    case EM_RISCV: return "riscv64";
    }
    snprintf(buf, len, "EM_%d", machine);
    return buf;
}

static int add_needed(kiln_elf_info *info, const char *name) {
    char **n = realloc(info->needed, (info->nneeded + 1) * sizeof *n);
    if (!n) return KILN_ENOMEM;
    info->needed = n;
    if (!(n[info->nneeded] = strdup(name))) return KILN_ENOMEM;
    info->nneeded++;
    return 0;
}

static int add_req(kiln_elf_info *info, const char *version, const char *library, unsigned index) {
    kiln_elf_verreq *r = realloc(info->reqs, (info->nreqs + 1) * sizeof *r);
    if (!r) return KILN_ENOMEM;
    info->reqs = r;
    kiln_elf_verreq *q = &r[info->nreqs];
    memset(q, 0, sizeof *q);
    q->version = strdup(version);
    q->library = strdup(library);
    q->symbols = strdup("");
    q->index = index;
    info->nreqs++;
    if (!q->version || !q->library || !q->symbols) return KILN_ENOMEM;
    return 0;
}

/* Appends a symbol name to the requirement (up to SYMBOLS_PER_VERSION names, then "..."). */
static int add_symbol(kiln_elf_verreq *q, const char *sym) {
    int count = q->symbols[0] ? 1 : 0;
    for (const char *p = q->symbols; *p; p++)
        if (*p == ',') count++;
    if (count > SYMBOLS_PER_VERSION) return 0;
    size_t n = strlen(q->symbols);
    const char *add = count == SYMBOLS_PER_VERSION ? "..." : sym;
    char *s = realloc(q->symbols, n + strlen(add) + 3);
    if (!s) return KILN_ENOMEM;
    q->symbols = s;
    snprintf(s + n, strlen(add) + 3, "%s%s", n ? ", " : "", add);
    return 0;
}

/* A string from a string table section, or NULL when the index is bad. */
static const char *str_at(Elf *e, size_t section, size_t offset) {
    return elf_strptr(e, section, offset);
}

static int read_dynamic(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, kiln_elf_info *info) {
    Elf_Data *d = elf_getdata(scn, NULL);
    if (!d || sh->sh_entsize == 0) return 0;
    size_t n = sh->sh_size / sh->sh_entsize;
    for (size_t i = 0; i < n; i++) {
        GElf_Dyn dyn;
        if (!gelf_getdyn(d, (int)i, &dyn)) break;
        if (dyn.d_tag == DT_NULL) break;
        if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_SONAME) continue;
        const char *s = str_at(e, sh->sh_link, dyn.d_un.d_val);
        if (!s) continue;
        if (dyn.d_tag == DT_NEEDED) {
            if (add_needed(info, s)) return KILN_ENOMEM;
        } else if (!info->soname) {
            if (!(info->soname = strdup(s))) return KILN_ENOMEM;
        }
    }
    return 0;
}

static int read_verneed(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, kiln_elf_info *info) {
    Elf_Data *d = elf_getdata(scn, NULL);
    if (!d) return 0;
    size_t off = 0;
    /* sh_info holds the number of entries; bound the walk by it and by the data size. */
    for (size_t i = 0; i < sh->sh_info && i < 4096; i++) {
        GElf_Verneed vn;
        if (off >= d->d_size || !gelf_getverneed(d, (int)off, &vn)) break;
        const char *lib = str_at(e, sh->sh_link, vn.vn_file);
        size_t aux = off + vn.vn_aux;
        for (unsigned j = 0; j < vn.vn_cnt && j < 4096; j++) {
            GElf_Vernaux va;
            if (aux >= d->d_size || !gelf_getvernaux(d, (int)aux, &va)) break;
            const char *ver = str_at(e, sh->sh_link, va.vna_name);
            if (ver && add_req(info, ver, lib ? lib : "?", va.vna_other)) return KILN_ENOMEM;
            if (va.vna_next == 0) break;
            aux += va.vna_next;
        }
        if (vn.vn_next == 0) break;
        off += vn.vn_next;
    }
    return 0;
}

/* Binds undefined dynamic symbols to the requirement their .gnu.version entry names. */
static int read_symbols(Elf *e, Elf_Scn *dynsym, const GElf_Shdr *dsh, Elf_Scn *versym, kiln_elf_info *info) {
    Elf_Data *sd = elf_getdata(dynsym, NULL), *vd = elf_getdata(versym, NULL);
    if (!sd || !vd || dsh->sh_entsize == 0) return 0;
    size_t n = dsh->sh_size / dsh->sh_entsize;
    for (size_t i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Versym vs;
        if (!gelf_getsym(sd, (int)i, &sym) || !gelf_getversym(vd, (int)i, &vs)) break;
        if (sym.st_shndx != SHN_UNDEF) continue;
        unsigned idx = (unsigned)(vs & 0x7fff);
        if (idx < 2) continue;
        const char *name = str_at(e, dsh->sh_link, sym.st_name);
        if (!name || !*name) continue;
        for (size_t k = 0; k < info->nreqs; k++)
            if (info->reqs[k].index == idx) {
                if (add_symbol(&info->reqs[k], name)) return KILN_ENOMEM;
                break;
            }
    }
    return 0;
}

int kiln_elf_inspect(void *image, size_t size, kiln_elf_info *out, kiln_error *err) {
    if (!kiln_elf_is_elf(image, size)) return fail(err, KILN_EFORMAT, "not an ELF object (no \\177ELF magic)");
    if (elf_version(EV_CURRENT) == EV_NONE) return fail(err, KILN_EINTERNAL, "libelf is out of date");
    Elf *e = elf_memory((char *)image, size);
    if (!e) return fail(err, KILN_EFORMAT, "libelf cannot read it: %s", elf_errmsg(-1));
    int rc = 0;
    GElf_Ehdr eh;
    if (elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh)) {
        rc = fail(err, KILN_EFORMAT, "not a valid ELF object: %s", elf_errmsg(-1));
        goto done;
    }
    out->machine = eh.e_machine;
    out->elf_class = gelf_getclass(e) == ELFCLASS32 ? 32 : 64;
    out->type = eh.e_type;
    size_t shnum = 0;
    if (elf_getshdrnum(e, &shnum) != 0) {
        rc = fail(err, KILN_EFORMAT, "bad section header table: %s", elf_errmsg(-1));
        goto done;
    }
    Elf_Scn *dynsym = NULL, *versym = NULL;
    GElf_Shdr dynsym_sh;
    memset(&dynsym_sh, 0, sizeof dynsym_sh);
    for (Elf_Scn *scn = elf_nextscn(e, NULL); scn && rc == 0; scn = elf_nextscn(e, scn)) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh)) continue;
        if (sh.sh_type == SHT_DYNAMIC) rc = read_dynamic(e, scn, &sh, out);
        else if (sh.sh_type == SHT_GNU_verneed) rc = read_verneed(e, scn, &sh, out);
        else if (sh.sh_type == SHT_DYNSYM) {
            dynsym = scn;
            dynsym_sh = sh;
        } else if (sh.sh_type == SHT_GNU_versym) {
            versym = scn;
        }
    }
    if (rc == 0 && dynsym && versym) rc = read_symbols(e, dynsym, &dynsym_sh, versym, out);
    if (rc == KILN_ENOMEM) fail(err, KILN_ENOMEM, "out of memory reading ELF data");
done:
    elf_end(e);
    if (rc) kiln_elf_info_clear(out);
    return rc;
}
