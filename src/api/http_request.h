// How the server reads a request off a connection: Beast's parser with the server's
// limits, and the Request (http_types.h) the parsed message becomes for the handlers.
// Apart from http_server.cc so that the fuzz target http_request reads bytes exactly
// as a connection does.
//
// Includes Boost.Beast's HTTP headers: include it only where Beast is used already.
#pragma once

#include <boost/beast/http.hpp>
#include <cstddef>

#include "api/http_types.h"

namespace sw {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// The most a request's line and headers may take.
inline constexpr size_t kMaxHeaderBytes = 64 * 1024;

// Sets `parser`'s limits: the headers' kMaxHeaderBytes and a body of `max_body` bytes
// (more is http::error::body_limit, which the server answers 413).
void LimitRequestParser(RequestParser& parser, size_t max_body);

// The handlers' view of a parsed request: its target parsed (ParseRequestTarget; a
// malformed one leaves `target_error`), header names lower-cased, the body.
Request ToRequest(const boost::beast::http::request<boost::beast::http::string_body>& msg);

}  // namespace sw
