#pragma once
// The one application/x-www-form-urlencoded encoder (RFC 6749 appendix B, WHATWG URL 5.2), used
// for OAuth form bodies and for the client credentials of HTTP Basic authentication (RFC 6749
// 2.3.1 form-encodes the client id and secret before base64).

#include <string>
#include <string_view>

namespace acemq {

/// Encodes one name or value: the RFC 3986 unreserved characters (ALPHA, DIGIT, "-", ".", "_",
/// "~") stay, every other byte becomes "%XX" with upper-case hex, a space included ("%20", not
/// "+"). Every form decoder reads this back unchanged (WHATWG URL 5.1 percent-decodes any byte).
std::string form_encode(std::string_view text);

/// The value of an `Authorization` header for HTTP Basic client authentication:
/// `Basic base64(form_encode(client_id) ":" form_encode(client_secret))`. RFC 6749 2.3.1 encodes
/// both before base64 (an authorization server form-decodes them), so a secret holding "%", "+",
/// ":" or a space reaches it unchanged. The result contains the secret: never log it.
std::string basic_authorization(std::string_view client_id, std::string_view client_secret);

}  // namespace acemq
