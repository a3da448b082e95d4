// The request target of an HTTP request (RFC 9112 section 3.2), parsed with Boost.URL:
// origin-form ("/api/v1/runs?limit=5"), or absolute-form ("http://host/api/v1/runs")
// of which only the path and query count. The path is split on its "/" first and each
// segment is percent-decoded on its own, so "%2F" stays inside its segment and "+" is
// a plus; in the query, "+" is a space. A malformed target (a character outside RFC
// 3986's grammar, a "%" not followed by two hex digits, a fragment) is an error.
//
// Pure functions; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sw {

struct RequestTarget {
  std::string path;  // percent-encoded, as sent
  // The path's segments, each decoded; "/" is none, and a trailing "/" adds no empty
  // segment ("/api/v1/runs/" is the same path as "/api/v1/runs").
  std::vector<std::string> segments;
  // Decoded names and values; a name without "=" has the value ""; an empty name is
  // dropped; of repeated names the last counts.
  std::map<std::string, std::string> query;
};

// kInvalidArgument (reason invalid_request) when `target` is malformed.
Result<RequestTarget> ParseRequestTarget(std::string_view target);

}  // namespace sw
