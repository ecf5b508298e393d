/* home.h -- where kiln keeps its state. */
#ifndef KILN_HOME_H
#define KILN_HOME_H

/* The state directory: `override` when non-NULL, else $KILN_HOME, else
 * $XDG_CACHE_HOME/kiln, else $HOME/.cache/kiln. Returns a malloc'd absolute path. */
char *kiln_home_resolve(const char *override);

#endif
