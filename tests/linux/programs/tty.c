/* Terminal ioctls on the terminal the test gives it: isatty, tcgetattr/tcsetattr, the window size. */
#include <stdio.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

int main(void) {
    struct termios t;
    printf("isatty: %d %d\r\n", isatty(0), isatty(1));
    printf("tcgetattr: %d echo=%d icanon=%d\r\n", tcgetattr(0, &t), (t.c_lflag & ECHO) != 0,
           (t.c_lflag & ICANON) != 0);
    t.c_lflag &= ~ECHO;
    printf("tcsetattr: %d\r\n", tcsetattr(0, TCSANOW, &t));
    struct termios again;
    tcgetattr(0, &again);
    printf("echo now: %d\r\n", (again.c_lflag & ECHO) != 0);
    struct winsize ws;
    printf("TIOCGWINSZ: %d rows=%d cols=%d\r\n", ioctl(1, TIOCGWINSZ, &ws), ws.ws_row, ws.ws_col);
    printf("pgrp is ours: %d\r\n", tcgetpgrp(0) == getpgrp());
    return 0;
}
