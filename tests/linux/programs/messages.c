/* sendmsg/recvmsg over a Unix socket pair: gathered and scattered data, and a descriptor passed
   with SCM_RIGHTS that the receiver then reads from. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void) {
    int sv[2], p[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(p);
    write(p[1], "via a passed fd", 15);
    struct iovec out[2] = {{"gathered ", 9}, {"message", 7}};
    char control[CMSG_SPACE(sizeof(int))];
    memset(control, 0, sizeof control);
    struct msghdr msg = {.msg_iov = out, .msg_iovlen = 2, .msg_control = control,
                         .msg_controllen = sizeof control};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &p[0], sizeof(int));
    printf("sendmsg: %zd\n", sendmsg(sv[0], &msg, 0));

    char a[5] = {0}, b[32] = {0}, received[CMSG_SPACE(sizeof(int))];
    struct iovec in[2] = {{a, 4}, {b, sizeof b - 1}};
    struct msghdr got = {.msg_iov = in, .msg_iovlen = 2, .msg_control = received,
                         .msg_controllen = sizeof received};
    printf("recvmsg: %zd [%s|%s] controllen=%zu\n", recvmsg(sv[1], &got, 0), a, b, (size_t)got.msg_controllen);
    struct cmsghdr *r = CMSG_FIRSTHDR(&got);
    int fd = -1;
    if (r && r->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(r), sizeof fd);
    char text[32] = {0};
    printf("passed fd: new=%d read=%zd [%s]\n", fd != p[0] && fd >= 0, read(fd, text, sizeof text - 1), text);
    return 0;
}
