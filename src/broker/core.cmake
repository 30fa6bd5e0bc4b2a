# acemq_broker
