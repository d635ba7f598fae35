/* epoll over pipes: level-triggered readiness, the data word, a timeout, and a thread that writes. */
#include <pthread.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

static int late[2];

static void *writer(void *arg) {
    (void)arg;
    struct timespec t = {0, 30 * 1000000};
    nanosleep(&t, NULL);
    write(late[1], "late", 4);
    return NULL;
}

int main(void) {
    int a[2], b[2];
    pipe(a);
    pipe(b);
    pipe(late);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    printf("epoll_create1: %d\n", ep >= 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1122334455667788ULL};
    printf("ctl a: %d\n", epoll_ctl(ep, EPOLL_CTL_ADD, a[0], &ev));
    ev.data.u64 = 42;
    printf("ctl b: %d\n", epoll_ctl(ep, EPOLL_CTL_ADD, b[0], &ev));
    ev.data.u64 = 7;
    printf("ctl late: %d\n", epoll_ctl(ep, EPOLL_CTL_ADD, late[0], &ev));
    struct epoll_event out[4];
    printf("nothing ready: %d\n", epoll_wait(ep, out, 4, 20));
    write(a[1], "x", 1);
    int n = epoll_wait(ep, out, 4, 100);
    printf("one ready: %d data=%llx events=%x\n", n, (unsigned long long)out[0].data.u64, out[0].events);
    write(b[1], "y", 1);
    n = epoll_wait(ep, out, 4, 100);
    printf("two ready: %d\n", n);
    printf("del a: %d\n", epoll_ctl(ep, EPOLL_CTL_DEL, a[0], NULL));
    char c;
    read(b[0], &c, 1);
    pthread_t t;
    pthread_create(&t, NULL, writer, NULL);
    n = epoll_wait(ep, out, 4, 2000);
    printf("woken by a thread: %d data=%llu\n", n, (unsigned long long)out[0].data.u64);
    pthread_join(t, NULL);
    return 0;
}
