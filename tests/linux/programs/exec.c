/* execve of riscv64 programs: through /proc/self/exe, and as the interpreter of a #! script; what
   survives an exec (descriptors without O_CLOEXEC, the environment given) and the errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int child(int argc, char **argv) {
    printf("child argc=%d", argc);
    for (int i = 1; i < argc; i++) printf(" [%s]", strncmp(argv[i], "/tmp/", 5) ? argv[i] : "(a /tmp path)");
    printf(" EXEC_VAR=%s kept=%d closed=%d\n", getenv("EXEC_VAR") ? getenv("EXEC_VAR") : "(unset)",
           fcntl(20, F_GETFD) >= 0, fcntl(21, F_GETFD) == -1);
    return 42;
}

static void run(const char *path, char **args) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *env[] = {"EXEC_VAR=given to execve", NULL};
        execve(path, args, env);
        printf("execve %s failed: errno=%d\n", args[0], errno);
        fflush(stdout);
        _exit(99);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("status %d\n", WEXITSTATUS(status));
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) return child(argc, argv);
    dup2(open("/dev/null", O_RDONLY), 20);
    dup3(open("/dev/null", O_RDONLY), 21, O_CLOEXEC);
    char *self_args[] = {"renamed", "child", "via /proc/self/exe", NULL};
    run("/proc/self/exe", self_args);

    char self[4096] = {0};
    readlink("/proc/self/exe", self, sizeof self - 1);
    char script[] = "/tmp/vmstack-script-XXXXXX";
    int fd = mkstemp(script);
    dprintf(fd, "#!%s child\nthis line is never read\n", self);
    fchmod(fd, 0755);
    close(fd);
    char *script_args[] = {"the-script", "extra", NULL};
    run(script, script_args);

    char *missing[] = {"missing", NULL};
    run("/nonexistent/program", missing);
    chmod(script, 0644);
    char *not_exec[] = {"not-executable", NULL};
    run(script, not_exec);
    unlink(script);
    return 0;
}
