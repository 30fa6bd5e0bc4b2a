# tests for acemq_token_core
