/* Processes: fork and waitpid with every kind of status (exit code, killed by a signal, WNOHANG while
 * running), pipes between parent and child, vfork, getppid, execve of a riscv64 program and of a #!
 * script whose interpreter is one, /proc/self/exe.
 *
 *     processes DIRECTORY PROGRAM     PROGRAM: the riscv64 program to execve (normally this one)
 *     processes sigkill               only a child killed by SIGKILL
 *
 * The exec'd program runs as `PROGRAM child ...` or, as a #! interpreter, `PROGRAM script-arg SCRIPT
 * ...`; it prints what it received. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest.h"

extern char **environ;

static void describe(const char *what, int status) {
    if (WIFEXITED(status)) {
        printf("%s: exited with %d\n", what, WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        printf("%s: killed by signal %d\n", what, WTERMSIG(status));
    } else {
        printf("%s: status %#x\n", what, status);
    }
}

static int exec_target_main(int argc, char **argv) {
    printf("exec'd program: argc %d", argc);
    for (int i = 1; i < argc; i++) {
        printf(" [%s]", i == 2 && strcmp(argv[1], "script-arg") == 0 ? base_name(argv[i]) : argv[i]);
    }
    printf("\n");
    for (char **variable = environ; *variable; variable++) {
        if (strncmp(*variable, "GUEST_", 6) == 0) {
            printf("exec'd program: env %s\n", *variable);
        }
    }
    char self[4096] = {0};
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    printf("exec'd program: /proc/self/exe names a processes build: %d\n",
           n > 0 && strncmp(base_name(self), "processes", 9) == 0);
    fflush(stdout);
    return strcmp(argv[1], "child") == 0 ? 7 : 8;
}

static pid_t spawn(int (*body)(void *), void *argument) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        _exit(body(argument));
    }
    CHECK(pid > 0, "fork");
    return pid;
}

static int exit_with(void *code) {
    return (int)(intptr_t)code;
}

static int kill_self(void *signal) {
    raise((int)(intptr_t)signal);
    return 99;
}

static int report_parent(void *parent) {
    printf("child: getppid is the parent %d, getpid differs %d\n", getppid() == *(pid_t *)parent,
           getpid() != *(pid_t *)parent);
    fflush(stdout);
    return 0;
}

static int pipes[2][2];

static int echo_upper(void *unused) {
    (void)unused;
    close(pipes[0][1]);
    close(pipes[1][0]);
    char buffer[64];
    ssize_t n;
    while ((n = read(pipes[0][0], buffer, sizeof buffer)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            buffer[i] = (char)(buffer[i] >= 'a' && buffer[i] <= 'z' ? buffer[i] - 32 : buffer[i]);
        }
        write(pipes[1][1], buffer, n);
    }
    return 0;
}

static void statuses(void) {
    int status;
    pid_t parent = getpid();
    pid_t child = spawn(exit_with, (void *)3);
    CHECK(waitpid(child, &status, 0) == child, "waitpid");
    describe("child exit(3)", status);
    child = spawn(kill_self, (void *)SIGTERM);
    waitpid(child, &status, 0);
    describe("child raise(SIGTERM)", status);
    child = spawn(kill_self, (void *)SIGINT);
    wait(&status);
    describe("child raise(SIGINT)", status);
    child = spawn(report_parent, &parent);
    waitpid(child, &status, 0);
    describe("child getppid", status);
    int gate[2];
    pipe(gate);
    fflush(stdout);
    child = fork();
    if (child == 0) {
        char c;
        close(gate[1]);
        _exit(read(gate[0], &c, 1) == 0 ? 5 : 6);
    }
    close(gate[0]);
    printf("WNOHANG while the child waits: %d\n", waitpid(child, &status, WNOHANG));
    close(gate[1]);
    waitpid(child, &status, 0);
    describe("child after its pipe closed", status);
    show_result("waitpid with no children", waitpid(-1, &status, 0));
    fflush(stdout);
    pid_t vforked = vfork();
    if (vforked == 0) {
        _exit(42);
    }
    waitpid(vforked, &status, 0);
    describe("vfork child", status);
}

static void killed(void) {
    int status;
    pid_t child = spawn(kill_self, (void *)SIGKILL);
    CHECK(waitpid(child, &status, 0) == child, "waitpid");
    describe("child raise(SIGKILL)", status);
}

static void pipeline(void) {
    pipe(pipes[0]);
    pipe(pipes[1]);
    pid_t child = spawn(echo_upper, NULL);
    close(pipes[0][0]);
    close(pipes[1][1]);
    const char *message = "hello through two pipes";
    write(pipes[0][1], message, strlen(message));
    close(pipes[0][1]);
    char reply[64] = {0};
    size_t got = 0;
    ssize_t n;
    while ((n = read(pipes[1][0], reply + got, sizeof reply - 1 - got)) > 0) {
        got += (size_t)n;
    }
    close(pipes[1][0]);
    int status;
    waitpid(child, &status, 0);
    printf("pipe round trip: '%s'\n", reply);
    describe("pipe child", status);
}

static void exec(const char *directory, const char *program) {
    int status;
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        char *argv[] = {"renamed-argv0", "child", "two words", "", NULL};
        char *envp[] = {"GUEST_ONE=1", "GUEST_TWO=with space", "OTHER=x", NULL};
        execve(program, argv, envp);
        printf("execve failed: errno %d\n", errno);
        fflush(stdout);
        _exit(127);
    }
    waitpid(child, &status, 0);
    describe("execve child", status);

    char script[4096];
    snprintf(script, sizeof script, "%s/script", directory);
    FILE *file = fopen(script, "w");
    fprintf(file, "#!%s script-arg\nthe interpreter does not read this\n", program);
    fclose(file);
    chmod(script, 0755);
    fflush(stdout);
    child = fork();
    if (child == 0) {
        char *argv[] = {script, "after", NULL};
        char *envp[] = {"GUEST_SCRIPT=yes", NULL};
        execve(script, argv, envp);
        printf("execve of the script failed: errno %d\n", errno);
        fflush(stdout);
        _exit(127);
    }
    waitpid(child, &status, 0);
    describe("script child", status);
    char *missing[] = {"missing", NULL};
    show_result("execve of a missing file", execve("/nonexistent/program", missing, environ));
    show_result("execve of a directory", execve(directory, missing, environ));
    chmod(script, 0644);
    show_result("execve of a file without x permission", execve(script, missing, environ));
    unlink(script);
}

int main(int argc, char **argv) {
    if (argc >= 2 && (strcmp(argv[1], "child") == 0 || strcmp(argv[1], "script-arg") == 0)) {
        return exec_target_main(argc, argv);
    }
    if (argc == 2 && strcmp(argv[1], "sigkill") == 0) {
        killed();
        return guest_status();
    }
    if (argc != 3) {
        fprintf(stderr, "usage: processes DIRECTORY PROGRAM | processes sigkill\n");
        return 2;
    }
    statuses();
    pipeline();
    exec(argv[1], argv[2]);
    return guest_status();
}
