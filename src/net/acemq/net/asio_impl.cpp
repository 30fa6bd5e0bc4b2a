// Boost.Asio and Boost.Asio SSL compiled once for the whole program
// (BOOST_ASIO_SEPARATE_COMPILATION is a public definition of acemq_net).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
