#include "api/router.h"

#include "core/result.h"

namespace sw {

namespace {

bool IsParam(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

void Router::Add(Route route) {
  SW_CHECK(!route.pattern.empty() && route.pattern.front() == '/');
  Entry entry;
  std::string_view rest = std::string_view(route.pattern).substr(1);
  while (true) {
    const size_t slash = rest.find('/');
    const std::string_view text = rest.substr(0, slash);
    SW_CHECK(!text.empty());
    if (IsParam(text)) {
      entry.segments.push_back({std::string(text.substr(1, text.size() - 2)), true});
    } else {
      SW_CHECK(text.find_first_of("{}") == std::string_view::npos);
      entry.segments.push_back({std::string(text), false});
    }
    if (slash == std::string_view::npos) {
      break;
    }
    rest = rest.substr(slash + 1);
  }
  for (const Entry& other : entries_) {
    SW_CHECK(other.route.method != route.method || other.route.pattern != route.pattern);
  }
  entry.route = std::move(route);
  entries_.push_back(std::move(entry));
}

std::optional<std::vector<bool>> Router::Specificity(const Entry& entry,
                                                     const std::vector<std::string>& path) {
  if (entry.segments.size() != path.size()) {
    return std::nullopt;
  }
  std::vector<bool> literal(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    const Segment& segment = entry.segments[i];
    if (segment.param ? path[i].empty() : segment.text != path[i]) {
      return std::nullopt;
    }
    literal[i] = !segment.param;
  }
  return literal;
}

RouteMatch Router::Match(std::string_view method, const std::vector<std::string>& segments) const {
  const Entry* best_found = nullptr;
  const Entry* best_path = nullptr;
  std::vector<bool> found_rank;
  std::vector<bool> path_rank;
  for (const Entry& entry : entries_) {
    std::optional<std::vector<bool>> rank = Specificity(entry, segments);
    if (!rank) {
      continue;
    }
    if (best_path == nullptr || *rank > path_rank) {
      best_path = &entry;
      path_rank = *rank;
    }
    if (entry.route.method == method && (best_found == nullptr || *rank > found_rank)) {
      best_found = &entry;
      found_rank = *rank;
    }
  }
  RouteMatch match;
  if (best_found != nullptr) {
    match.outcome = RouteMatch::Outcome::kFound;
    match.route = &best_found->route;
    for (size_t i = 0; i < segments.size(); ++i) {
      if (best_found->segments[i].param) {
        match.params.emplace_back(best_found->segments[i].text, segments[i]);
      }
    }
  } else if (best_path != nullptr) {
    match.outcome = RouteMatch::Outcome::kMethodNotAllowed;
    match.route = &best_path->route;
  }
  return match;
}

}  // namespace sw
