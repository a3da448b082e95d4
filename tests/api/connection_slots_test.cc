// ConnectionSlots: the cap, eviction of the oldest idle connection, and the cap derived
// from the descriptor limit.

#include "api/connection_slots.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace sw {
namespace {

TEST(ConnectionSlotsTest, SlotsAreTakenUpToTheCapAndFreedByRelease) {
  ConnectionSlots slots(2);
  int freed = 0;
  slots.SetOnFree([&freed] { ++freed; });
  EXPECT_TRUE(slots.TryAcquire());
  EXPECT_TRUE(slots.TryAcquire());
  slots.Release();
  EXPECT_EQ(freed, 0);  // nobody waited
  EXPECT_TRUE(slots.TryAcquire());
  EXPECT_FALSE(slots.TryAcquire());
  EXPECT_EQ(slots.open(), 2u);
  slots.Release();
  EXPECT_EQ(freed, 1);  // the failed TryAcquire waits for this one
  slots.Release();
  EXPECT_EQ(freed, 1);
  EXPECT_TRUE(slots.TryAcquire());
}

TEST(ConnectionSlotsTest, TheOldestIdleConnectionIsEvictedFirstAndOnce) {
  ConnectionSlots slots(8);
  std::vector<int> evicted;
  ConnectionSlots::IdleTicket first = slots.MarkIdle([&] { evicted.push_back(1); });
  slots.MarkIdle([&] { evicted.push_back(2); });
  slots.MarkIdle([&] { evicted.push_back(3); });
  EXPECT_EQ(slots.EvictOldest(1), 1u);
  EXPECT_EQ(evicted, std::vector<int>{1});
  slots.MarkBusy(first);  // already evicted: ignored
  EXPECT_EQ(slots.EvictOldest(5), 2u);
  EXPECT_EQ(evicted, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(slots.EvictOldest(1), 0u);
}

TEST(ConnectionSlotsTest, BusyConnectionsAreNotEvicted) {
  ConnectionSlots slots(8);
  std::vector<int> evicted;
  ConnectionSlots::IdleTicket busy = slots.MarkIdle([&] { evicted.push_back(1); });
  slots.MarkIdle([&] { evicted.push_back(2); });
  slots.MarkBusy(busy);
  EXPECT_EQ(slots.idle(), 1u);
  EXPECT_EQ(slots.EvictOldest(2), 1u);
  EXPECT_EQ(evicted, std::vector<int>{2});
}

TEST(ConnectionSlotsTest, CapLeavesTheOpenDescriptorsAndAReserveFree) {
  // A quarter of the limit is reserved, at least 64 and at most 1024.
  EXPECT_EQ(MaxConnectionsFor(1024, 100), 1024u - 256 - 100);
  EXPECT_EQ(MaxConnectionsFor(256, 30), 256u - 64 - 30);
  EXPECT_EQ(MaxConnectionsFor(16384, 200), 16384u - 1024 - 200);
  EXPECT_EQ(MaxConnectionsFor(1 << 20, 200), kMaxConnections);
  EXPECT_EQ(MaxConnectionsFor(UINT64_MAX, 50), kMaxConnections);
}

TEST(ConnectionSlotsTest, TinyLimitStillAllowsTheMinimum) {
  EXPECT_EQ(MaxConnectionsFor(64, 40), kMinConnections);
  EXPECT_EQ(MaxConnectionsFor(0, 0), kMinConnections);
}

}  // namespace
}  // namespace sw
