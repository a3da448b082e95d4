// Starting a run: the create commit, and the pure first steps that ride in it. A run
// is planned before it exists in the store (ActiveRun::create holds its create) until
// its first commit, which is the create; a run whose steps are all pure is then one
// commit. The start answers the run as created (pending), as the contract has it.
// While the store's writer is busy only a few steps ride in the create
// (kMaxCarriedWhenBusy, engine_commit.cc): a longer run is created alone first.
#include "engine/active_run.h"
#include "engine/engine.h"

namespace sw {

void Engine::StartNew(RunRecord run, std::optional<IdempotencyKey> key, StartDone done) {
  if (key) {
    // A repeat answers the first run and must have planned (and counted) nothing: a run
    // with a key is created first, then driven.
    store_.CreateRunAsync(std::move(run), std::move(key),
                          [this, done = std::move(done)](Result<CreateRunResult> created) {
                            if (!created.ok() || created->replayed) {
                              done(std::move(created));
                              return;
                            }
                            RunRecord run = created->run;
                            done(std::move(created));  // answered first
                            DriveNew(run);
                          });
    return;
  }
  std::shared_ptr<ActiveRun> ar = Activate(run.id);
  if (ar == nullptr) {
    // Stopping: created as asked; a restart drives it.
    store_.CreateRunAsync(std::move(run), std::move(key), std::move(done));
    return;
  }
  ar->create = std::make_unique<ActiveRun::PendingCreate>(
      ActiveRun::PendingCreate{run, std::move(key), std::move(done)});
  // Planning that lets go of the run before any commit (stopping, an unreadable
  // definition, a held workflow) creates it pending first (Drop).
  Begin(ar, std::move(run));
}

void Engine::CommitCreate(const std::shared_ptr<ActiveRun>& ar,
                          std::shared_ptr<RunTransition> first, std::function<void()> then) {
  std::unique_ptr<ActiveRun::PendingCreate> create = std::move(ar->create);
  SW_CHECK(create != nullptr);
  // The run's version once committed: the answer is the run as created.
  const int64_t committed_version = first ? first->expected_version + 1 : create->run.version;
  AddPendingCallback();
  store_.CreateRunAsync(
      std::move(create->run), std::move(create->key), std::move(first),
      [this, ar, committed_version, done = std::move(create->done),
       then = std::move(then)](Result<CreateRunResult> created) mutable {
        PendingCallbackDone done_guard(*this);
        if (!created.ok() || created->replayed) {
          done(std::move(created));
          Drop(ar);  // not written; or a repeat, whose first run is driven already
          return;
        }
        // Answered first: the caller may send its answer before the run goes on.
        done(std::move(created));
        if (stopping_) {
          return;  // the run goes on after a restart
        }
        if (any_stalled_.load(std::memory_order_relaxed)) {
          DriveStalled();
        }
        ar->run.version = committed_version;
        then();
      });
}

}  // namespace sw
