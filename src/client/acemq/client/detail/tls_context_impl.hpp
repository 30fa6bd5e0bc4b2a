#pragma once
// Internal: the Asio SSL context behind tls_context, shared by tls_context.cpp and client.cpp.

#include <acemq/client/tls_context.hpp>

#include <boost/asio/ssl/context.hpp>

namespace acemq::client {

struct tls_context::impl {
  // Asio's stream API takes a non-const context; it is only read after creation.
  mutable boost::asio::ssl::context context{boost::asio::ssl::context::tls_client};
  tls_options options;
};

}  // namespace acemq::client
