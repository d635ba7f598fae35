/* Time: only facts that hold on every run are printed. CLOCK_MONOTONIC never goes back, nanosleep
 * and clock_nanosleep sleep at least as long as asked, the clocks agree with each other, and the
 * calendar functions of glibc give fixed answers for fixed instants. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>

#include "guest.h"

static int64_t nanoseconds(clockid_t clock) {
    struct timespec now;
    CHECK(clock_gettime(clock, &now) == 0, "clock_gettime");
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

int main(void) {
    int64_t previous = nanoseconds(CLOCK_MONOTONIC), backwards = 0;
    for (int i = 0; i < 200; i++) {
        int64_t now = nanoseconds(CLOCK_MONOTONIC);
        backwards += now < previous;
        previous = now;
    }
    printf("monotonic readings that went back: %lld\n", (long long)backwards);

    int64_t before = nanoseconds(CLOCK_MONOTONIC);
    struct timespec request = {0, 20 * 1000 * 1000}, remaining = {1, 1};
    int slept = nanosleep(&request, &remaining);
    int64_t elapsed = nanoseconds(CLOCK_MONOTONIC) - before;
    printf("nanosleep 20 ms: returned %d, slept at least 20 ms: %d\n", slept, elapsed >= 20 * 1000 * 1000);
    before = nanoseconds(CLOCK_MONOTONIC);
    request.tv_nsec = 5 * 1000 * 1000;
    printf("clock_nanosleep relative: %d", clock_nanosleep(CLOCK_MONOTONIC, 0, &request, NULL));
    printf(", slept at least 5 ms: %d\n", nanoseconds(CLOCK_MONOTONIC) - before >= 5 * 1000 * 1000);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    int64_t absolute_start = nanoseconds(CLOCK_MONOTONIC);
    deadline.tv_nsec += 3 * 1000 * 1000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++, deadline.tv_nsec -= 1000000000;
    }
    printf("clock_nanosleep absolute: %d", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL));
    printf(", reached the deadline: %d\n", nanoseconds(CLOCK_MONOTONIC) >= absolute_start + 2 * 1000 * 1000);
    request.tv_nsec = 1000000000;
    show_result("nanosleep with tv_nsec 1e9", nanosleep(&request, NULL));

    int64_t realtime = nanoseconds(CLOCK_REALTIME);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    time_t seconds = time(NULL);
    int64_t tv_ns = (int64_t)tv.tv_sec * 1000000000 + tv.tv_usec * 1000;
    printf("realtime after 2024: %d, gettimeofday within 5 s: %d, time() within 5 s: %d\n",
           realtime > 1704067200LL * 1000000000, tv_ns - realtime < 5000000000LL && tv_ns >= realtime - 1000,
           seconds - realtime / 1000000000 < 5 && seconds >= realtime / 1000000000);
    struct timespec resolution;
    static const clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
                                       CLOCK_THREAD_CPUTIME_ID, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME};
    for (int i = 0; i < 6; i++) {
        int result = clock_getres(clocks[i], &resolution);
        printf("clock %d: getres %d, at most 10 ms: %d, reads non-negative: %d\n", (int)clocks[i], result,
               resolution.tv_sec == 0 && resolution.tv_nsec <= 10000000, nanoseconds(clocks[i]) >= 0);
    }
    struct timespec invalid;
    show_result("clock_gettime of clock 1234", clock_gettime(1234, &invalid));
    int64_t cpu_before = nanoseconds(CLOCK_PROCESS_CPUTIME_ID);
    printf("cpu time never decreases: %d\n", nanoseconds(CLOCK_PROCESS_CPUTIME_ID) >= cpu_before);

    time_t instant = 1234567890;
    struct tm broken;
    gmtime_r(&instant, &broken);
    char text[64];
    strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S %A day %j", &broken);
    printf("gmtime %ld: %s, timegm back %ld\n", (long)instant, text, (long)timegm(&broken));
    struct tm leap = {.tm_year = 124, .tm_mon = 1, .tm_mday = 29, .tm_hour = 12};
    printf("2024-02-29 12:00 UTC = %ld\n", (long)timegm(&leap));
    return guest_status();
}
