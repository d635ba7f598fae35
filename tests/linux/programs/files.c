/* Files and directories: every call's result printed, so a difference from qemu-riscv64 shows. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static int by_name(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

int main(void) {
    char dir[] = "/tmp/vmstack-files-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    if (chdir(dir) != 0) return 2;
    char cwd[4096];
    printf("getcwd matches: %d\n", strcmp(getcwd(cwd, sizeof cwd), dir) == 0);

    int fd = openat(AT_FDCWD, "a.txt", O_CREAT | O_RDWR | O_TRUNC, 0640);
    printf("open fd: %d\n", fd);
    printf("write: %zd\n", write(fd, "hello, file\n", 12));
    struct iovec iov[2] = {{"second ", 7}, {"line\n", 5}};
    printf("writev: %zd\n", writev(fd, iov, 2));
    printf("lseek end: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    printf("lseek set: %ld\n", (long)lseek(fd, 0, SEEK_SET));
    char buf[64] = {0};
    printf("read: %zd [%.*s]\n", read(fd, buf, 5), 5, buf);
    char a[4] = {0}, b[8] = {0};
    struct iovec riov[2] = {{a, 3}, {b, 7}};
    printf("readv: %zd [%s|%s]\n", readv(fd, riov, 2), a, b);
    memset(buf, 0, sizeof buf);
    printf("pread: %zd [%s]\n", pread(fd, buf, 6, 12), buf);
    printf("pwrite: %zd\n", pwrite(fd, "SECOND", 6, 12));
    struct stat st;
    printf("fstat: %d size=%ld mode=%o nlink=%ld\n", fstat(fd, &st), (long)st.st_size, st.st_mode & 07777,
           (long)st.st_nlink);
    printf("ftruncate: %d\n", ftruncate(fd, 5));
    printf("fsync: %d\n", fsync(fd));
    printf("fchmod: %d\n", fchmod(fd, 0600));
    printf("stat: %d size=%ld mode=%o reg=%d\n", stat("a.txt", &st), (long)st.st_size, st.st_mode & 07777,
           S_ISREG(st.st_mode));
    struct statx sx;
    printf("statx: %d size=%llu\n", statx(AT_FDCWD, "a.txt", 0, STATX_SIZE, &sx), (unsigned long long)sx.stx_size);
    printf("fcntl getfl: %o\n", fcntl(fd, F_GETFL) & O_ACCMODE);
    printf("fcntl cloexec: %d %d\n", fcntl(fd, F_SETFD, FD_CLOEXEC), fcntl(fd, F_GETFD));
    int d = dup(fd);
    printf("dup: %d\n", d);
    printf("dup3: %d\n", dup3(fd, 10, O_CLOEXEC));
    printf("close: %d %d %d\n", close(d), close(10), close(fd));
    printf("close again: %d errno=%d\n", close(fd), errno);

    printf("mkdir: %d\n", mkdir("sub", 0755));
    printf("mkdir again: %d errno=%d\n", mkdir("sub", 0755), errno);
    printf("symlink: %d\n", symlink("a.txt", "link"));
    char target[64] = {0};
    printf("readlink: %zd [%s]\n", readlink("link", target, sizeof target), target);
    printf("lstat link: %d\n", lstat("link", &st) == 0 && S_ISLNK(st.st_mode));
    printf("link: %d\n", link("a.txt", "hard"));
    printf("rename: %d\n", rename("hard", "sub/moved"));
    printf("renameat2 noreplace: %d errno=%d\n", renameat2(AT_FDCWD, "link", AT_FDCWD, "a.txt", RENAME_NOREPLACE),
           errno);
    printf("access: %d %d\n", access("a.txt", R_OK), access("missing", F_OK));
    printf("faccessat: %d\n", faccessat(AT_FDCWD, "a.txt", W_OK, AT_EACCESS));
    DIR *dp = opendir(".");
    char *names[16];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp)) && n < 16) names[n++] = strdup(e->d_name);
    closedir(dp);
    qsort(names, n, sizeof *names, by_name);
    printf("readdir:");
    for (int i = 0; i < n; i++) printf(" %s", names[i]);
    printf("\n");
    int p[2];
    printf("pipe2: %d\n", pipe2(p, O_CLOEXEC));
    printf("pipe write: %zd\n", write(p[1], "through a pipe", 14));
    memset(buf, 0, sizeof buf);
    printf("pipe read: %zd [%s]\n", read(p[0], buf, sizeof buf), buf);
    close(p[0]);
    close(p[1]);
    struct winsize ws;
    int tty = open("a.txt", O_RDONLY);
    printf("ioctl on a file: %d errno=%d\n", ioctl(tty, TIOCGWINSZ, &ws), errno);
    close(tty);
    printf("open missing: %d errno=%d\n", open("missing", O_RDONLY), errno);
    char exe[4096] = {0};
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    printf("/proc/self/exe ends with the program: %d\n", len > 0 && strstr(exe, "files") != NULL);
    unsigned char head[20] = {0};
    int self = open("/proc/self/exe", O_RDONLY);
    printf("/proc/self/exe opens a riscv64 ELF: %d\n",
           read(self, head, sizeof head) == 20 && memcmp(head, "\177ELF", 4) == 0 && head[18] == 243);
    close(self);
    printf("unlink: %d %d %d\n", unlink("link"), unlink("a.txt"), unlink("sub/moved"));
    printf("rmdir: %d\n", rmdir("sub"));
    printf("chdir back: %d\n", chdir("/"));
    printf("rmdir top: %d\n", rmdir(dir));
    return 7;
}
