// Router is the API's route table: each route is a method, a path pattern and what
// answers it. A pattern is "/"-separated segments, each a literal or a `{name}`
// parameter that matches one whole, non-empty segment of the request's path
// ("/api/v1/runs/{run_id}/pause"). Paths are matched as decoded segments, so a
// parameter may hold a "/" (sent as %2F) and never spans two segments.
//
// Match answers the route for a method and path, or why there is none: no route has
// the path (404), or routes have the path but not the method (405). When several
// patterns match a path, the one with a literal where the others have a parameter, at
// the first segment where they differ, wins.
//
// Not thread-safe while routes are added; Match is const and safe from any thread
// once they are.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/records.h"

namespace sw {

struct ApiContext;
struct Call;

using RouteHandler = void (*)(ApiContext& api, Call& call);

struct Route {
  std::string method;   // "GET", "POST", ...: exactly as sent
  std::string pattern;  // "/api/v1/runs/{run_id}"
  // The least role a token needs; nullopt: public (no token is read).
  std::optional<Role> role;
  RouteHandler handler = nullptr;
  // Where the handler runs (Api::Run). A GET reads and runs on the connection's I/O
  // thread; so does a change whose handler answers from a completion without waiting
  // (true here). Any other change waits for its commit: while the store's writer is
  // busy, on the API's pool of threads that may wait, so the I/O thread serves its
  // other connections meanwhile.
  bool answers_without_waiting = false;
};

// The parameters of a matched pattern, decoded, in pattern order.
using PathParams = std::vector<std::pair<std::string, std::string>>;

struct RouteMatch {
  enum class Outcome { kFound, kNoRoute, kMethodNotAllowed };
  Outcome outcome = Outcome::kNoRoute;
  // kFound: the route. kMethodNotAllowed: the best route with the path (another method).
  const Route* route = nullptr;
  PathParams params;  // kFound only
};

class Router {
 public:
  // REQUIRES: a pattern of "/"-separated non-empty segments, each a literal or a
  // `{name}`; no other route with the same method and the same pattern.
  void Add(Route route);
  RouteMatch Match(std::string_view method, const std::vector<std::string>& segments) const;

 private:
  struct Segment {
    std::string text;  // the literal, or the parameter's name
    bool param = false;
  };
  struct Entry {
    Route route;
    std::vector<Segment> segments;
  };

  // Whether `entry` matches `path`, and then how closely: one flag per segment, true
  // for a literal (compared lexicographically: greater is more specific).
  static std::optional<std::vector<bool>> Specificity(const Entry& entry,
                                                      const std::vector<std::string>& path);

  std::vector<Entry> entries_;
};

}  // namespace sw
