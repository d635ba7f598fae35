/* Identity, limits, time and randomness. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv, char **envp) {
    printf("argc=%d", argc);
    for (int i = 1; i < argc; i++) printf(" [%s]", argv[i]);
    printf("\nVMSTACK_TEST=%s\n", getenv("VMSTACK_TEST") ? getenv("VMSTACK_TEST") : "(unset)");
    struct utsname u;
    printf("uname: %d %s %s\n", uname(&u), u.sysname, u.machine);
    printf("pid is tid: %d\n", getpid() == syscall(SYS_gettid));
    printf("ids match host: %d\n", getuid() == geteuid() && getgid() == getegid());
    printf("ppid positive: %d\n", getppid() > 0);
    struct rlimit rl;
    printf("getrlimit: %d\n", getrlimit(RLIMIT_NOFILE, &rl));
    printf("prlimit: %d\n", prlimit(0, RLIMIT_STACK, NULL, &rl));
    struct sysinfo si;
    printf("sysinfo: %d %d\n", sysinfo(&si), si.totalram > 0);
    mode_t old = umask(022);
    printf("umask: %o %o\n", umask(old), 022);
    struct timespec a, b, res;
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct timespec nap = {0, 20 * 1000 * 1000};
    printf("nanosleep: %d\n", nanosleep(&nap, NULL));
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    printf("slept >= 20ms: %d\n", ms >= 20);
    printf("clock_getres: %d\n", clock_getres(CLOCK_REALTIME, &res));
    struct timeval tv;
    printf("gettimeofday: %d plausible=%d\n", gettimeofday(&tv, NULL), tv.tv_sec > 1600000000);
    printf("time plausible: %d\n", time(NULL) > 1600000000);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += 10000000;
    if (until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
    printf("clock_nanosleep abs: %d\n", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL));
    unsigned char rnd[32];
    printf("getrandom: %zd\n", getrandom(rnd, sizeof rnd, 0));
    struct pollfd p = {1, POLLOUT, 0};
    printf("poll stdout: %d %d\n", poll(&p, 1, 100), (p.revents & POLLOUT) != 0);
    int fds[2];
    pipe(fds);
    struct pollfd q = {fds[0], POLLIN, 0};
    printf("poll empty pipe: %d\n", poll(&q, 1, 30));
    write(fds[1], "x", 1);
    printf("poll full pipe: %d %d\n", poll(&q, 1, 30), q.revents);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(fds[0], &rs);
    struct timeval zero = {0, 0};
    printf("select: %d %d\n", select(fds[0] + 1, &rs, NULL, NULL, &zero), FD_ISSET(fds[0], &rs));
    printf("unknown syscall: %ld errno=%d\n", syscall(4000), errno);
    return 0;
}
