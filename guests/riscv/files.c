/* Files and directories inside the empty directory given as argv[1]: open/read/write/lseek,
 * pread/pwrite, readv/writev, stat/fstatat/lstat, directory listing, rename, link, symlink, readlink,
 * unlink, mkdir/rmdir, ftruncate, fsync, dup/dup2/dup3, fcntl, access, chdir/getcwd, chmod, stdio.
 * Errors are printed as errno names' numbers, which Linux fixes. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "guest.h"

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_directory(const char *path) {
    DIR *dir = opendir(path);
    CHECK(dir != NULL, "opendir");
    if (!dir) {
        return;
    }
    char *names[64];
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && count < 64) {
        char kind = entry->d_type == DT_DIR ? 'd' : entry->d_type == DT_LNK ? 'l' : entry->d_type == DT_REG ? 'f' : '?';
        names[count] = malloc(strlen(entry->d_name) + 3);
        sprintf(names[count], "%s:%c", entry->d_name, kind);
        count++;
    }
    closedir(dir);
    qsort(names, count, sizeof names[0], compare_names);
    printf("listing of %s:", path);
    for (int i = 0; i < count; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

static void show_stat(const char *what, const struct stat *st) {
    const char *kind = S_ISREG(st->st_mode) ? "file" : S_ISDIR(st->st_mode) ? "dir" : S_ISLNK(st->st_mode) ? "link" : "other";
    printf("%s: %s mode %o size %lld nlink %lu\n", what, kind, st->st_mode & 07777, (long long)st->st_size,
           (unsigned long)st->st_nlink);
}

static void read_write(void) {
    int fd = open("data.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(fd >= 3, "open for writing");
    CHECK(write(fd, "hello, file\n", 12) == 12, "write");
    struct iovec parts[] = {{"one ", 4}, {"two ", 4}, {"three\n", 6}};
    CHECK(writev(fd, parts, 3) == 14, "writev");
    long current = (long)lseek(fd, 0, SEEK_CUR), end = (long)lseek(fd, 0, SEEK_END);
    printf("lseek cur %ld end %ld set %ld\n", current, end, (long)lseek(fd, 7, SEEK_SET));
    char buffer[64] = {0};
    ssize_t n = read(fd, buffer, 5);
    printf("read %zd '%s'\n", n, buffer);
    CHECK(pwrite(fd, "FILE", 4, 7) == 4, "pwrite");
    memset(buffer, 0, sizeof buffer);
    n = pread(fd, buffer, sizeof buffer - 1, 0);
    printf("pread %zd '%s' position still %ld\n", n, buffer, (long)lseek(fd, 0, SEEK_CUR));
    char first[6] = {0}, second[8] = {0};
    struct iovec into[] = {{first, 5}, {second, 7}};
    lseek(fd, 0, SEEK_SET);
    printf("readv %zd '%s' '%s'\n", readv(fd, into, 2), first, second);
    lseek(fd, 0, SEEK_END);
    printf("read at end %zd\n", read(fd, buffer, 10));
    CHECK(ftruncate(fd, 40) == 0, "ftruncate up");
    struct stat st;
    fstat(fd, &st);
    show_stat("after ftruncate 40", &st);
    lseek(fd, 26, SEEK_SET);
    unsigned char tail[20];
    n = read(fd, tail, sizeof tail);
    printf("zero-filled tail %zd bytes, first %d last %d\n", n, tail[0], tail[n - 1]);
    CHECK(ftruncate(fd, 5) == 0 && fsync(fd) == 0 && fdatasync(fd) == 0, "ftruncate down, fsync");
    fstat(fd, &st);
    show_stat("after ftruncate 5", &st);
    printf("lseek past end %ld, negative ", (long)lseek(fd, 100, SEEK_SET));
    show_result("", (long)lseek(fd, -1, SEEK_SET));
    close(fd);
    show_result("read closed fd", (int)read(fd, buffer, 1));
    fd = open("data.txt", O_WRONLY | O_APPEND);
    lseek(fd, 0, SEEK_SET);
    write(fd, "+appended", 9);
    printf("append lands at end: size %ld\n", (long)lseek(fd, 0, SEEK_END));
    show_result("read write-only fd", (int)read(fd, buffer, 1));
    close(fd);
    show_result("open O_EXCL existing", open("data.txt", O_CREAT | O_EXCL | O_WRONLY, 0600));
    show_result("open missing", open("missing/nothing", O_RDONLY));
    show_result("open dir for writing", open(".", O_WRONLY));
}

static void descriptors(void) {
    int fd = open("data.txt", O_RDONLY);
    int copy = dup(fd);
    printf("dup gives the lowest free fd: %d (fd %d)\n", copy - fd, fd);
    char c;
    read(fd, &c, 1);
    printf("dup shares the offset: %ld\n", (long)lseek(copy, 0, SEEK_CUR));
    CHECK(dup2(fd, 20) == 20, "dup2");
    show_result("dup2 bad fd", dup2(99, 21));
    printf("fd flags 20: %d, dup3 cloexec: ", fcntl(20, F_GETFD));
    CHECK(dup3(fd, 21, O_CLOEXEC) == 21, "dup3");
    printf("%d\n", fcntl(21, F_GETFD));
    int low = fcntl(fd, F_DUPFD, 10), cloexec = fcntl(fd, F_DUPFD_CLOEXEC, 30);
    printf("F_DUPFD %d F_DUPFD_CLOEXEC %d flags %d\n", low, cloexec, fcntl(cloexec, F_GETFD));
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    int status_flags = fcntl(fd, F_GETFL);
    printf("F_GETFD %d F_GETFL accmode %d append %d\n", fcntl(fd, F_GETFD), status_flags & O_ACCMODE,
           !!(status_flags & O_APPEND));
    fcntl(copy, F_SETFL, O_APPEND | O_NONBLOCK);
    printf("F_SETFL shared by the dup: append %d nonblock %d\n", !!(fcntl(fd, F_GETFL) & O_APPEND),
           !!(fcntl(fd, F_GETFL) & O_NONBLOCK));
    show_result("fcntl bad fd", fcntl(77, F_GETFD));
    close(fd), close(copy), close(20), close(21), close(low), close(cloexec);
}

static void names(void) {
    struct stat st;
    CHECK(mkdir("sub", 0755) == 0, "mkdir");
    show_result("mkdir existing", mkdir("sub", 0755));
    CHECK(rename("data.txt", "sub/moved.txt") == 0, "rename");
    show_result("stat old name", stat("data.txt", &st));
    CHECK(link("sub/moved.txt", "hard") == 0, "link");
    stat("hard", &st);
    show_stat("hard link", &st);
    CHECK(symlink("sub/moved.txt", "soft") == 0, "symlink");
    CHECK(symlink("nowhere", "dangling") == 0, "dangling symlink");
    char target[64] = {0};
    ssize_t n = readlink("soft", target, sizeof target - 1);
    printf("readlink %zd '%s'\n", n, target);
    show_result("readlink of a file", (int)readlink("hard", target, sizeof target));
    lstat("soft", &st);
    show_stat("lstat soft", &st);
    stat("soft", &st);
    show_stat("stat soft", &st);
    show_result("stat dangling", stat("dangling", &st));
    int dir = open("sub", O_RDONLY | O_DIRECTORY);
    CHECK(fstatat(dir, "moved.txt", &st, 0) == 0, "fstatat");
    show_stat("fstatat sub/moved.txt", &st);
    CHECK(fstatat(AT_FDCWD, "soft", &st, AT_SYMLINK_NOFOLLOW) == 0, "fstatat nofollow");
    show_stat("fstatat soft nofollow", &st);
    CHECK(mkdirat(dir, "deeper", 0700) == 0, "mkdirat");
    int file = openat(dir, "deeper/new", O_CREAT | O_WRONLY, 0600);
    printf("openat %s, fchmod %d\n", file >= 0 ? "ok" : "failed", fchmod(file, 0640));
    close(file);
    close(dir);
    chmod("hard", 0600);
    stat("sub/moved.txt", &st);
    show_stat("chmod through the other name", &st);
    printf("access: R %d W %d X %d missing %d\n", access("hard", R_OK), access("hard", W_OK),
           access("hard", X_OK) == 0, access("nothing", F_OK));
    list_directory(".");
    list_directory("sub");
    show_result("rmdir non-empty", rmdir("sub"));
    show_result("unlink a directory", unlink("sub"));
    show_result("rmdir a file", rmdir("hard"));
    CHECK(unlink("sub/deeper/new") == 0 && rmdir("sub/deeper") == 0, "unlink, rmdir");
    CHECK(renameat2(AT_FDCWD, "hard", AT_FDCWD, "soft", 0) == 0, "rename over a symlink");
    stat("sub/moved.txt", &st);
    show_stat("after unlinking names", &st);
    CHECK(unlinkat(AT_FDCWD, "sub", AT_REMOVEDIR) == -1 && errno == ENOTEMPTY, "unlinkat non-empty");
    CHECK(unlink("sub/moved.txt") == 0, "unlink");
    CHECK(chdir("sub") == 0, "chdir");
    char cwd[4096];
    printf("getcwd ends in /sub: %d\n", getcwd(cwd, sizeof cwd) && strcmp(base_name(cwd), "sub") == 0);
    CHECK(chdir("..") == 0 && rmdir("sub") == 0, "rmdir");
    unlink("soft"), unlink("dangling");
    list_directory(".");
}

static void standard_io(void) {
    FILE *out = fopen("stdio.txt", "w");
    for (int i = 0; i < 100; i++) {
        fprintf(out, "line %d of %d\n", i, 100);
    }
    fclose(out);
    FILE *in = fopen("stdio.txt", "r");
    char line[64];
    int lines = 0;
    long sum = 0;
    while (fgets(line, sizeof line, in)) {
        lines++;
        sum += atoi(line + 5);
    }
    printf("stdio: %d lines, sum %ld, ftell %ld\n", lines, sum, ftell(in));
    fclose(in);
    unlink("stdio.txt");
}

int main(int argc, char **argv) {
    if (argc != 2 || chdir(argv[1]) != 0) {
        fprintf(stderr, "usage: files EMPTY-DIRECTORY\n");
        return 2;
    }
    umask(022);
    read_write();
    descriptors();
    names();
    standard_io();
    return guest_status();
}
