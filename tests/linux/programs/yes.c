/* Writes lines until the reader goes away: killed by SIGPIPE, or with "ignore", sees EPIPE. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "ignore") == 0) signal(SIGPIPE, SIG_IGN);
    for (;;) {
        if (write(1, "y\n", 2) < 0) {
            fprintf(stderr, "write failed: %s\n", strerror(errno));
            return 2;
        }
    }
}
