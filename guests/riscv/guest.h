/* Shared by the riscv64 Linux guests: self-checks that count failures, and printing helpers.
 * Every guest prints what it observes (compared with qemu-riscv64 by the differential tests) and
 * also checks what Linux guarantees, so a wrong result shows even where both runners agree. */
#ifndef GUEST_H
#define GUEST_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int guest_failures;

/* Record one self-check; a failing one prints a FAIL line naming it. */
#define CHECK(cond, what) \
    do { \
        if (!(cond)) { \
            guest_failures++; \
            printf("FAIL %s (line %d)\n", (what), __LINE__); \
        } \
    } while (0)

/* The exit status of a guest: 0 when every check held, otherwise 1. */
static inline int guest_status(void) {
    printf("%s: %d failed checks\n", guest_failures ? "FAILED" : "ok", guest_failures);
    return guest_failures ? 1 : 0;
}

/* Print a system call's result, and errno when it failed (read after the call, never before). */
static inline void show_result(const char *what, long result) {
    printf("%s -> %ld errno %d\n", what, result, result < 0 ? errno : 0);
}

/* The last component of a path (guests print names, never the temp directories they ran in). */
static inline const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

#endif
