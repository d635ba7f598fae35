/* Jumps to an address where nothing is mapped: the guest dies of SIGSEGV. */
#include <stdio.h>
int main(void) {
    puts("jumping");
    fflush(stdout);
    void (*nowhere)(void) = (void (*)(void))0x12345678;
    nowhere();
    return 0;
}
