// ListenToPeers: what the other instances sharing a PostgreSQL store say, handed to this
// instance's engine and fake clock (several instances; serve.cc wires it).
#pragma once

#include "control/fake_clock.h"
#include "engine/engine.h"
#include "store/postgres/pg_notifier.h"

namespace sw {

// `fake_clock` may be null (no --fake-clock). Everything passed outlives the listener
// (serve.cc removes it before they go).
void ListenToPeers(PgNotifier& peers, Engine& engine, FakeClockControl* fake_clock);

}  // namespace sw
