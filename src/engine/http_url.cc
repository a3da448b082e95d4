#include "engine/http_url.h"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cstring>
#include <string>
#include <vector>

namespace sw {

namespace {

constexpr size_t kMaxUrlLength = 8192;

Status InvalidUrl(std::string_view url, std::string_view why) {
  return Status(StatusCode::kInvalidArgument,
                "invalid url \"" + std::string(url.substr(0, 200)) + "\": " + std::string(why),
                "invalid_url");
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

Result<uint16_t> ParsePort(std::string_view url, std::string_view text, bool https) {
  if (text.empty()) {
    return static_cast<uint16_t>(https ? 443 : 80);
  }
  if (text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidUrl(url, "bad port");
  }
  int port = std::stoi(std::string(text));
  if (port < 1 || port > 65535) {
    return InvalidUrl(url, "port out of range");
  }
  return static_cast<uint16_t>(port);
}

// Length and characters, checked before parsing: a URL is ASCII without spaces.
Status CheckUrlText(std::string_view text) {
  if (text.size() > kMaxUrlLength) {
    return InvalidUrl(text, "longer than " + std::to_string(kMaxUrlLength) + " characters");
  }
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return InvalidUrl(text, "spaces, control and non-ASCII characters must be percent-encoded");
    }
  }
  return Status::Ok();
}

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// `text` (a URL or a relative reference) without its fragment, which is never sent,
// and with the printable characters RFC 3986 allows nowhere after the authority
// ("|", "[", "]", "{", "}", '"', "<", ">", "\", "^", "`", and a "%" not followed by
// two hex digits) percent-encoded there: servers commonly take them, and the server
// decodes them to the same characters.
std::string PrepareReference(std::string_view text) {
  text = text.substr(0, text.find('#'));
  size_t path_start = 0;
  const size_t scheme_end = text.find("://");
  if (scheme_end != std::string_view::npos && scheme_end < text.find_first_of("/?")) {
    path_start = text.find_first_of("/?", scheme_end + 3);
  } else if (text.substr(0, 2) == "//") {
    path_start = text.find_first_of("/?", 2);
  }
  if (path_start == std::string_view::npos) {
    return std::string(text);
  }
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out(text.substr(0, path_start));
  for (size_t i = path_start; i < text.size(); ++i) {
    const char c = text[i];
    const bool stray_percent =
        c == '%' && (i + 2 >= text.size() || !IsHexDigit(text[i + 1]) || !IsHexDigit(text[i + 2]));
    if (stray_percent || (c != '\0' && std::strchr("|[]{}\"<>\\^`", c) != nullptr)) {
      out += '%';
      out += kHex[static_cast<unsigned char>(c) >> 4];
      out += kHex[c & 0xF];
    } else {
      out += c;
    }
  }
  return out;
}

// After an authority the path is empty or starts with "/". Boost.URL 1.81 takes
// "http://host:8o/" as port 8 and path "o/"; RFC 3986 does not.
bool HasValidPath(boost::urls::url_view url) {
  return !url.has_authority() || url.encoded_path().empty() || url.encoded_path().front() == '/';
}

// The path with RFC 3986's dot segments removed (section 5.2.4): "." goes, ".." takes
// the segment before it (none above the root), also when percent-encoded ("%2E%2E").
// Built as text: Boost.URL 1.81's set_encoded_path writes "/" as "/./".
std::string PathWithoutDotSegments(boost::urls::url_view url) {
  std::vector<std::string_view> kept;
  bool ends_as_directory = false;
  for (boost::urls::pct_string_view segment : url.encoded_segments()) {
    const std::string decoded = segment.decode();
    if (decoded == "." || decoded == "..") {
      if (decoded == ".." && !kept.empty()) {
        kept.pop_back();
      }
      ends_as_directory = true;
      continue;
    }
    kept.push_back(segment);
    ends_as_directory = false;
  }
  if (ends_as_directory) {
    kept.emplace_back();
  }
  std::string path;
  for (std::string_view segment : kept) {
    path += "/";
    path += segment;
  }
  return path.empty() && !url.encoded_path().empty() ? "/" : path;
}

// Fills host, ipv6_literal and port from the parsed URL's authority.
Status ReadAuthority(std::string_view text, const boost::urls::url& parsed, HttpUrl& out) {
  if (parsed.has_userinfo()) {
    return InvalidUrl(text, "credentials in the url are not supported");
  }
  if (parsed.encoded_host().empty()) {
    return InvalidUrl(text, "missing host");
  }
  switch (parsed.host_type()) {
    case boost::urls::host_type::ipv6:
      out.host = Lower(parsed.host_address());
      out.ipv6_literal = true;
      break;
    case boost::urls::host_type::ipv4:
      out.host = parsed.host_address();
      break;
    case boost::urls::host_type::name:
      out.host = Lower(parsed.encoded_host());
      if (!std::all_of(out.host.begin(), out.host.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                   c == '_';
          })) {
        return InvalidUrl(text, "bad host");
      }
      break;
    default:
      return InvalidUrl(text, "bad host");
  }
  Result<uint16_t> port = ParsePort(text, parsed.port(), out.https);
  if (!port.ok()) {
    return port.status();
  }
  out.port = *port;
  return Status::Ok();
}

