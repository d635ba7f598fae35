/* Processes: fork, wait4 statuses, pipes between processes, exec of a host program, posix_spawn. */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        printf("exec'd child: argc=%d arg=%s\n", argc, argv[2]);
        return 42;
    }
    int fds[2];
    pipe(fds);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        const char *msg = "hello from the child";
        write(fds[1], msg, strlen(msg));
        _exit(3);
    }
    close(fds[1]);
    char buf[64] = {0};
    ssize_t n, total = 0;
    while ((n = read(fds[0], buf + total, sizeof buf - 1 - total)) > 0) total += n;
    int status;
    pid_t waited = wait4(pid, &status, 0, NULL);
    printf("pipe: [%s]\n", buf);
    printf("wait4: same=%d exited=%d status=%d\n", waited == pid, WIFEXITED(status), WEXITSTATUS(status));
    printf("no children: %d\n", wait(NULL));
    pid = fork();
    if (pid == 0) _exit(4);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    printf("waitid: %d", waitid(P_PID, pid, &info, WEXITED));
    printf(" same=%d code=%d status=%d\n", info.si_pid == pid, info.si_code, info.si_status);
    printf("waitid nohang, none left: %d\n", waitid(P_ALL, 0, &info, WEXITED | WNOHANG));

    pid = fork();
    if (pid == 0) {
        char *args[] = {"/bin/echo", "a host program, exec'd", NULL};
        execve(args[0], args, environ);
        _exit(127);
    }
    waitpid(pid, &status, 0);
    printf("host exec: status=%d\n", WEXITSTATUS(status));

    pid_t spawned;
    char *args[] = {"sh", "-c", "echo spawned; exit 5", NULL};
    int err = posix_spawn(&spawned, "/bin/sh", NULL, NULL, args, environ);
    waitpid(spawned, &status, 0);
    printf("posix_spawn: %d status=%d\n", err, WEXITSTATUS(status));
    printf("system: %d\n", WEXITSTATUS(system("exit 9")));

    FILE *p = popen("echo through popen", "r");
    char line[64] = {0};
    fgets(line, sizeof line, p);
    printf("popen: %s", line);
    printf("pclose: %d\n", pclose(p));
    return 0;
}
