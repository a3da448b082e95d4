// FakeHttpClient: an HttpClient for engine tests. Every request is recorded and stays
// in flight until the test completes it with Complete(), so a test decides exactly
// when (and whether) a step's result arrives. When a request's CancellationToken
// fires, the fake records that the cancel reached it and, unless told to ignore
// cancels, completes the request the way the real client does: kCancelled, message
// "request cancelled", api code "cancelled".
//
// Thread-safe. A request's `done` runs on the thread that completes it (the test's,
// or the one firing the token), never under the fake's lock, and at most once. The
// fake must outlive every Engine that sends through it.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "engine/cancellation.h"
#include "engine/http_client.h"

namespace sw::test {

class FakeHttpClient final : public HttpClient {
 public:
  // What the test can see of one request.
  struct Call {
    HttpRequest request;
    bool completed = false;
    bool cancel_seen = false;  // the request's token fired while it was recorded
    CancelReason cancel_reason = CancelReason::kNone;
    bool abandoned = false;  // its sender went away before it answered (AbandonInFlight)
  };

  static HttpResponse JsonResponse(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.headers = {{"content-type", "application/json"}};
    r.body = std::move(body);
    return r;
  }

  void Send(HttpRequest request, std::shared_ptr<CancellationToken> token,
            std::function<void(Result<HttpResponse>)> done) override {
    size_t index = 0;
    {
      std::lock_guard lock(mu_);
      index = entries_.size();
      entries_.push_back(Entry{Call{std::move(request)}, std::move(done), token});
    }
    // Runs at once when the token fired before the request got here.
    token->OnFire([this, index] { OnCancel(index); });
  }

  // Completes request `index` with `result`. False when it was already completed.
  bool Complete(size_t index, Result<HttpResponse> result) {
    std::function<void(Result<HttpResponse>)> done;
    {
      std::lock_guard lock(mu_);
      if (index >= entries_.size() || entries_[index].call.completed) {
        return false;
      }
      entries_[index].call.completed = true;
      done = std::move(entries_[index].done);
      entries_[index].done = nullptr;
    }
    done(std::move(result));
    return true;
  }

  // When true, a fired token is recorded but the request stays in flight (a result
  // that arrives although the step was cancelled).
  void set_ignore_cancel(bool ignore) {
    std::lock_guard lock(mu_);
    ignore_cancel_ = ignore;
  }

  // The process that sent the requests still in flight is gone (a crash): they never
  // answer. Each is marked completed and abandoned, and its `done` is destroyed
  // without being called, here, so call this while what the callbacks hold (the
  // engine that sent them) still exists. Answers how many were abandoned.
  size_t AbandonInFlight() {
    std::vector<std::function<void(Result<HttpResponse>)>> dropped;
    {
      std::lock_guard lock(mu_);
      for (Entry& e : entries_) {
        if (!e.call.completed) {
          e.call.completed = true;
          e.call.abandoned = true;
          dropped.push_back(std::move(e.done));
          e.done = nullptr;
        }
      }
    }
    return dropped.size();  // destroyed on return, outside the lock
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return entries_.size();
  }

  Call call(size_t index) const {
    std::lock_guard lock(mu_);
    return entries_.at(index).call;
  }

  // How many requests were sent to `url`.
  size_t CountFor(const std::string& url) const {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const Entry& e : entries_) {
      n += e.call.request.url == url ? 1 : 0;
    }
    return n;
  }

  // The index of the latest request to `url` that is still in flight.
  std::optional<size_t> InFlight(const std::string& url) const {
    std::lock_guard lock(mu_);
    for (size_t i = entries_.size(); i > 0; --i) {
      const Entry& e = entries_[i - 1];
      if (e.call.request.url == url && !e.call.completed) {
        return i - 1;
      }
    }
    return std::nullopt;
  }

 private:
  struct Entry {
    Call call;
    std::function<void(Result<HttpResponse>)> done;
    std::shared_ptr<CancellationToken> token;
  };

  void OnCancel(size_t index) {
    bool complete = false;
    {
      std::lock_guard lock(mu_);
      Entry& e = entries_.at(index);
      e.call.cancel_seen = true;
      e.call.cancel_reason = e.token->reason();
      complete = !ignore_cancel_ && !e.call.completed;
    }
    if (complete) {
      Complete(index, Status(StatusCode::kCancelled, "request cancelled", "cancelled"));
    }
  }

  mutable std::mutex mu_;
  std::vector<Entry> entries_;  // guarded by mu_; never shrinks, so indexes stay valid
  bool ignore_cancel_ = false;  // guarded by mu_
};

}  // namespace sw::test
