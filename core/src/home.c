/* home.c -- resolving kiln's state directory (see home.h). */
#include "home.h"

#include <stdlib.h>
#include <string.h>

#include "fsutil.h"

/* override > $KILN_HOME > $XDG_CACHE_HOME/kiln > $HOME/.cache/kiln > /tmp/kiln-cache
 * (the last only when even $HOME is unset). Empty variables count as unset. The result is
 * made absolute against the cwd. Never NULL (aborts on OOM). */
char *kiln_home_resolve(const char *override) {
    if (override && *override) return kiln_path_absolute(NULL, override);
    const char *v = getenv("KILN_HOME");
    if (v && *v) return kiln_path_absolute(NULL, v);
    v = getenv("XDG_CACHE_HOME");
    if (v && *v) {
        char *p = kiln_path_join(v, "kiln");
        char *r = kiln_path_absolute(NULL, p);
        free(p);
        return r;
    }
    v = getenv("HOME");
    if (v && *v) {
        char *p = kiln_path_join(v, ".cache/kiln");
        char *r = kiln_path_absolute(NULL, p);
        free(p);
        return r;
    }
    return kiln_path_absolute(NULL, "/tmp/kiln-cache");
}
