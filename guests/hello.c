/* The project's first guest: a C "hello, world" compiled once to portable code. */
#include <stdio.h>

int main(int argc, char **argv) {
    printf("Hello, world!");
    for (int i = 1; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\n");
    return 0;
}