// RFC 3986 section 5.2.2 on Boost.URL's components, as text (the dot segments are
// ParseHttpUrl's). Boost.URL 1.81's own resolve decodes "%2F" in a merged path into
// "/" and keeps ".." above the root.
std::string Resolve(boost::urls::url_view base, boost::urls::url_view reference) {
  if (reference.has_scheme()) {
    return std::string(reference.buffer());
  }
  std::string out = std::string(base.scheme()) + ":";
  if (reference.has_authority()) {
    return out + std::string(reference.buffer());
  }
  out += "//";
  out += base.encoded_authority();
  const std::string_view base_path = base.encoded_path();
  std::string_view query = reference.encoded_query();
  if (reference.encoded_path().empty()) {
    out += base_path;
    if (!reference.has_query()) {
      query = base.encoded_query();
    }
  } else if (reference.is_path_absolute()) {
    out += reference.encoded_path();
  } else {
    // Merge: the reference replaces the base path's last segment.
    out += base_path.empty() ? "/" : base_path.substr(0, base_path.rfind('/') + 1);
    out += reference.encoded_path();
  }
  if (reference.has_query() || (reference.encoded_path().empty() && base.has_query())) {
    out += "?";
    out += query;
  }
  return out;
}

}  // namespace

Result<HttpUrl> ParseHttpUrl(std::string_view text) {
  if (Status s = CheckUrlText(text); !s.ok()) {
    return s;
  }
  const std::string prepared = PrepareReference(text);
  boost::system::result<boost::urls::url_view> parsed = boost::urls::parse_uri(prepared);
  if (!parsed || !parsed->has_authority() || !HasValidPath(*parsed)) {
    return InvalidUrl(text, "expected http:// or https://");
  }
  const boost::urls::scheme scheme = parsed->scheme_id();
  if (scheme != boost::urls::scheme::http && scheme != boost::urls::scheme::https) {
    return InvalidUrl(text, "scheme must be http or https");
  }
  const std::string path = PathWithoutDotSegments(*parsed);
  const std::string query = parsed->has_query() ? "?" + std::string(parsed->encoded_query()) : "";
  const std::string normalized_text = std::string(parsed->scheme()) + "://" +
                                      std::string(parsed->encoded_authority()) + path + query;
  boost::system::result<boost::urls::url_view> normalized = boost::urls::parse_uri(normalized_text);
  if (!normalized) {
    return InvalidUrl(text, "expected http:// or https://");
  }
  HttpUrl url;
  url.https = scheme == boost::urls::scheme::https;
  url.reference = *normalized;
  if (Status s = ReadAuthority(text, url.reference, url); !s.ok()) {
    return s;
  }
  url.target = (path.empty() ? "/" : path) + query;
  return url;
}

Result<HttpUrl> ResolveRedirect(const HttpUrl& base, std::string_view location) {
  if (Status s = CheckUrlText(location); !s.ok()) {
    return s;
  }
  const std::string prepared = PrepareReference(location);
  boost::system::result<boost::urls::url_view> reference =
      boost::urls::parse_uri_reference(prepared);
  if (!reference || !HasValidPath(*reference)) {
    return InvalidUrl(location, "not a URL or a relative reference");
  }
  return ParseHttpUrl(Resolve(base.reference, *reference));
}

}  // namespace sw
