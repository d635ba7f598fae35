/* Escape attempts from the preopen: every one must fail, nothing outside may be touched.
   The test sets up host symlinks `hostroot` -> / and `hostabs` -> /etc/passwd beforehand. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static void try_open(const char *path, int flags) {
    errno = 0;
    int fd = open(path, flags, 0644);
    printf("open %-24s %d errno %d\n", path, fd < 0 ? -1 : 0, fd < 0 ? errno : 0);
    if (fd >= 0)
        close(fd);
}

int main(void) {
    mkdir("a", 0755);
    mkdir("a/b", 0755);
    printf("symlink up %d\n", symlink("../..", "a/up"));
    printf("symlink chain %d\n", symlink("a/up", "chain"));
    printf("symlink loop %d %d\n", symlink("loop1", "loop2"), symlink("loop2", "loop1"));
    errno = 0;
    printf("symlink absolute %d errno %d\n", symlink("/etc/passwd", "abs"), errno);
    const char *paths[] = {"../x", "a/../../x", "a/b/../../../x", "..", "/etc/passwd", "chain/x", "a/up/x",
                           "a/up", "loop1", "loop1/x", "hostroot/etc/passwd", "hostabs", "hostroot",
                           ".", "a/", "a/b/..", "missing/", NULL};
    for (int i = 0; paths[i]; i++)
        try_open(paths[i], O_RDONLY);
    try_open("../created", O_WRONLY | O_CREAT);
    try_open("chain/created", O_WRONLY | O_CREAT);
    try_open("hostroot", O_RDONLY | O_NOFOLLOW);
    struct stat st;
    errno = 0;
    printf("stat hostroot %d errno %d\n", stat("hostroot", &st), errno);
    errno = 0;
    printf("lstat hostroot %d errno %d link %d\n", lstat("hostroot", &st), errno, S_ISLNK(st.st_mode));
    errno = 0;
    printf("mkdir ../z %d errno %d\n", mkdir("../z", 0755), errno);
    errno = 0;
    printf("rename out %d errno %d\n", rename("a", "../a"), errno);
    errno = 0;
    printf("link out %d errno %d\n", link("a/up", "../l"), errno);
    errno = 0;
    printf("unlink via chain %d errno %d\n", unlink("chain/secret"), errno);
    errno = 0;
    printf("rmdir .. %d errno %d\n", rmdir(".."), errno);
    return 0;
}
