# Fuzz targets for acemq_app: the configuration loader (TOML text from an operator's file, every
# setting's parser including the auth.* keys handed to acemq_auth and the [ace] section), then
# the cross-field checks. Seed corpus: fuzz/corpus/net_config/ (etc/acemq-broker.toml and
# variants).
acemq_add_fuzzer(fuzz_net_config SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/net_config.cpp
                 LIBS acemq::app_config)
