/* What a program finds at start-up: argv, the GUEST_* part of envp, and the deterministic parts of
 * the auxiliary vector (AT_PHDR and AT_ENTRY relative to each other, since a PIE's load address
 * varies; AT_BASE only as present or not). Exits with argc, so the status says what arrived. */
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "guest.h"

extern char **environ;
extern char _start[];

int main(int argc, char **argv, char **envp) {
    printf("argc %d\n", argc);
    for (int i = 1; i < argc; i++) {
        printf("argv[%d] '%s' (%zu bytes)\n", i, argv[i], strlen(argv[i]));
    }
    CHECK(argv[argc] == NULL, "argv ends with NULL");
    CHECK(envp == environ, "envp is environ");
    for (char **variable = envp; *variable; variable++) {
        if (strncmp(*variable, "GUEST_", 6) == 0) {
            printf("env %s\n", *variable);
        }
    }
    const char *home = getenv("GUEST_HOME");
    printf("getenv GUEST_HOME %s\n", home ? home : "(unset)");
    CHECK((char *)(envp - argc - 1) == (char *)argv, "envp follows argv on the stack");

    unsigned long phdr = getauxval(AT_PHDR), entry = getauxval(AT_ENTRY), base = getauxval(AT_BASE);
    printf("AT_PAGESZ %lu AT_PHENT %lu AT_PHNUM %lu AT_CLKTCK %lu AT_SECURE %lu\n", getauxval(AT_PAGESZ),
           getauxval(AT_PHENT), getauxval(AT_PHNUM), getauxval(AT_CLKTCK), getauxval(AT_SECURE));
    printf("AT_UID/EUID/GID/EGID match the ids: %d\n",
           getauxval(AT_UID) == getuid() && getauxval(AT_EUID) == geteuid() && getauxval(AT_GID) == getgid() &&
           getauxval(AT_EGID) == getegid());
    printf("AT_ENTRY is _start: %d, AT_ENTRY - AT_PHDR = %#lx, AT_BASE %s\n", entry == (unsigned long)_start,
           entry - phdr, base ? "set (an interpreter was loaded)" : "0 (no interpreter)");
    const ElfW(Phdr) *headers = (const ElfW(Phdr) *)phdr;
    int loads = 0;
    for (unsigned long i = 0; i < getauxval(AT_PHNUM); i++) {
        loads += headers[i].p_type == PT_LOAD;
    }
    printf("program headers at AT_PHDR readable: %d PT_LOAD segments\n", loads);
    const unsigned char *random_bytes = (const unsigned char *)getauxval(AT_RANDOM);
    int nonzero = 0;
    for (int i = 0; i < 16; i++) {
        nonzero += random_bytes[i] != 0;
    }
    printf("AT_RANDOM: 16 readable bytes, not all zero: %d\n", nonzero > 0);
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    printf("AT_EXECFN is argv[0]: %d\n", execfn && strcmp(execfn, argv[0]) == 0);
    printf("AT_HWCAP %#lx\n", getauxval(AT_HWCAP));
    printf("page size %ld, stack below argv is 16-byte aligned: %d\n", sysconf(_SC_PAGESIZE),
           ((uintptr_t)(argv - 1) & 15) == 0);
    int status = guest_status();
    return status ? 100 + status : argc;
}
