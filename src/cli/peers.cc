#include "cli/peers.h"

#include <cstdlib>
#include <string>
#include <vector>

namespace sw {

// What the other instances say: a cancel committed there stops the work in flight here
// in one signal; any other change of a run is looked at here (OnChangedElsewhere re-reads
// it); holds, billing, connections and the fake clock follow theirs.
void ListenToPeers(PgNotifier& peers, Engine& engine, FakeClockControl* fake_clock) {
  peers.SetRemoteListener(
      [&engine, fake_clock](Notifier::Topic topic, const std::vector<std::string>& keys) {
        switch (topic) {
          case Notifier::Topic::kRunChanged:
            engine.OnChangedElsewhere(keys);
            break;
          case Notifier::Topic::kRunCancelled:
            for (const std::string& run_id : keys) {
              engine.StopWorkHere(run_id);
            }
            break;
          case Notifier::Topic::kWorkflowHold:
            engine.OnHoldsChangedElsewhere();
            break;
          case Notifier::Topic::kBillingChanged:
            for (const std::string& workspace_id : keys) {
              engine.OnBillingChangedElsewhere(workspace_id);
            }
            break;
          case Notifier::Topic::kConnectionChanged:
            for (const std::string& connection_id : keys) {
              engine.OnConnectionChangedElsewhere(connection_id);
            }
            break;
          case Notifier::Topic::kClockAdvanced:
            for (const std::string& ms : keys) {
              if (fake_clock != nullptr) {
                fake_clock->AdvancedElsewhere(std::strtoll(ms.c_str(), nullptr, 10));
              }
            }
            break;
          case Notifier::Topic::kTaskQueued:
            break;  // delivered to the local subscribers by the notifier itself
        }
      });
}

}  // namespace sw
