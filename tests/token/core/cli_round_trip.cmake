# Drives `acemq token` end to end: keygen (AS key, PoP key, broker key) -> sign -> inspect ->
# verify (success, then a wrong audience that must fail with its reason).
# Inputs: ACEMQ (the binary), FORMAT (jwt | cwt), WORK_DIR (scratch directory).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run_ok)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY ${WORK_DIR}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

run_ok(${ACEMQ} token keygen --type ed25519 --out as.pem --public-out as_pub.pem --kid as-1)
run_ok(${ACEMQ} token keygen --type symmetric --out pop.jwk --kid pop-1)
run_ok(${ACEMQ} token keygen --type symmetric --size 16 --out broker.jwk --kid broker-1)
run_ok(${ACEMQ} token keygen --type p256 --out p256.cose --kid p)
run_ok(${ACEMQ} token keygen --type rsa --out rsa.jwk)

string(TIMESTAMP now "%s" UTC)
math(EXPR exp "${now} + 3600")
file(READ ${WORK_DIR}/pop.jwk pop_jwk)
string(STRIP "${pop_jwk}" pop_jwk)
file(WRITE ${WORK_DIR}/claims.json
  "{\"iss\":\"as\",\"aud\":\"broker\",\"iat\":${now},\"exp\":${exp},"
  "\"scope\":[[\"sensors/+\",[\"pub\"]],[\"cmd/#\",[\"sub\"]]],\"ace_profile\":\"mqtt_tls\","
  "\"cnf\":{\"jwk\":${pop_jwk}}}")

run_ok(${ACEMQ} token sign --claims claims.json --key as.pem --format ${FORMAT}
  --encrypt-cnf-to broker.jwk --out token.txt)
file(READ ${WORK_DIR}/token.txt token)
string(STRIP "${token}" token)

run_ok(${ACEMQ} token inspect ${token})
if(NOT last_output MATCHES "NOT VERIFIED")
  message(FATAL_ERROR "inspect did not print the NOT VERIFIED banner:\n${last_output}")
endif()

run_ok(${ACEMQ} token verify ${token} --key as_pub.pem --decrypt-key broker.jwk
  --audience broker --issuer as)
if(NOT last_output MATCHES "\"iss\":\"as\"" OR NOT last_output MATCHES "encrypted_key")
  message(FATAL_ERROR "verify printed unexpected claims:\n${last_output}")
endif()

execute_process(COMMAND ${ACEMQ} token verify ${token} --key as_pub.pem --decrypt-key broker.jwk
    --audience someone-else
  WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "verify accepted a token for another audience")
endif()
if(NOT err MATCHES "wrong_audience")
  message(FATAL_ERROR "verify did not give the reason:\n${err}")
endif()

execute_process(COMMAND ${ACEMQ} token verify ${token} --key as_pub.pem --decrypt-key broker.jwk
    --audience broker --now 1
  WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "issued_in_future")
  message(FATAL_ERROR "verify in the past: rc=${rc}\n${err}")
endif()
