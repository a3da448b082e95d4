// The HTTP vocabulary between the server (Boost.Beast, in http_server.cc only) and the
// handlers: a parsed Request, a Response, and an Exchange through which a handler
// answers, now or later (long-polls), or streams (Server-Sent Events).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sw {

// A request as the server read it. The target is parsed by ParseRequestTarget
// (api/request_target.h): when it is malformed, `target_error` says why and `path`,
// `segments` and `query` are empty.
struct Request {
  std::string method;
  std::string path;                          // percent-encoded, as sent, without the query
  std::vector<std::string> segments;         // the path's segments, each decoded on its own
  std::map<std::string, std::string> query;  // decoded ("+" is a space)
  std::string target_error;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// One request and its answer. Thread-safe: Respond, Post, After and the stream
// calls may come from any thread; the exchange serialises them on its connection.
// Shared by the connection and whoever answers later.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual const Request& request() const = 0;
  // Answers the request (at once when called on the connection's thread). Only the
  // first call counts.
  virtual void Respond(Response response) = 0;
  // Runs `fn` on the connection's thread, later (to hand off from another thread, or
  // from under a lock).
  virtual void Post(std::function<void()> fn) = 0;
  // Runs `fn` now when called on the connection's thread (holding no lock that `fn`
  // may take), else like Post.
  virtual void Dispatch(std::function<void()> fn) = 0;
  // Runs `fn` on the connection's thread after `ms` milliseconds, or earlier when the
  // connection closes (so it can let go of what it holds): `fn` checks Done().
  virtual void After(int64_t ms, std::function<void()> fn) = 0;
  // Streaming: sends the head (no Content-Length; the connection closes at the end),
  // then chunks, then ends.
  virtual void StartStream(Response head) = 0;
  virtual void Send(std::string chunk) = 0;
  virtual void EndStream() = 0;
  // True once the client went away or the response/stream was finished.
  virtual bool Done() const = 0;
};

using Handler = std::function<void(std::shared_ptr<Exchange>)>;

}  // namespace sw
