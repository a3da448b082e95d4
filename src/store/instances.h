// The instances of Stepwell serving one store: each registers itself and beats a
// heartbeat; one is live while its heartbeat is fresh. On the embedded store there is
// one instance, this process (LocalInstances); several instances share a PostgreSQL
// store (store/postgres/pg_instance.h).
//
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"

namespace sw {

struct InstanceRecord {
  std::string id;
  std::string address;  // where it listens (host:port)
  int64_t started_at = 0;
  int64_t heartbeat_at = 0;
};

class InstanceRegistry {
 public:
  virtual ~InstanceRegistry() = default;
  // This process's instance id.
  virtual std::string self() const = 0;
  // The live instances, oldest first.
  virtual Result<std::vector<InstanceRecord>> ListLive() = 0;
};

// One process on the embedded store: the only instance, always live (its heartbeat is
// now, on `now`).
class LocalInstances final : public InstanceRegistry {
 public:
  LocalInstances(std::string id, int64_t started_at, std::function<int64_t()> now)
      : self_{std::move(id), "", started_at, 0}, now_(std::move(now)) {}
  // Where it listens, once it does.
  void SetAddress(std::string address) {
    std::lock_guard lock(mu_);
    self_.address = std::move(address);
  }
  std::string self() const override { return self_.id; }
  Result<std::vector<InstanceRecord>> ListLive() override {
    std::lock_guard lock(mu_);
    InstanceRecord live = self_;
    live.heartbeat_at = now_();
    return std::vector<InstanceRecord>{live};
  }

 private:
  mutable std::mutex mu_;
  InstanceRecord self_;  // address guarded by mu_
  const std::function<int64_t()> now_;
};

}  // namespace sw
