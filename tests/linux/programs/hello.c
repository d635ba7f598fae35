/* Prints its arguments, tries a missing file, and exits with status 3. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) printf("%s%s", argv[i], i + 1 < argc ? " " : "\n");
    fflush(stdout);
    open("/nonexistent/file", O_RDONLY);
    return 3;
}
