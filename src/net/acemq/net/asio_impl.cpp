// Boost.Asio, Boost.Asio SSL and Boost.Beast compiled once for the whole program. The
// BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION definitions are public
// definitions of acemq_asio, so every translation unit that includes these libraries sees them.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
