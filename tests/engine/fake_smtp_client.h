// FakeSmtpClient: an SmtpClient for outbox tests. Every email is recorded and stays in
// flight until the test completes it with Complete(), so a test decides when (and how)
// a send ends.
//
// Thread-safe. `done` runs on the thread that completes the email, never under the
// fake's lock, and at most once.
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "engine/smtp_client.h"

namespace sw::test {

class FakeSmtpClient final : public SmtpClient {
 public:
  struct Email {
    std::string from;
    std::string to;
    std::string message;
    bool completed = false;
  };

  void Send(std::string from, std::string to, std::string message,
            std::function<void(Status)> done) override {
    std::lock_guard lock(mu_);
    entries_.push_back(
        {Email{std::move(from), std::move(to), std::move(message)}, std::move(done)});
  }

  bool Complete(size_t index, Status outcome) {
    std::function<void(Status)> done;
    {
      std::lock_guard lock(mu_);
      if (index >= entries_.size() || entries_[index].email.completed) {
        return false;
      }
      entries_[index].email.completed = true;
      done = std::move(entries_[index].done);
    }
    done(std::move(outcome));
    return true;
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return entries_.size();
  }

  Email email(size_t index) const {
    std::lock_guard lock(mu_);
    return entries_.at(index).email;
  }

 private:
  struct Entry {
    Email email;
    std::function<void(Status)> done;
  };
  mutable std::mutex mu_;
  std::vector<Entry> entries_;  // guarded by mu_; never shrinks
};

}  // namespace sw::test
