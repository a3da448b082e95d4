#include "store/commit_queue.h"

#include <algorithm>
#include <iterator>

namespace sw::commit_queue {

Status ShuttingDown() { return Status(StatusCode::kUnavailable, "the store is shutting down"); }

Status StoppedWriting() {
  return Status(StatusCode::kUnavailable, "the store failed and stopped writing");
}

Status CommitFailed(const Status& commit) {
  return Status(StatusCode::kUnavailable, "commit failed: " + commit.message());
}

void CountBatch(Store::Stats& stats, size_t size) {
  stats.commits++;
  stats.writes += size;
  stats.batch_size_sum += size;
  stats.batch_size_max = std::max<uint64_t>(stats.batch_size_max, size);
  constexpr size_t kBounds[] = {1, 4, 16, 64, 256};
  size_t bucket = std::size(kBounds);
  for (size_t b = 0; b < std::size(kBounds); ++b) {
    if (size <= kBounds[b]) {
      bucket = b;
      break;
    }
  }
  stats.batch_buckets[bucket]++;
}

}  // namespace sw::commit_queue
