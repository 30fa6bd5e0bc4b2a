# acemq_token_core: written by its module owner
