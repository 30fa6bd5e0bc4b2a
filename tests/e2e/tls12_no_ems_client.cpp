// A TLS 1.2 client that does not offer the Extended Master Secret extension (RFC 7627), used to
// check that the broker refuses such sessions (the ACE exporter binding needs EMS).
//
//   e2e_tls12_no_ems_client <port> <ca.pem>
// Exit codes: 0 = the handshake completed and the server then closed the connection;
// 1 = the server kept the session open (waiting for CONNECT, so our read timed out, or it sent
// something); 2 = setup or handshake failure.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <port> <ca.pem>\n", argv[0]);
    return 2;
  }
  const int port = std::atoi(argv[1]);
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(context, TLS1_2_VERSION);
  SSL_CTX_set_options(context, SSL_OP_NO_EXTENDED_MASTER_SECRET);
  if (SSL_CTX_load_verify_locations(context, argv[2], nullptr) != 1) return 2;
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);

  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  // A server that accepted the session waits for CONNECT (its connect timeout is longer than
  // this), so a read that times out means "not refused".
  timeval limit{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return 2;

  SSL* session = SSL_new(context);
  SSL_set_fd(session, fd);
  if (SSL_connect(session) != 1) {
    ERR_print_errors_fp(stderr);
    return 2;
  }
  std::printf("handshake: %s, extended master secret: %ld\n", SSL_get_version(session),
              SSL_get_extms_support(session));
  unsigned char byte = 0;
  const int read = SSL_read(session, &byte, 1);
  const int error = SSL_get_error(session, read);
  const bool timed_out = error == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK);
  std::printf("read: %d, error: %d%s\n", read, error, timed_out ? " (timed out)" : "");
  SSL_free(session);
  close(fd);
  SSL_CTX_free(context);
  return read > 0 || timed_out ? 1 : 0;
}
