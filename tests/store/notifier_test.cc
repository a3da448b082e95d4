// LocalNotifier: signals reach the subscribers of their topic and key only, until they
// unsubscribe.
#include "store/notifier.h"

#include <gtest/gtest.h>

namespace sw {
namespace {

using Topic = Notifier::Topic;

TEST(LocalNotifier, APublishReachesEverySubscriberOfItsTopicAndKey) {
  LocalNotifier n;
  int run_a = 0, run_a2 = 0, run_b = 0, task_a = 0;
  n.Subscribe(Topic::kRunChanged, "a", [&] { ++run_a; });
  n.Subscribe(Topic::kRunChanged, "a", [&] { ++run_a2; });
  n.Subscribe(Topic::kRunChanged, "b", [&] { ++run_b; });
  n.Subscribe(Topic::kTaskQueued, "a", [&] { ++task_a; });
  n.Publish(Topic::kRunChanged, std::vector<std::string>{"a", "c"});
  EXPECT_EQ(run_a, 1);
  EXPECT_EQ(run_a2, 1);
  EXPECT_EQ(run_b, 0);
  EXPECT_EQ(task_a, 0) << "another topic with the same key";
  n.Publish(Topic::kTaskQueued, "a");
  EXPECT_EQ(task_a, 1);
}

TEST(LocalNotifier, AnUnsubscribedCallbackIsNotCalledAgain) {
  LocalNotifier n;
  int calls = 0, other = 0;
  const uint64_t handle = n.Subscribe(Topic::kRunChanged, "a", [&] { ++calls; });
  n.Subscribe(Topic::kRunChanged, "a", [&] { ++other; });
  n.Publish(Topic::kRunChanged, "a");
  n.Unsubscribe(handle);
  n.Unsubscribe(handle);  // twice is harmless
  n.Publish(Topic::kRunChanged, "a");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(other, 2);
}

TEST(LocalNotifier, TaskQueueKeysSeparateWorkspaces) {
  EXPECT_NE(TaskQueueKey("ws_1", "reviews"), TaskQueueKey("ws_2", "reviews"));
  EXPECT_EQ(TaskQueueKey("ws_1", "reviews"), TaskQueueKey("ws_1", "reviews"));
}

}  // namespace
}  // namespace sw
