# tests for acemq_broker
