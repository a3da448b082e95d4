#include "api/request_target.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace sw {

Result<RequestTarget> ParseRequestTarget(std::string_view target) {
  const bool origin_form = !target.empty() && target.front() == '/';
  boost::system::result<boost::urls::url_view> parsed =
      origin_form ? boost::urls::parse_origin_form(target)
                  : boost::urls::parse_absolute_uri(target);
  // Boost.URL 1.81 takes "http://host:8o" as port 8 and path "o": a path right after
  // the authority must start with "/".
  const bool absolute_http =
      parsed && parsed->has_authority() &&
      (parsed->scheme_id() == boost::urls::scheme::http ||
       parsed->scheme_id() == boost::urls::scheme::https) &&
      (parsed->encoded_path().empty() || parsed->encoded_path().front() == '/');
  if (!parsed || (!origin_form && !absolute_http)) {
    return InvalidArgument(
        "Malformed request target: expected a path and query with valid percent-encoding");
  }
  RequestTarget out;
  out.path =
      parsed->encoded_path().empty() ? std::string(1, '/') : std::string(parsed->encoded_path());
  for (boost::urls::pct_string_view segment : parsed->encoded_segments()) {
    out.segments.push_back(segment.decode());
  }
  if (!out.segments.empty() && out.segments.back().empty()) {
    out.segments.pop_back();
  }
  for (boost::urls::param param : parsed->params()) {
    if (!param.key.empty()) {
      out.query[param.key] = param.value;
    }
  }
  return out;
}

}  // namespace sw
