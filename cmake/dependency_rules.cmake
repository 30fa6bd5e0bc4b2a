# The dependency rule of the network layer, checked once every target is defined: acemq_net
# drives sockets for the broker and knows the broker, the MQTT codec and the common helpers, plus
# the system libraries it is written against. The program's assembly (configuration, the
# authentication providers, ACE) depends on it, never the other way round (docs/architecture.md).
set(ACEMQ_NET_ALLOWED_LINKS
    acemq::asio acemq::broker acemq::mqtt acemq::common OpenSSL::SSL OpenSSL::Crypto
    Boost::headers Threads::Threads spdlog::spdlog fmt::fmt)

function(acemq_check_net_links)
  get_target_property(links acemq_net LINK_LIBRARIES)
  set(offenders "")
  foreach(library IN LISTS links)
    if(NOT library IN_LIST ACEMQ_NET_ALLOWED_LINKS)
      list(APPEND offenders "${library}")
    endif()
  endforeach()
  if(offenders)
    list(JOIN ACEMQ_NET_ALLOWED_LINKS ", " allowed)
    message(FATAL_ERROR "acemq_net links ${offenders}; it may link only ${allowed} "
                        "(see cmake/dependency_rules.cmake)")
  endif()
endfunction()
