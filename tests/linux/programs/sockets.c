/* Sockets: a socketpair, and a TCP connection to itself over 127.0.0.1 (listen, connect, accept). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
    int pair[2];
    printf("socketpair: %d\n", socketpair(AF_UNIX, SOCK_STREAM, 0, pair));
    printf("send: %zd\n", send(pair[0], "over a pair", 11, 0));
    char buf[64] = {0};
    printf("recv: %zd [%s]\n", recv(pair[1], buf, sizeof buf, 0), buf);

    int server = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    printf("bind: %d\n", bind(server, (struct sockaddr *)&addr, sizeof addr));
    printf("listen: %d\n", listen(server, 1));
    socklen_t len = sizeof addr;
    printf("getsockname: %d len=%u port set=%d\n", getsockname(server, (struct sockaddr *)&addr, &len), len,
           addr.sin_port != 0);
    int client = socket(AF_INET, SOCK_STREAM, 0);
    printf("connect: %d\n", connect(client, (struct sockaddr *)&addr, sizeof addr));
    struct sockaddr_in peer;
    socklen_t peer_len = sizeof peer;
    int conn = accept(server, (struct sockaddr *)&peer, &peer_len);
    printf("accept: %d len=%u family=%d loopback=%d\n", conn >= 0, peer_len, peer.sin_family,
           peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    int type;
    socklen_t type_len = sizeof type;
    printf("getsockopt: %d type=%d len=%u\n", getsockopt(conn, SOL_SOCKET, SO_TYPE, &type, &type_len), type,
           type_len);
    printf("sendto: %zd\n", sendto(client, "over tcp", 8, 0, NULL, 0));
    memset(buf, 0, sizeof buf);
    struct sockaddr_in from;
    socklen_t from_len = sizeof from;
    printf("recvfrom: %zd [%s]\n", recvfrom(conn, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len), buf);
    printf("getpeername: %d\n", getpeername(client, (struct sockaddr *)&peer, &peer_len));
    printf("shutdown: %d\n", shutdown(client, SHUT_WR));
    printf("eof: %zd\n", read(conn, buf, sizeof buf));
    return 0;
}
