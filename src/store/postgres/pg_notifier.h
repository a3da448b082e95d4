// PgNotifier: the Notifier (store/notifier.h) of several instances on one PostgreSQL
// database. A signal published here reaches this process's subscribers at once, as
// LocalNotifier's do, and every other instance through NOTIFY on the channel
// `stepwell`; what other instances publish arrives through LISTEN and is published to
// this process's subscribers, then told to the remote listener (the engine: a control
// committed elsewhere reaches the work in flight here).
//
// Publish only queues a signal for the sender thread, which sends what has gathered
// in as few NOTIFYs as fit (a payload is at most ~7,900 bytes), so a commit never waits
// for the database twice. A lost connection is made again; signals lost meanwhile cost
// their subscribers nothing worse than their own timeouts and re-reads.
//
// Thread-safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/result.h"
#include "store/notifier.h"

namespace sw {
namespace postgres {
class PgConnection;
}  // namespace postgres

class PgNotifier final : public Notifier {
 public:
  using RemoteListener = std::function<void(Topic, const std::vector<std::string>& keys)>;

  // Connects to `url` as instance `instance_id` (its own signals are not heard back).
  static Result<std::unique_ptr<PgNotifier>> Start(const std::string& url,
                                                   const std::string& instance_id);
  ~PgNotifier() override;

  // Runs on the listener thread and must only hand off. Setting another (or none)
  // waits for a call of the one before to finish.
  void SetRemoteListener(RemoteListener listener) {
    std::lock_guard lock(remote_mu_);
    remote_ = std::move(listener);
  }

  using Notifier::Publish;
  uint64_t Subscribe(Topic topic, const std::string& key, Callback cb) override {
    return local_.Subscribe(topic, key, std::move(cb));
  }
  void Unsubscribe(uint64_t handle) override { local_.Unsubscribe(handle); }
  void Publish(Topic topic, const std::vector<std::string>& keys) override;

 private:
  PgNotifier(std::string url, std::string instance_id);
  // Sends on `db` (opened at Start, so the first signal does not wait for a new
  // connection), made again after it failed.
  void SendLoop(std::unique_ptr<postgres::PgConnection> db);
  void ListenLoop();

  const std::string url_;
  const std::string instance_id_;
  LocalNotifier local_;
  std::mutex remote_mu_;
  RemoteListener remote_;  // guarded by remote_mu_

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<Topic, std::string>> outgoing_;  // guarded by mu_
  bool stopping_ = false;                                // guarded by mu_
  std::thread sender_;
  std::thread listener_;
};

}  // namespace sw
