/* Path edge cases: O_TRUNC read-only, O_CREAT on a directory, O_NOFOLLOW|O_DIRECTORY on a symlink,
   renames onto and into directories, links and symlinks over existing names, trailing slashes and
   "x/.", a changed working directory. (unlink/rmdir of "link/" are left out: vmstack answers ENOTDIR
   where wasmtime answers EISDIR/EINVAL, never acting on the link's target.) */
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

/* prints the sign of a result (fds differ) and errno */
#define R(label, expr)                                                                              \
    do {                                                                                            \
        errno = 0;                                                                                  \
        long long result = (expr);                                                                  \
        printf("%-28s %d errno %d\n", label, result < 0 ? -1 : result > 0, result < 0 ? errno : 0); \
    } while (0)

int main(void) {
    struct stat st;
    char buf[32];
    int fd = open("f", O_WRONLY | O_CREAT, 0644);
    R("write", write(fd, "abc", 3));
    close(fd);
    mkdir("d", 0755);
    mkdir("e", 0755);
    close(open("e/x", O_CREAT | O_WRONLY, 0644));
    symlink("d", "ld");
    symlink("f", "lf");
    R("open trunc rdonly", open("f", O_RDONLY | O_TRUNC));
    stat("f", &st);
    printf("size %lld\n", (long long)st.st_size);
    R("open creat on dir", open("d", O_CREAT | O_WRONLY, 0644));
    R("open dir nofollow link", open("ld", O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
    R("open dir via link", open("ld", O_RDONLY | O_DIRECTORY));
    R("rename dir onto nonempty", rename("d", "e"));
    R("rename dir onto empty", rename("e", "d"));
    R("rename self", rename("f", "f"));
    R("rename into own child", rename("d", "d/sub"));
    R("link existing", link("f", "lf"));
    R("link dir", link("d", "d2"));
    R("symlink existing", symlink("x", "f"));
    R("readlink dir", readlink("d", buf, sizeof buf));
    R("mkdir on symlink", mkdir("ld", 0755));
    R("rmdir link", rmdir("ld"));
    R("stat file/.", stat("f/.", &st));
    R("stat lf/", stat("lf/", &st));
    R("stat d/./.", stat("d/./.", &st));
    R("open lf/ ", open("lf/", O_RDONLY));
    R("mkdir d/x/../y", mkdir("d/x/../y", 0755));
    R("access f W", access("f", W_OK));
    R("access missing", access("zz", F_OK));
    R("truncate path", truncate("f", 1));
    stat("f", &st);
    printf("size %lld\n", (long long)st.st_size);
    R("chdir", chdir("d"));
    R("open rel after chdir", open("x", O_CREAT | O_WRONLY, 0644));
    R("stat ../f", stat("../f", &st));
    R("open ../../f", open("../../f", O_RDONLY));
    return 0;
}
