/* Stand-in for the <pwd.h> wasi-libc lacks: a WASI process has no user database, so the SQLite
 * shell's home-directory lookup finds nothing and falls back to $HOME. Being the one shim header the
 * shell includes, it also declares chmod, which wasi-libc hides and wasi_os.c defines. */
#ifndef VMSTACK_WASI_PWD_H
#define VMSTACK_WASI_PWD_H

#include <stddef.h>
#include <sys/types.h>

int chmod(const char *path, mode_t mode);

struct passwd {
    char *pw_dir;
};

static inline uid_t getuid(void) { return 0; }

static inline struct passwd *getpwuid(uid_t uid) {
    (void)uid;
    return NULL;
}

#endif
