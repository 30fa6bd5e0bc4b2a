# tests for acemq_broker_topics
