/* Debian's luaconf.h patch includes this header, which debian/rules generates to name the multiarch
 * library directory searched for C modules. The guest builds load no C modules (no dlopen), so the
 * directory is a fixed placeholder. */
#define DEB_HOST_MULTIARCH "vmstack-guest"
