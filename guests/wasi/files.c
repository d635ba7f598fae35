/* WASI file I/O: create, write, read, seek/tell, pread/pwrite, truncate, fstat, fdstat flags, renumber. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

static void report(const char *what, long long result) {
    printf("%-24s %lld errno %d\n", what, result, result < 0 ? errno : 0);
    errno = 0;
}

int main(void) {
    char buf[64] = {0};
    int fd = open("data.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    report("open", fd < 0 ? -1 : 0);
    report("write", write(fd, "hello, world\n", 13));
    report("tell", lseek(fd, 0, SEEK_CUR));
    report("seek set", lseek(fd, 7, SEEK_SET));
    report("read", read(fd, buf, sizeof buf));
    printf("read back: %s", buf);
    report("seek end", lseek(fd, -6, SEEK_END));
    report("seek cur", lseek(fd, 2, SEEK_CUR));
    report("seek negative", lseek(fd, -100, SEEK_SET));
    report("pwrite", pwrite(fd, "HELLO", 5, 0));
    memset(buf, 0, sizeof buf);
    report("pread", pread(fd, buf, 5, 0));
    printf("pread: %s\n", buf);
    report("pread past end", pread(fd, buf, 5, 1000));
    report("tell after pread", lseek(fd, 0, SEEK_CUR));

    struct stat st;
    report("fstat", fstat(fd, &st));
    printf("size %lld regular %d nlink %d\n", (long long)st.st_size, S_ISREG(st.st_mode), (int)st.st_nlink);
    report("ftruncate", ftruncate(fd, 3));
    fstat(fd, &st);
    printf("size after truncate %lld\n", (long long)st.st_size);
    report("ftruncate grow", ftruncate(fd, 4096));
    fstat(fd, &st);
    printf("size after grow %lld\n", (long long)st.st_size);
    report("fsync", fsync(fd));
    report("fdatasync", fdatasync(fd));
    report("fadvise", -posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL));

    printf("getfl %x\n", fcntl(fd, F_GETFL));
    report("setfl append", fcntl(fd, F_SETFL, O_APPEND));
    printf("getfl %x\n", fcntl(fd, F_GETFL));
    lseek(fd, 0, SEEK_SET);
    report("append write", write(fd, "tail", 4));
    report("tell after append", lseek(fd, 0, SEEK_CUR));
    report("setfl nonblock", fcntl(fd, F_SETFL, O_NONBLOCK));
    printf("getfl %x\n", fcntl(fd, F_GETFL));
    report("setfl dsync", fcntl(fd, F_SETFL, O_DSYNC));

    struct timespec times[2] = {{1000000000, 5}, {1200000000, 700}};
    report("futimens", futimens(fd, times));
    fstat(fd, &st);
    printf("atime %lld.%09ld mtime %lld.%09ld\n", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);

    int ro = open("data.txt", O_RDONLY);
    printf("ro getfl %x\n", fcntl(ro, F_GETFL));
    report("write read-only", write(ro, "x", 1));
    report("ftruncate read-only", ftruncate(ro, 0));
    int wo = open("data.txt", O_WRONLY);
    printf("wo getfl %x\n", fcntl(wo, F_GETFL));
    report("read write-only", read(wo, buf, 1));

    report("renumber", -__wasi_fd_renumber(ro, wo));
    memset(buf, 0, sizeof buf);
    report("read renumbered", read(wo, buf, 5));
    printf("renumbered read: %s\n", buf);
    report("read closed source", read(ro, buf, 1));
    report("renumber to closed", -__wasi_fd_renumber(wo, 77));
    report("close", close(wo));
    report("close twice", close(wo));
    report("close", close(fd));
    report("lseek stdout", lseek(1, 0, SEEK_CUR));
    report("fallocate", -posix_fallocate(fd, 0, 10));
    report("unlink", unlink("data.txt"));
    report("open removed", open("data.txt", O_RDONLY));
    report("excl create", open("new.txt", O_WRONLY | O_CREAT | O_EXCL, 0644) >= 0 ? 0 : -1);
    report("excl again", open("new.txt", O_WRONLY | O_CREAT | O_EXCL, 0644));
    return 3;
}
