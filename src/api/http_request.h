// How the server reads a request off a connection: Beast's parser with the server's
// limits, fed what the connection has read, and the Request (http_types.h) the parsed
// message becomes for the handlers; and the bytes of an answer. Apart from
// http_server.cc so that the fuzz target http_request reads bytes exactly as a
// connection does, and the answer's bytes can be tested alone.
//
// Includes Boost.Beast's HTTP headers: include it only where Beast is used already.
#pragma once

#include <boost/beast/http.hpp>
#include <cstddef>
#include <string>
#include <string_view>

#include "api/http_types.h"

namespace sw {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// The most a request's line and headers may take.
inline constexpr size_t kMaxHeaderBytes = 64 * 1024;

// Sets `parser`'s limits: the headers' kMaxHeaderBytes and a body of `max_body` bytes
// (more is http::error::body_limit, which the server answers 413).
void LimitRequestParser(RequestParser& parser, size_t max_body);

// Feeds `bytes` (what the connection has read and not used yet) to `parser` until the
// request is whole or its next part has not arrived; returns how many bytes it used. An
// unfinished header uses none: it is offered again, whole, with the next read's bytes.
// `ec` is set for a malformed request or one over a limit, not for a request still
// arriving (the parser is not done).
size_t FeedRequestParser(RequestParser& parser, std::string_view bytes,
                         boost::beast::error_code& ec);

// The handlers' view of a parsed request: its target parsed (ParseRequestTarget; a
// malformed one leaves `target_error`), header names lower-cased, the body.
Request ToRequest(const boost::beast::http::request<boost::beast::http::string_body>& msg);

// An answer as the bytes written to the connection, in one piece: the status line,
// `Content-Type` (unless a 204 has no body), the handler's headers, `Content-Length`
// (none for 1xx, 204 and 304, which have no body), `Connection: close` when the
// connection ends after it, and the body.
std::string ResponseBytes(const Response& response, bool keep_alive);

}  // namespace sw
