# tests for acemq_token_crypto
