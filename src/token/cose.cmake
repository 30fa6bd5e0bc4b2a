# acemq_token_cose: written by its module owner
