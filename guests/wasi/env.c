/* WASI process interface: args, environment, clocks, random, poll with a clock, sched_yield, exit. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

extern char **environ;

int main(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        printf("argv[%d] = %s\n", i, argv[i]);
    for (char **e = environ; *e; e++)
        printf("env %s\n", *e);
    printf("getenv GREETING = %s\n", getenv("GREETING"));

    struct timespec a, b, res;
    clock_gettime(CLOCK_REALTIME, &a);
    printf("realtime after 2020: %d\n", a.tv_sec > 1577836800);
    printf("res monotonic %d\n", clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0);
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct timespec nap = {0, 20000000};
    printf("nanosleep %d\n", nanosleep(&nap, NULL));
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long slept = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    printf("slept at least 20ms: %d\n", slept >= 20000000);

    __wasi_timestamp_t now;

    __wasi_subscription_t sub = {.userdata = 42, .u.tag = __WASI_EVENTTYPE_CLOCK};
    sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    sub.u.u.clock.timeout = 5000000;
    __wasi_event_t event;
    __wasi_size_t count = 0;
    int err = __wasi_poll_oneoff(&sub, &event, 1, &count);
    printf("poll clock %d count %d userdata %d error %d type %d\n", err, (int)count, (int)event.userdata,
           event.error, event.type);
    err = __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &now);
    sub.u.u.clock.timeout = now + 5000000;
    sub.u.u.clock.flags = __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME;
    err = __wasi_poll_oneoff(&sub, &event, 1, &count);
    printf("poll absolute %d count %d userdata %d\n", err, (int)count, (int)event.userdata);
    __wasi_subscription_t subs[2] = {sub, {.userdata = 7, .u.tag = __WASI_EVENTTYPE_FD_WRITE}};
    subs[0].u.u.clock.flags = 0;
    subs[0].u.u.clock.timeout = 1000000000;
    subs[1].u.u.fd_write.file_descriptor = 1;
    __wasi_event_t events[2];
    err = __wasi_poll_oneoff(subs, events, 2, &count);
    printf("poll stdout writable %d count %d userdata %d type %d\n", err, (int)count, (int)events[0].userdata,
           events[0].type);
    printf("poll nothing %d\n", __wasi_poll_oneoff(subs, events, 0, &count));
    subs[1].userdata = 9;
    subs[1].u.tag = __WASI_EVENTTYPE_FD_READ;
    subs[1].u.u.fd_read.file_descriptor = 0;
    err = __wasi_poll_oneoff(subs, events, 2, &count);
    printf("poll stdin readable %d count %d userdata %d type %d\n", err, (int)count, (int)events[0].userdata,
           events[0].type);
    char line[128];
    while (fgets(line, sizeof line, stdin))
        printf("stdin: %s", line);

    unsigned char random[32] = {0};
    printf("getentropy %d\n", getentropy(random, sizeof random));
    int nonzero = 0;
    for (int i = 0; i < 32; i++)
        nonzero |= random[i];
    printf("random nonzero %d\n", nonzero != 0);
    printf("sched_yield %d\n", sched_yield());
    fflush(stdout);
    exit(argc > 1 ? atoi(argv[argc - 1]) : 0);
}
