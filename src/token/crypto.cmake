# acemq_token_crypto: written by its module owner
