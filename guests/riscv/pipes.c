/* Pipes: pipe2 flags, non-blocking reads and writes (EAGAIN), the pipe's capacity, poll/ppoll/select
 * readiness (POLLIN, POLLOUT, POLLHUP), EPIPE and SIGPIPE on a pipe without readers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/select.h>
#include <unistd.h>

#include "guest.h"

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int signal) {
    (void)signal;
    sigpipes++;
}

static void show_poll(const char *what, struct pollfd *fds, int count, int timeout) {
    for (int i = 0; i < count; i++) {
        fds[i].revents = 0;
    }
    int ready = poll(fds, count, timeout);
    printf("poll %s: %d ready,", what, ready);
    for (int i = 0; i < count; i++) {
        printf(" [%s%s%s%s]", fds[i].revents & POLLIN ? "in" : "", fds[i].revents & POLLOUT ? "out" : "",
               fds[i].revents & POLLHUP ? "hup" : "", fds[i].revents & POLLERR ? "err" : "");
    }
    printf("\n");
}

int main(void) {
    int fds[2];
    CHECK(pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0, "pipe2");
    printf("pipe2: cloexec %d %d nonblock %d %d\n", fcntl(fds[0], F_GETFD), fcntl(fds[1], F_GETFD),
           !!(fcntl(fds[0], F_GETFL) & O_NONBLOCK), !!(fcntl(fds[1], F_GETFL) & O_NONBLOCK));
    char buffer[256];
    show_result("read of an empty non-blocking pipe", read(fds[0], buffer, sizeof buffer));
    struct pollfd both[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLOUT, 0}};
    show_poll("empty", both, 2, 0);
    write(fds[1], "abc", 3);
    show_poll("after write", both, 2, 0);
    printf("read %zd\n", read(fds[0], buffer, sizeof buffer));
    size_t capacity = 0;
    ssize_t n;
    memset(buffer, 'x', sizeof buffer);
    while ((n = write(fds[1], buffer, sizeof buffer)) > 0) {
        capacity += (size_t)n;
    }
    int full_errno = errno;
    printf("filled with %zu bytes (F_GETPIPE_SZ %d), then errno %d\n", capacity, fcntl(fds[1], F_GETPIPE_SZ),
           full_errno);
    show_poll("full", both, 2, 0);
    size_t drained = 0;
    while ((n = read(fds[0], buffer, sizeof buffer)) > 0) {
        drained += (size_t)n;
    }
    printf("drained %zu bytes\n", drained);
    close(fds[1]);
    struct pollfd reader = {fds[0], POLLIN, 0};
    show_poll("writer closed", &reader, 1, 100);
    printf("read at end of file: %zd\n", read(fds[0], buffer, sizeof buffer));
    close(fds[0]);

    CHECK(pipe(fds) == 0, "pipe");
    printf("pipe: cloexec %d nonblock %d\n", fcntl(fds[0], F_GETFD), !!(fcntl(fds[0], F_GETFL) & O_NONBLOCK));
    fd_set readable, writable;
    FD_ZERO(&readable);
    FD_ZERO(&writable);
    FD_SET(fds[0], &readable);
    FD_SET(fds[1], &writable);
    struct timeval timeout = {0, 0};
    int ready = select(fds[1] + 1, &readable, &writable, NULL, &timeout);
    printf("select: %d ready, read end %d write end %d\n", ready, FD_ISSET(fds[0], &readable),
           FD_ISSET(fds[1], &writable));
    write(fds[1], "z", 1);
    struct timespec wait_a_bit = {0, 1000000};
    struct pollfd read_end = {fds[0], POLLIN, 0};
    printf("ppoll with data: %d revents in %d\n", ppoll(&read_end, 1, &wait_a_bit, NULL),
           !!(read_end.revents & POLLIN));
    struct pollfd bad = {999, POLLIN, 0};
    printf("poll of a closed fd: %d nval %d\n", poll(&bad, 1, 0), !!(bad.revents & POLLNVAL));

    close(fds[0]);
    signal(SIGPIPE, SIG_IGN);
    show_result("write without readers, SIGPIPE ignored", write(fds[1], "q", 1));
    signal(SIGPIPE, on_sigpipe);
    show_result("write without readers, SIGPIPE caught", write(fds[1], "q", 1));
    printf("sigpipes %d\n", sigpipes);
    struct pollfd writer = {fds[1], POLLOUT, 0};
    show_poll("write end without readers", &writer, 1, 0);
    close(fds[1]);
    return guest_status();
}
