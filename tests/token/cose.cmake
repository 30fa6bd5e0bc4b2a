# tests for acemq_token_cose
